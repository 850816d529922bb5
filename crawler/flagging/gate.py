"""A cheap, exact pre-check: can any rule fire on this listing at all, judging by the words it contains?

Every cue needs certain words (a lexicon entry, or the required tokens of a composite pattern), and
every rule needs a cue for each step of one of its patterns plus one for each requirement. From the
listing's set of NORM ids we can tell when no rule can possibly fire; the cue matchers and the engine
are then skipped. The gate only ever says "no" when the full evaluation would find no flag. When it
says "maybe", it also names the rules whose steps can all occur: only those are evaluated, and only
their cues are looked for (a rule with a step missing finds no chain, so no flag and no near miss).
"""
from __future__ import annotations

from .engine import DERIVED_LABELS
from .rules import CompiledLexicons, Rule, cue_label

_OPTIONAL = {"?", "*"}


class RuleGate:
    def __init__(self, rules: list[Rule], lexicons: CompiledLexicons, patterns: dict[str, list[list[dict]]],
                 flag_values: dict[str, frozenset], strings, special_norms: dict[str, set[str]]):
        """`patterns`: the composite cue patterns as compiled for the Matcher (lexicon tests as FLAG ids);
        `flag_values`: FLAG id -> the canonical words that set it; `special_norms`: canonical word -> other
        NORMs a token carrying it can have (tokenizer exceptions set their own NORM)."""
        h = strings.add
        self.always: set[str] = set()
        self.singles: dict[str, frozenset[int]] = {}
        self.alternatives: dict[str, list[tuple[frozenset[int], ...]]] = {}  # label -> [all of (any of ids)]

        def ids(words) -> frozenset[int]:
            out = set()
            for w in words:
                out.add(h(w))
                out.update(h(x) for x in special_norms.get(w, ()))
            return frozenset(out)

        for name, words in lexicons.singles.items():
            label = cue_label(name)
            self.singles[label] = self.singles.get(label, frozenset()) | ids(words)
        for name, phrases in lexicons.multis.items():
            label = cue_label(name)
            for phrase in phrases:
                self.alternatives.setdefault(label, []).append(tuple(ids((w,)) for w in phrase))
        for name, pats in patterns.items():
            label = cue_label(name)
            for pat in pats:
                need = []
                for tok in pat:
                    op = tok.get("OP")
                    if op in _OPTIONAL or (op and op.startswith("{0")):
                        continue
                    for key, value in tok.items():
                        if key in flag_values and value is True:  # NORM-set flags; LOWER/SHAPE ones constrain nothing here
                            need.append(ids(flag_values[key]))
                        elif key == "NORM" and isinstance(value, str):
                            need.append(ids((value,)))
                if need:
                    self.alternatives.setdefault(label, []).append(tuple(need))
                else:
                    self.always.add(label)
        self.vocab_ids = frozenset().union(*self.singles.values(), *(
            t for alts in self.alternatives.values() for alt in alts for t in alt))
        # Labels become bits of one int, so a listing's evidence is a few integer operations per rule.
        names = set(self.singles) | set(self.alternatives) | self.always | set(DERIVED_LABELS)
        names |= {c for r in rules for c in r.cue_labels}
        bit = {name: 1 << i for i, name in enumerate(sorted(names))}
        mask = lambda labels: sum(bit[x] for x in set(labels))  # noqa: E731
        self.word_bits: dict[int, int] = {}
        for label, words in self.singles.items():
            if label not in DERIVED_LABELS:
                for i in words:
                    self.word_bits[i] = self.word_bits.get(i, 0) | bit[label]
        # Alternatives indexed by the ids of their most selective test (presence does not depend on order):
        # only those whose rarest word occurs are tried ("TP" in "reviews on TP", not every review word).
        grouped: dict[int, dict[int, set[tuple[frozenset[int], ...]]]] = {}  # id -> label bit -> rests
        for label, alts in self.alternatives.items():
            if label in DERIVED_LABELS:
                continue
            for alt in alts:
                k = min(range(len(alt)), key=lambda j: len(alt[j]))
                rest = alt[:k] + alt[k + 1:]
                for i in alt[k]:
                    grouped.setdefault(i, {}).setdefault(bit[label], set()).add(rest)
        # An empty rest (the word alone is the alternative) first: it settles the label at once.
        self.by_first: dict[int, list[tuple[int, list[tuple[frozenset[int], ...]]]]] = {
            i: [(b, sorted(rests, key=len)) for b, rests in by_bit.items()] for i, by_bit in grouped.items()}
        self.always_bits = mask(self.always - set(DERIVED_LABELS))
        self.first_bits = {i: sum(b for b, _ in groups) for i, groups in self.by_first.items()}
        self.derived = [(bit[name], mask(sources)) for name, sources in DERIVED_LABELS.items()]
        # One conjunction per (rule, pattern): a cue for every step and every requirement.
        self.combos = [tuple(mask(st.cues) for st in steps) + tuple(mask(c.cues) for c in r.requires)
                       for r in rules for steps in r.patterns]
        # Per rule, its patterns' steps alone: a rule whose steps can all occur may find a chain (and so a
        # near miss worth explaining) even when a requirement is missing.
        self.rule_steps = [(1 << k, [tuple(mask(st.cues) for st in steps) for steps in r.patterns])
                           for k, r in enumerate(rules)]

    def _derive(self, present: int) -> int:
        for b, sources in self.derived:
            if present & sources:
                present |= b
        return present

    def _satisfied(self, present: int) -> bool:
        """Some rule has a cue for every step and requirement (`present` with derived labels set)."""
        for combo in self.combos:
            for m in combo:
                if not present & m:
                    break
            else:
                return True
        return False

    def rules_that_may_fire(self, norm_ids: set[int]) -> int:
        """0 when no rule can fire; else a bitmask (bit k: rule k) of the rules whose steps can all occur."""
        present = self._present_labels(norm_ids)
        if present is None:
            return 0
        out = 0
        for bit, patterns in self.rule_steps:
            for steps in patterns:
                for m in steps:
                    if not present & m:
                        break
                else:
                    out |= bit
                    break
        return out

    def _present_labels(self, norm_ids: set[int]) -> int | None:
        """The labels whose words occur (as bits, derived ones set), or None when they cannot make any rule fire."""
        ids = norm_ids & self.vocab_ids
        present, maybe = self.always_bits, 0
        word_bits, first_bits = self.word_bits, self.first_bits
        for i in ids:
            present |= word_bits.get(i, 0)
            maybe |= first_bits.get(i, 0)
        if not self._satisfied(self._derive(present | maybe)):
            return None  # not even if every multi-word alternative begun here were complete
        for i in ids:
            for b, rests in self.by_first.get(i, ()):
                if b & maybe and not b & present:
                    for rest in rests:
                        for t in rest:
                            if ids.isdisjoint(t):
                                break
                        else:
                            present |= b
                            break
        present = self._derive(present)
        return present if self._satisfied(present) else None
