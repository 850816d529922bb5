"""Evaluate rules over the cues found in one listing's Doc: anchors, requirements, vetoes, negation."""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from spacy.attrs import IDX, LENGTH, LOWER, NORM
from spacy.tokens import Doc

from .rules import Condition, Rule

# Sentence-level boundaries (requirements) and chunk boundaries (vetoes: commas too).
# A period that closes a dotted initialism ("G.M.B.", "T.P.", "e.g.") does not end the clause.
_CLAUSE_BOUNDARY = re.compile(r"(?<!\b[^\W\d_]\.[^\W\d_])[.!?;…]+(?=\s|$)|\n|[•✔✓➤►▪|●○◦➜→✅☑]")
_CHUNK_BOUNDARY = re.compile(r",|\(|\)|\s[-–—]\s")
NEGATABLE = frozenset({"review", "review_soft", "offer_verb", "incentive", "removal", "stars_high", "star_run",
                       "review_count", "exchange", "stars_low", "complaint", "soft_count", "star_word",
                       "engagement_count"})
# Labels ListingCues gives cues found under other labels: a review noun before a modifier head
# ("review management") and a negated official process ("without Google's dispute process").
DERIVED_LABELS = {"review_modifier": ("review", "review_count"), "official_bypass": ("official_process",)}
NEGATION_WINDOW = 3
OFFICIAL_NEGATION_WINDOW = 5
_TOKEN_ATTRS = [IDX, LENGTH, LOWER, NORM]

# Plain words for the cues that support a flag, used in explanations.
SUPPORT_WORDS = {
    "platform": "names a review platform",
    "target": "points at the buyer's own listing or business",
    "fake_source": "comes from a pool of accounts or profiles",
    "fake_source_bare": "uses account pools or anti-detection delivery",
    "review_count": "sells a counted batch",
    "soft_count": "sells a counted batch",
    "stars_high": "promises top star ratings",
    "stars_low": "promises low star ratings",
    "positive": "promises positive content",
    "sale_unit": "is priced as a package",
    "negative": "targets negative reviews",
    "competitor": "targets a competitor",
    "incentive": "mentions a reward",
    "complaint": "targets complaints",
    "offer_verb": "offers to post or deliver",
    "review_for": "is sold for the buyer's business",
}


@dataclass(slots=True)
class Cue:
    label: str
    start: int
    end: int
    field: int
    clause_lo: int
    clause_hi: int
    chunk_lo: int
    chunk_hi: int
    negated: bool = False
    platform: str | None = None


@dataclass(slots=True)
class RuleHit:
    rule: Rule
    field: int
    start: int  # token offsets in the listing Doc
    end: int
    platform: str | None
    support: tuple[str, ...]


class ListingCues:
    """The cues of one listing's Doc, indexed by label, with field, clause and chunk positions."""

    def __init__(self, doc: Doc, field_starts: list[int], field_is_tag: list[bool], raw: list[tuple[str, int, int]],
                 words: "EngineWords", text: str):
        """`text` is doc.text, which the caller has at hand already."""
        self.field_starts = field_starts
        self.field_is_tag = field_is_tag
        self.clause_bounds = clause_bounds = [m.start() for m in _CLAUSE_BOUNDARY.finditer(text)]
        chunk = sorted(clause_bounds + [m.start() for m in _CHUNK_BOUNDARY.finditer(text)])
        self.chunk_bounds = chunk
        self.by_label: dict[str, list[Cue]] = {}
        self._memo: dict[tuple[str, ...], list[Cue]] = {}
        n = len(doc)
        # Plain per-token arrays (one C call) instead of a Token object per look-up.
        idx, length, lower, norm = doc.to_array(_TOKEN_ATTRS).T.tolist() if n else ([], [], [], [])
        self.idx, self.length, self.text = idx, length, text
        for label, s, e in raw:
            platform = None
            if label.startswith("platform:"):
                platform = label[9:]
                label = "platform"
            if label in ("review", "review_count") and e < n:
                nxt = lower[e]
                if nxt in words.modifier_heads:
                    label = "review_modifier"
                elif label == "review" and e - s == 1 and norm[e - 1] in words.review_nouns and nxt in words.verb_objects:
                    continue  # "review your logo": a verb, not a review on offer
            c0 = idx[s]
            c1 = idx[e - 1] + length[e - 1] - 1
            field = bisect_right(field_starts, c0) - 1
            clause_lo, clause_hi = bisect_right(clause_bounds, c0), bisect_right(clause_bounds, c1)
            if clause_lo != clause_hi and e - s > 1:
                continue  # a composite cue's wildcard ran over a sentence or field boundary
            cue = Cue(label, s, e, field, clause_lo, clause_hi,
                      bisect_right(chunk, c0), bisect_right(chunk, c1), False, platform)
            if label in NEGATABLE or label == "official_process":
                window = OFFICIAL_NEGATION_WINDOW if label == "official_process" else NEGATION_WINDOW
                for k in range(max(0, s - window), s):
                    if norm[k] in words.negation and bisect_right(clause_bounds, idx[k]) == clause_lo:
                        cue.negated = True
                        break
                if cue.negated and label == "official_process":
                    cue.label, cue.negated = "official_bypass", False
            self.by_label.setdefault(cue.label, []).append(cue)
        for cues in self.by_label.values():
            cues.sort(key=lambda c: (c.start, c.end))

    def span_chars(self, start: int, end: int) -> tuple[int, int]:
        """Character offsets of tokens start..end in the listing text."""
        return self.idx[start], self.idx[end - 1] + self.length[end - 1]

    def span_text(self, start: int, end: int) -> str:
        c0, c1 = self.span_chars(start, end)
        return self.text[c0:c1]

    def get(self, labels: tuple[str, ...]) -> list[Cue]:
        out = self._memo.get(labels)
        if out is None:  # the rules ask for the same label tuples again and again
            out = []
            for label in labels:
                out.extend(c for c in self.by_label.get(label, ()) if not c.negated)
            self._memo[labels] = out
        return out

    def evaluate(self, rules: list[Rule], diagnostics: list[str] | None = None) -> list[RuleHit]:
        return evaluate(self, rules, diagnostics)

    def labels_seen(self) -> set[str]:
        return {label for label, cs in self.by_label.items() if any(not c.negated for c in cs)}


