"""Load the rule data (rules/*.yaml) and compile its lexicons into spaCy Matcher token patterns."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any, Callable

import yaml

CATEGORIES = ("review_fabrication", "incentivized_reviews", "review_suppression", "fake_engagement")
REVIEW_CATEGORIES = frozenset(CATEGORIES[:3])
RULE_FILES = ("review_fabrication.yaml", "incentivized_reviews.yaml", "review_suppression.yaml",
              "fake_engagement.yaml")
SCOPES = ("chunk", "clause", "field", "listing")
# Prepositions after which a weak platform alias counts when a review word precedes them ("feedback on TP").
WEAK_ALIAS_ON = ("on", "onto", "at", "en", "auf", "bei", "sur", "no", "na", "em", "su", "sul", "op")


class RuleError(ValueError):
    """A rule file is malformed."""


def cue_label(name: str) -> str:
    """The label rules use for a cue: "platform" for every "platform:<id>", else the name itself."""
    return "platform" if name.startswith("platform:") else name


@dataclass(frozen=True)
class Step:
    cues: tuple[str, ...]
    gap: int  # max tokens allowed between the previous step and this one


@dataclass(frozen=True)
class Condition:
    cues: tuple[str, ...]
    scope: str


@dataclass(frozen=True)
class Rule:
    id: str
    version: int
    title: str
    category: str
    severity: float
    legal: tuple[str, ...]
    explanation: str
    patterns: tuple[tuple[Step, ...], ...]
    requires: tuple[Condition, ...]
    unless: tuple[Condition, ...]
    examples: dict[str, list[Any]] = field(default_factory=dict, hash=False, compare=False)
    cross_clause: bool = False
    fields: str = "text"  # "text": every field but tags; "all": tags too

    @property
    def cue_labels(self) -> frozenset[str]:
        """Every cue label its evaluation can ask for: steps, requirements, vetoes."""
        return frozenset({c for steps in self.patterns for st in steps for c in st.cues}
                         | {c for cond in self.requires + self.unless for c in cond.cues})
    source: str = ""

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"


@dataclass
class RuleData:
    lexicons: dict[str, dict[str, list[str]]]  # name -> lang -> entries
    lexicon_attrs: dict[str, str]  # name -> token attribute matched: NORM (canonical) or LOWER (as written)
    cue_patterns: dict[str, list[list[dict]]]  # composite cue name -> raw token patterns
    platforms: dict[str, dict[str, Any]]  # id -> {name, aliases, weak}
    review_modifier_heads: list[str]
    compound_heads: list[str]
    verb_objects: list[str]
    rules: list[Rule]
    versions: dict[str, int]


def _rules_dir():
    try:
        return files("rules")
    except (NotADirectoryError, TypeError):
        # A stale editable install can expose `rules` as a namespace with a non-directory path entry.
        import os

        import rules

        for entry in getattr(rules, "__path__", ()):
            if os.path.isdir(entry):
                from pathlib import Path
                return Path(entry)
        raise


def _read_yaml(name: str) -> dict:
    try:
        text = _rules_dir().joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RuleError(f"rule file rules/{name} is missing") from exc
    # libyaml's parser when PyYAML has it: a tenth of the pure-Python one's time, on every start-up.
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict):
        raise RuleError(f"rules/{name}: expected a mapping at top level")
    return data


def _parse_steps(raw: Any, where: str) -> tuple[Step, ...]:
    if not isinstance(raw, list) or not raw:
        raise RuleError(f"{where}: a pattern is a non-empty list of steps")
    steps: list[Step] = []
    gap = 0
    for item in raw:
        if not isinstance(item, dict):
            raise RuleError(f"{where}: step {item!r} is not a mapping")
        if "gap" in item:
            gap = int(item["gap"])
            continue
        cues = item.get("cue")
        cues = (cues,) if isinstance(cues, str) else tuple(cues or ())
        if not cues:
            raise RuleError(f"{where}: step {item!r} names no cue")
        steps.append(Step(cues, gap if steps else 0))
        gap = 0
    return tuple(steps)


def _parse_conditions(raw: Any, where: str) -> tuple[Condition, ...]:
    out = []
    for item in raw or ():
        cues = item.get("cue")
        cues = (cues,) if isinstance(cues, str) else tuple(cues or ())
        scope = item.get("scope", "clause")
        if scope not in SCOPES or not cues:
            raise RuleError(f"{where}: bad condition {item!r}")
        out.append(Condition(cues, scope))
    return tuple(out)


def _parse_rules(name: str, data: dict) -> list[Rule]:
    category = data.get("category")
    if category not in CATEGORIES:
        raise RuleError(f"rules/{name}: unknown category {category!r}")
    legal = tuple(data.get("legal") or ())
    rules = []
    for raw in data.get("rules") or ():
        where = f"rules/{name}:{raw.get('id', '?')}"
        for key in ("id", "version", "title", "patterns", "explanation"):
            if key not in raw:
                raise RuleError(f"{where}: missing {key!r}")
        if raw.get("category", category) != category:
            raise RuleError(f"{where}: category differs from the file's")
        rules.append(Rule(
            id=str(raw["id"]), version=int(raw["version"]), title=str(raw["title"]), category=category,
            severity=float(raw.get("severity", raw.get("weight", 0.8))),
            legal=tuple(raw.get("legal") or legal), explanation=str(raw["explanation"]).strip(),
            patterns=tuple(_parse_steps(p, where) for p in raw["patterns"]),
            requires=_parse_conditions(raw.get("requires"), where),
            unless=_parse_conditions(raw.get("unless"), where),
            examples={"match": list((raw.get("examples") or {}).get("match") or ()),
                      "no_match": list((raw.get("examples") or {}).get("no_match") or ())},
            cross_clause=bool(raw.get("cross_clause", False)), fields=str(raw.get("fields", "text")),
            source=name,
        ))
    return rules


@lru_cache(maxsize=1)
def load_rule_data() -> RuleData:
    lex = _read_yaml("lexicons.yaml")
    plat = _read_yaml("platforms.yaml")
    rules: list[Rule] = []
    versions = {"lexicons": int(lex.get("version", 0)), "platforms": int(plat.get("version", 0))}
    for name in RULE_FILES:
        rules.extend(_parse_rules(name, _read_yaml(name)))
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise RuleError(f"duplicate rule id {r.id}")
        seen.add(r.id)
    lexicons, lexicon_attrs = {}, {}
    for name, body in (lex.get("lexicons") or {}).items():
        for lang, entries in body.items():
            for e in entries if lang not in ("about", "attr") else ():
                if not isinstance(e, str):  # YAML reads bare no/on/off as booleans
                    raise RuleError(f"rules/lexicons.yaml: {name}.{lang} entry {e!r} must be a quoted string")
        lexicons[name] = {k: [str(e) for e in v] for k, v in body.items() if k not in ("about", "attr")}
        lexicon_attrs[name] = str(body.get("attr", "NORM"))
    platforms = {}
    for pid, body in (plat.get("platforms") or {}).items():
        platforms[pid] = {"name": body.get("name", pid), "aliases": [str(a) for a in body.get("aliases", [])],
                          "weak": [str(a) for a in body.get("weak", [])]}
    return RuleData(lexicons=lexicons, lexicon_attrs=lexicon_attrs, cue_patterns=lex.get("cues") or {}, platforms=platforms,
                    review_modifier_heads=[str(w) for w in lex.get("review_modifier_heads", [])],
                    compound_heads=[str(w) for w in lex.get("compound_heads", [])],
                    verb_objects=[str(w) for w in lex.get("verb_objects", [])],
                    rules=rules, versions=versions)


class CompiledLexicons:
    """Lexicon entries as canonical token tuples, and the Matcher patterns built from them."""

    def __init__(self, data: RuleData, tokenize: Callable[[str], list[str]], canon: Callable[[str], str]):
        self.data = data
        self._tokenize = tokenize
        self._canon = canon
        self.singles: dict[str, set[str]] = {}
        self.multis: dict[str, set[tuple[str, ...]]] = {}
        self.by_lang: dict[str, set[str]] = {}
        self.literal: dict[str, set[tuple[str, ...]]] = {}  # lexicons matched on LOWER, as written
        for name, langs in data.lexicons.items():
            literal = data.lexicon_attrs.get(name) == "LOWER"
            for lang, entries in langs.items():
                for entry in entries:
                    if literal:
                        self.literal.setdefault(name, set()).add(tuple(t.lower() for t in self._tokenize(entry)))
                        continue
                    toks = self.phrase(entry)
                    self._add(name, toks)
                    if len(toks) == 1:
                        self.by_lang.setdefault(lang, set()).add(entry.lower())
        for pid, body in data.platforms.items():
            for alias in body["aliases"]:
                self._add(f"platform:{pid}", self.phrase(alias))
        self.weak_platforms = {pid: [self.phrase(a) for a in body["weak"]] for pid, body in data.platforms.items()}
        self.all_platform_singles = set().union(*(v for k, v in self.singles.items() if k.startswith("platform:")))

    def phrase(self, text: str) -> tuple[str, ...]:
        return tuple(self._canon(t) for t in self._tokenize(text))

    def _add(self, name: str, toks: tuple[str, ...]) -> None:
        if not toks:
            return
        if len(toks) == 1:
            self.singles.setdefault(name, set()).add(toks[0])
        else:
            self.multis.setdefault(name, set()).add(toks)

    def words(self, names: tuple[str, ...] | None = None) -> set[str]:
        """Every canonical word in the named lexicons (all of them when None), platforms included."""
        out: set[str] = set()
        for name, ws in self.singles.items():
            if names is None or name in names or (name.startswith("platform:") and "platform" in names):
                out |= ws
        for name, phrases in self.multis.items():
            if names is None or name in names or (name.startswith("platform:") and "platform" in names):
                for p in phrases:
                    out.update(p)
        return out

    def _expand(self, token: dict, flag_for: Callable[[str, frozenset], str]) -> dict:
        # Set tests become lexeme flags so the Matcher checks them in C, not in Python per token.
        token = dict(token)
        lex = token.pop("LEX", None)
        if lex is not None:
            if lex == "platform":
                values = self.all_platform_singles
            elif lex in self.singles:
                values = self.singles[lex]
            else:
                raise RuleError(f"cue pattern refers to unknown lexicon {lex!r}")
            token[flag_for("NORM", frozenset(values))] = True
        for attr in ("NORM", "LOWER", "SHAPE"):
            value = token.get(attr)
            if isinstance(value, str) and attr == "NORM":
                token[attr] = self._canon(value)
            elif isinstance(value, dict):
                del token[attr]
                for op, vals in value.items():
                    vals = frozenset(self._canon(v) if attr == "NORM" else v for v in vals)
                    token[flag_for(attr, vals)] = op == "IN"
        return token

    def phrases(self, keep: set[str]) -> tuple[dict[str, list[tuple[str, ...]]], dict[str, list[tuple[str, ...]]]]:
        """Entries of the lexicons in `keep` (and all platforms) as token tuples: (for NORM, for LOWER)."""
        wanted = lambda name: name in keep or name.startswith("platform:")  # noqa: E731
        norm: dict[str, list[tuple[str, ...]]] = {}
        for name, ws in self.singles.items():
            if wanted(name):
                norm.setdefault(name, []).extend((w,) for w in sorted(ws))
        for name, phrases in self.multis.items():
            if wanted(name):
                norm.setdefault(name, []).extend(sorted(phrases))
        lower = {name: sorted(phrases) for name, phrases in self.literal.items() if wanted(name)}
        return norm, lower

    def matcher_patterns(self, flag_for: Callable[[str, frozenset], str]) -> dict[str, list[list[dict]]]:
        """Cue name -> spaCy Matcher token patterns for weak platform aliases and composite cues."""
        out: dict[str, list[list[dict]]] = {}
        review_words = self.singles.get("review", set()) | self.singles.get("review_soft", set())
        # A weak alias is a platform before a review word ("TP revs", "G reviews"), before a star or score
        # word ("G stars", "TP score"), or after a review word and "on" ("customer experiences on TP").
        # Star, score and "on" words are plain NORM tests: lexeme flags are few.
        review_flag = flag_for("NORM", frozenset(review_words))
        after = sorted(self.singles.get("star_word", set()) | {self._canon("score")})
        on = sorted({self._canon(w) for w in WEAK_ALIAS_ON})
        for pid, phrases in self.weak_platforms.items():
            for p in phrases:
                alias = [{"NORM": t} for t in p]
                pats = out.setdefault(f"platform:{pid}", [])
                pats.append(alias + [{review_flag: True}])
                pats.append(alias + [{"ORTH": "-"}, {review_flag: True}])  # "G-reviews", "TP-reviews"
                pats.extend(alias + [{"NORM": w}] for w in after)
                pats.extend([{review_flag: True}, {"NORM": w}] + alias for w in on)
        for name, patterns in self.data.cue_patterns.items():
            for pattern in patterns:
                out.setdefault(name, []).append([self._expand(t, flag_for) for t in pattern])
        return out
