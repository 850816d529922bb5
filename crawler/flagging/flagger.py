"""The Flagger: judge listings (title, description, tags, packages, FAQ) and return flags with evidence."""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, NamedTuple

from spacy.attrs import LOWER, NORM

from .compiled import part
from .engine import DERIVED_LABELS, SUPPORT_WORDS, EngineWords, ListingCues
from .gate import RuleGate
from .language import LanguageGuesser
from .pipeline import Pipeline, get_pipeline
from .rules import REVIEW_CATEGORIES, Rule
from .score import flag_score, listing_score, sells_reviews

FIELD_SEPARATOR = "\n\n"  # a clause boundary the tokenizer keeps as whitespace
# Real listings are a few thousand characters at most; a hostile multi-megabyte field must
# not stall a crawl. Only the head is read, so offsets still point into the original text.
MAX_FIELD_CHARS = 20_000
MAX_FIELDS = 200
# And the whole listing: 200 fields of 20,000 characters made a text spaCy refuses (nlp.max_length is
# 1,000,000) and the judging of one listing took hundreds of MB. Ten full fields are plenty to read.
MAX_LISTING_CHARS = 200_000
_DOC_ATTRS = [LOWER, NORM]
_GATED = "no rule anchor; no rule's cue words occur together in the listing"
_GATED_DIAGNOSTICS = (_GATED,)
_NONE: frozenset[str] = frozenset()
# Cues a listing that is not flagged is explained by ("cues seen: ..."), computed whatever rules may fire.
EVIDENCE_LABELS = frozenset({"review", "review_soft", "platform", "offer_verb", "incentive", "removal", "stars_high",
                             "star_run", "exchange", "fake_source", "fake_source_bare", "review_count",
                             "engagement_count"})


class Flag(NamedTuple):
    """One matched span. Immutable evidence; a named tuple because a listing can carry many and a frozen
    dataclass costs ten times as much to create."""
    rule_id: str
    rule_version: int
    category: str
    field: str
    start: int
    end: int
    text: str
    score: float
    legal: tuple[str, ...]
    platform: str | None
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        d = self._asdict()
        d["legal"] = list(self.legal)
        return d


@dataclass(slots=True)
class Judgement:
    """What the flagger found in one listing. Its collections are immutable, like the Flags: evidence is not
    edited after the fact, and a listing with no flags shares the empty ones (a batch of judgements then
    gives Python's cycle collector little to track: it had cost about 3% of judge_many)."""
    sells_reviews: bool
    score: float
    language: str
    flags: tuple[Flag, ...]
    categories: frozenset[str]
    platforms: frozenset[str]
    diagnostics: tuple[str, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"sells_reviews": self.sells_reviews, "score": self.score, "language": self.language,
                "categories": sorted(self.categories), "platforms": sorted(self.platforms),
                "flags": [f.to_dict() for f in self.flags]}