@dataclass
class EngineWords:
    """Word sets the engine tests tokens against, as string hashes (compared with LOWER / NORM ids)."""
    modifier_heads: frozenset[int]
    verb_objects: frozenset[int]
    negation: frozenset[int]
    review_nouns: frozenset[int]


def _chains(cues: ListingCues, rule: Rule, steps) -> list[tuple[Cue, ...]]:
    chains: list[tuple[Cue, ...]] = []
    for first in cues.get(steps[0].cues):
        if rule.fields != "all" and cues.field_is_tag[first.field]:
            continue
        partial = [(first,)]
        for step in steps[1:]:
            grown = []
            for chain in partial:
                last = chain[-1]
                for c in cues.get(step.cues):
                    # a later cue may sit inside a composite one ("push negative feedback down")
                    if (c is not last and c.field == last.field and c.start >= last.start and c.end > last.start
                            and c.start - last.end <= step.gap
                            and (rule.cross_clause or (c.clause_lo == first.clause_lo and c.clause_hi == first.clause_lo))):
                        grown.append(chain + (c,))
            partial = grown
            if not partial:
                break
        if partial:
            chains.append(min(partial, key=lambda ch: ch[-1].end - ch[0].start))
    return chains


def _in_scope(c: Cue, scope: str, field: int, clo: int, chi: int, klo: int, khi: int) -> bool:
    if scope == "listing":
        return True
    if c.field != field:
        return False
    if scope == "field":
        return True
    if scope == "clause":
        return c.clause_hi >= clo and c.clause_lo <= chi
    return c.chunk_hi >= klo and c.chunk_lo <= khi


def _find(cues: ListingCues, cond: Condition, field, clo, chi, klo, khi, own=()) -> Cue | None:
    for c in cues.get(cond.cues):
        if _in_scope(c, cond.scope, field, clo, chi, klo, khi):
            # A veto word inside one of the match's own cues ("mass-report") is part of the offer.
            if own and any(c.field == o.field and o.start <= c.start and c.end <= o.end for o in own):
                continue
            return c
    return None


def evaluate(cues: ListingCues, rules: list[Rule], diagnostics: list[str] | None = None) -> list[RuleHit]:
    """All rule hits in a listing; near misses go to `diagnostics` when given."""
    hits: list[RuleHit] = []
    seen = cues.labels_seen()
    for rule in rules:
        taken: list[tuple[int, int]] = []
        candidates = []
        for steps in rule.patterns:
            # A pattern whose steps do not all have a cue in the listing has no chain: skip the search.
            for st in steps:
                if seen.isdisjoint(st.cues):
                    break
            else:
                candidates.extend(_chains(cues, rule, steps))
        if not candidates:
            continue
        candidates.sort(key=lambda ch: (ch[0].start, ch[-1].end - ch[0].start))
        for chain in candidates:
            start, end = chain[0].start, max(c.end for c in chain)
            if any(s < end and start < e for s, e in taken):
                continue
            field = chain[0].field
            clo, chi = min(c.clause_lo for c in chain), max(c.clause_hi for c in chain)
            klo, khi = min(c.chunk_lo for c in chain), max(c.chunk_hi for c in chain)
            support: list[Cue] = []
            missing = None
            for cond in rule.requires:
                found = _find(cues, cond, field, clo, chi, klo, khi)
                if found is None:
                    missing = cond
                    break
                support.append(found)
            if missing is not None:
                if diagnostics is not None:
                    diagnostics.append(f"{rule.id}: saw “{cues.span_text(start, end)}” but no {'/'.join(missing.cues)} "
                                       f"in the same {missing.scope}")
                continue
            veto = None
            for cond in rule.unless:
                veto = _find(cues, cond, field, clo, chi, klo, khi, own=chain)
                if veto is not None:
                    break
            if veto is not None:
                if diagnostics is not None:
                    diagnostics.append(f"{rule.id}: saw “{cues.span_text(start, end)}” but it reads as {veto.label} "
                                       f"(“{cues.span_text(veto.start, veto.end)}”)")
                continue
            # Widen the evidence to a nearby supporting cue in the same clause and field.
            for c in support:
                if c.field == field and c.clause_lo >= clo and c.clause_hi <= chi and (
                        0 <= c.start - end <= 6 or 0 <= start - c.end <= 6):
                    start, end = min(start, c.start), max(end, c.end)
            taken.append((start, end))
            platform = _platform_for(cues, field, clo, chi, start)
            labels = tuple(dict.fromkeys(c.label for c in list(chain) + support))
            hits.append(RuleHit(rule, field, start, end, platform, labels))
    return hits


def _platform_for(cues: ListingCues, field: int, clo: int, chi: int, start: int) -> str | None:
    plats = cues.get(("platform",))
    if not plats:
        return None
    near = [c for c in plats if c.field == field and c.clause_hi >= clo and c.clause_lo <= chi]
    if near:
        return min(near, key=lambda c: abs(c.start - start)).platform
    same = [c for c in plats if c.field == field]
    if same:
        return min(same, key=lambda c: abs(c.start - start)).platform
    text = [c for c in plats if not cues.field_is_tag[c.field]]
    return (text or plats)[0].platform