def listing_fields(listing: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(path, text) for every non-empty text field of a listing, in reading order: the head of each field, and
    of the listing (MAX_FIELD_CHARS, MAX_FIELDS, MAX_LISTING_CHARS of the fields joined)."""
    out: list[tuple[str, str]] = []
    used = 0  # characters of the joined text so far, each field's separator included

    def add(path: str, value: Any) -> None:
        nonlocal used
        if value is None:
            return
        room = min(MAX_FIELD_CHARS, max(0, MAX_LISTING_CHARS - used))
        text = (value if value.__class__ is str else str(value))[:room]
        if text and not text.isspace() and len(out) < MAX_FIELDS:
            out.append((path, text))
            used += len(text) + len(FIELD_SEPARATOR)

    add("title", listing.get("title"))
    add("description", listing.get("description"))
    for i, pkg in enumerate(listing.get("packages") or ()):
        if _is_mapping(pkg):
            add(f"packages[{i}].title", pkg.get("title"))
            add(f"packages[{i}].description", pkg.get("description"))
        else:
            add(f"packages[{i}]", pkg)
    for i, qa in enumerate(listing.get("faq") or ()):
        if _is_mapping(qa):
            add(f"faq[{i}].question", qa.get("question"))
            add(f"faq[{i}].answer", qa.get("answer"))
        else:
            add(f"faq[{i}]", qa)
    tags = listing.get("tags") or ()
    if isinstance(tags, str):
        tags = [tags]
    for i, tag in enumerate(tags):
        add(f"tags[{i}]", tag)
    return out


def _is_mapping(value: Any) -> bool:
    return value.__class__ is dict or isinstance(value, Mapping)  # the ABC check only for what is not a dict


def prepare(listing: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[int], str, int]:
    """The listing's fields, where each starts in the joined text, the joined text, and how many fields come
    before the tags (listing_fields puts them last)."""
    return join_fields(listing_fields(listing))


def join_fields(fields: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[int], str, int]:
    """prepare's result from listing_fields' (the compiled prepare also ends here for unusual texts)."""
    starts, pos = [], 0
    for _, text in fields:
        starts.append(pos)
        pos += len(text) + len(FIELD_SEPARATOR)
    n_text = len(fields)
    while n_text and fields[n_text - 1][0].startswith("tags["):
        n_text -= 1
    return fields, starts, FIELD_SEPARATOR.join(t for _, t in fields), n_text


class Flagger:
    """Judges listings with the rules in rules/*.yaml. Cheap to create: the spaCy pipeline is shared."""

    def __init__(self, pipeline: Pipeline | None = None, rules: list[Rule] | None = None):
        self.pipeline = pipeline or get_pipeline()
        self.rules: list[Rule] = list(rules if rules is not None else self.pipeline.data.rules)
        lex = self.pipeline.lexicons
        strings = self.pipeline.nlp.vocab.strings
        ids = lambda words: frozenset(strings.add(w) for w in words)  # noqa: E731
        self._words = EngineWords(
            modifier_heads=ids(w.lower() for w in self.pipeline.data.review_modifier_heads),
            verb_objects=ids(w.lower() for w in self.pipeline.data.verb_objects),
            negation=ids(lex.singles.get("negation", ())),
            review_nouns=ids(("review", "reviews")),
        )
        self._languages = LanguageGuesser(lexicon_words=lex.by_lang)
        self._language = self._languages.keyed(strings.add)  # guesses from the doc's LOWER ids
        self._platform_names = {pid: body["name"] for pid, body in self.pipeline.data.platforms.items()}
        p = self.pipeline
        self._gate = RuleGate(self.rules, p.lexicons, p.patterns, p.flag_values, strings, p.special_norms)
        self._read = self._read_arrays
        self._listing_cues = lambda doc, starts, is_tag, raw, text: ListingCues(
            doc, starts, is_tag, raw, self._words, text)
        if p.compiled:  # the same judgements, read from spaCy's token structs (see compiled.py)
            scan, engine = part("_scan"), part("_evaluate")
            language, gate = scan.CompiledLanguage(self._languages, strings), scan.CompiledGate(self._gate)
            self._read = scan.CompiledReader(language, gate).read  # both in one pass over the tokens
            self._listing_cues = engine.CompiledEngine(self.rules, self._words).cues
        self._rule_labels = [self._labels_of(r) for r in self.rules]
        self._plans: dict[int, tuple[list[Rule], frozenset[str]]] = {}
        self._terms: dict[tuple, tuple[Rule, tuple[float, str, str]]] = {}
        self._prepare = part("_listing").prepare if p.compiled else prepare  # the same, without Python's calls
        self._found = p.cues.found

    def _labels_of(self, rule: Rule) -> frozenset[str]:
        """Every cue label the rule's evaluation can ask for, with the labels derived ones come from."""
        labels = set(rule.cue_labels)
        for derived, sources in DERIVED_LABELS.items():
            if derived in labels:
                labels.update(sources)
        return frozenset(labels)

    def _plan(self, may_fire: int) -> tuple[list[Rule], frozenset[str]]:
        """The rules that may fire (a gate bitmask) and the cue labels they need, with the explanation's own."""
        plan = self._plans.get(may_fire)
        if plan is None:
            picked = [k for k in range(len(self.rules)) if may_fire >> k & 1]
            labels = EVIDENCE_LABELS.union(*(self._rule_labels[k] for k in picked))
            plan = self._plans[may_fire] = ([self.rules[k] for k in picked], labels)
        return plan

    def judge(self, listing: Mapping[str, Any]) -> Judgement:
        """One listing (a crawl judges each as it arrives): no batching machinery around one doc."""
        fields, starts, text, n_text = self._prepare(listing)
        return self._judge_doc(self.pipeline.nlp(text), fields, starts, text, n_text)

    def judge_many(self, listings: Iterable[Mapping[str, Any]], batch_size: int = 64) -> list[Judgement]:
        """Listings are prepared, tokenized and judged a batch at a time: a batch's texts and docs are still in
        the CPU's caches when they are judged (preparing all the listings first made the whole ~7% slower)."""
        listings = iter(listings)
        out: list[Judgement] = []
        while batch := [self._prepare(listing) for listing in islice(listings, batch_size)]:
            # nlp.pipe keeps the order of its input (one process), so docs pair with `batch` by position.
            docs = self.pipeline.nlp.pipe([p[2] for p in batch], batch_size=batch_size)
            out += [self._judge_doc(doc, *p) for doc, p in zip(docs, batch, strict=True)]
        return out

    def _read_arrays(self, doc) -> tuple[str, int]:
        """The doc's language and the rules that may fire on it (a gate bitmask), from its token arrays."""
        if len(doc):
            lower, norm = doc.to_array(_DOC_ATTRS).T.tolist()
        else:
            lower = norm = []
        return self._language(lower), self._gate.rules_that_may_fire(set(norm))

    def _judge_doc(self, doc, fields, starts, text: str, n_text: int) -> Judgement:
        """`text` is the fields joined, which is doc.text without a walk over Token objects."""
        language, may_fire = self._read(doc)
        if not fields:
            return Judgement(False, 0.0, language, (), _NONE, _NONE)
        if not may_fire:
            # Most listings never mention reviews: no rule can fire, so skip cue matching and the engine.
            return Judgement(False, 0.0, language, (), _NONE, _NONE, _GATED_DIAGNOSTICS)
        # Only the rules whose cue words all occur are evaluated, and only the cues they ask for are found.
        rules, labels = self._plan(may_fire)
        is_tag = [False] * n_text + [True] * (len(fields) - n_text)
        cues = self._listing_cues(doc, starts, is_tag, self._found(doc, labels), text)
        diagnostics: list[str] = []
        hits = cues.evaluate(rules, diagnostics)
        if not hits:  # most listings that pass the gate: cues, but no rule's whole pattern
            return Judgement(False, 0.0, language, (), _NONE, _NONE, self._why_not(diagnostics, cues))
        flags = []
        span_chars = cues.span_chars
        for hit in hits:
            path, field_text = fields[hit.field]
            base = starts[hit.field]
            c0, c1 = span_chars(hit.start, hit.end)
            s, e = c0 - base, c1 - base
            evidence = field_text[s:e]
            rule, platform = hit.rule, hit.platform
            score, head, tail = self._hit_terms(rule, platform, hit.support)
            flags.append(Flag(rule.id, rule.version, rule.category, path, s, e, evidence, score, rule.legal, platform,
                              f"{head}{evidence}{tail}"))
        flags.sort(key=lambda f: (-f.score, f.field, f.start))
        score = listing_score(flags)
        decision = sells_reviews(score)
        explained = () if decision else self._why_not(diagnostics, cues)
        categories = frozenset([f.category for f in flags])
        platforms = frozenset([f.platform for f in flags if f.platform and f.category in REVIEW_CATEGORIES])
        return Judgement(decision, score, language, tuple(flags), categories, platforms, explained)

    def _hit_terms(self, rule: Rule, platform: str | None, support: tuple[str, ...]) -> tuple[float, str, str]:
        """A hit's score and its explanation around the evidence text, which depend only on the rule, the
        platform and the support labels: worked out once per combination (a listing has several hits)."""
        key = (rule.id, platform, support)
        got = self._terms.get(key)
        if got is not None and got[0] is rule:
            return got[1]
        parts = [f"Platform: {self._platform_names.get(platform, platform)}."] if platform else []
        words = [SUPPORT_WORDS[s] for s in support if s in SUPPORT_WORDS and s != "platform"]
        if words:
            parts.append("The listing also " + "; ".join(dict.fromkeys(words)) + ".")
        tail = "".join(f" {p}" for p in parts)
        terms = (flag_score(rule.severity, support), f"{rule.explanation} Evidence: “", f"”.{tail}")
        if len(self._terms) < 100_000:  # bounded: the combinations are few, but a caller may bring any rules
            self._terms[key] = (rule, terms)
        return terms

    @staticmethod
    def _why_not(diagnostics: list[str], cues: ListingCues) -> tuple[str, ...]:
        """What explains a listing the flagger did not flag: the engine's near misses, else the cues it had."""
        return tuple(diagnostics) if diagnostics else (Flagger._partial_evidence(cues),)

    @staticmethod
    def _partial_evidence(cues: ListingCues) -> str:
        seen = sorted(cues.labels_seen() & EVIDENCE_LABELS)
        return "no rule anchor; cues seen: " + (", ".join(seen) if seen else "none")


_LOCK = threading.Lock()
_FLAGGER: Flagger | None = None


def get_flagger() -> Flagger:
    """The process-wide Flagger (the spaCy pipeline is built once)."""
    global _FLAGGER
    if _FLAGGER is None:
        with _LOCK:
            if _FLAGGER is None:
                _FLAGGER = Flagger()
    return _FLAGGER
