"""Build the spaCy pipeline once per process: blank tokenizer, lookup lemmatizer, de-obfuscation, cue matcher."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import spacy
from spacy.attrs import IDS, ORTH
from spacy.lang.lex_attrs import word_shape
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from .normalize import Canonicalizer, find_merges
from .rules import CompiledLexicons, RuleData, load_rule_data

PIPELINE_LANG = "en"  # one tokenizer for all seven languages; the lexicons carry the languages
MERGE_LEXICONS = ("review", "review_soft", "complaint", "removal", "incentive", "exchange", "platform")
CUES_KEY = "turfwatch_cues"


@Language.factory("turfwatch_normalizer")
def _make_normalizer(nlp: Language, name: str) -> "Normalizer":
    return Normalizer()


@Language.factory("turfwatch_cues")
def _make_cues(nlp: Language, name: str) -> "CueMatcher":
    return CueMatcher(nlp.vocab)


class Normalizer:
    """Sets each lexeme's NORM to its canonical form (once per distinct string) and re-joins split words."""

    def __init__(self) -> None:
        self.canonicalizer: Canonicalizer | None = None
        self.vocab_all: set[str] = set()
        self.merge_vocab: set[str] = set()
        self.merge_prefixes: set[str] = set()
        self.merge_suffixes: set[str] = set()
        self.norm_flags: list[tuple[int, frozenset]] = []
        self._repaired: dict[str, str | None] = {}
        self._seen: dict[int, int] = {}  # orth -> 1 odd single letter, 2 "a"/"i", 4 merge prefix, 8 merge suffix

    def setup(self, canonicalizer: Canonicalizer, vocab_all: set[str], merge_vocab: set[str]) -> None:
        self.canonicalizer = canonicalizer
        self.vocab_all = {w for w in vocab_all if len(w) >= 3}
        self.merge_vocab = {w for w in merge_vocab if len(w) >= 5 and w.isalpha()}
        self.merge_prefixes = {w[:k] for w in self.merge_vocab for k in range(2, len(w) - 1)}
        self.merge_suffixes = {w[k:] for w in self.merge_vocab for k in range(2, len(w) - 1)}
        self._seen.clear()
        self._repaired.clear()

    def _repair(self, joined: str) -> str | None:
        if joined not in self._repaired:
            self._repaired[joined] = self.canonicalizer.repair(joined)
        return self._repaired[joined]

    def _join_letters(self, joined: str) -> str | None:
        c = self._repair(joined)
        return c if c in self.vocab_all else None

    def _join_pieces(self, joined: str) -> str | None:
        c = self._repair(joined)
        return c if c in self.merge_vocab else None

    def __call__(self, doc: Doc) -> Doc:
        canon = self.canonicalizer.canon
        vocab = doc.vocab
        strings = vocab.strings
        seen = self._seen
        odd = letters = 0
        prefixes: list[str] = []
        suffixes: list[str] = []
        for orth, n in doc.count_by(ORTH).items():
            flags = seen.get(orth)
            if flags is None:
                text = strings[orth]
                c = canon(text)
                lex = vocab[orth]
                if lex.norm_ != c:
                    lex.norm_ = c
                flags = 0
                if len(text) == 1 and c.isalpha():
                    flags = 2 if c in "ai" else 1
                low = text.lower()
                if low in self.merge_prefixes:
                    flags |= 4
                if low in self.merge_suffixes:
                    flags |= 8
                seen[orth] = flags
            if flags:
                if flags & 1:
                    odd += n
                if flags & 3:
                    letters += n
                if flags & 12:
                    low = strings[orth].lower()
                    if flags & 4:
                        prefixes.append(low)
                    if flags & 8:
                        suffixes.append(low)
        # Scan tokens only when two pieces in this doc could form a known word, or letters are spelled out.
        pieces = any(p + q in self.merge_vocab for p in prefixes for q in suffixes) if prefixes and suffixes else False
        if pieces or odd >= 2 or (odd and letters >= 3):
            self._merge(doc, canon)
        return doc

    def _merge(self, doc: Doc, canon) -> None:
        words = [(t.text, canon(t.text), t.whitespace_ == " ") for t in doc]
        merges = [m for m in find_merges(words, self._dispatch_join) if m[1] - m[0] > 1]
        if not merges:
            return
        with doc.retokenize() as retok:
            for start, end, c in merges:
                retok.merge(doc[start:end], attrs={"NORM": c})
        shift = 0
        for start, end, c in sorted(merges):
            lex = doc[start - shift].lex  # the merged token's lexeme is new: give it the flags of its word
            for fid, values in self.norm_flags:
                lex.set_flag(fid, c in values)
            shift += end - start - 1

    def _dispatch_join(self, joined: str) -> str | None:
        return self._join_letters(joined) or self._join_pieces(joined)


class CueMatcher:
    """Finds lexicon entries (PhraseMatcher, fast) and composite cues (Matcher); stores (cue, start, end) in doc.user_data."""

    def __init__(self, vocab) -> None:
        self.vocab = vocab
        self.matcher = Matcher(vocab)
        self.by_norm = PhraseMatcher(vocab, attr="NORM")
        self.by_lower = PhraseMatcher(vocab, attr="LOWER")

    def setup(self, norm_phrases: dict[str, list[tuple[str, ...]]], lower_phrases: dict[str, list[tuple[str, ...]]],
              patterns: dict[str, list[list[dict]]]) -> None:
        self.matcher = Matcher(self.vocab, validate=False)  # FLAG attributes are not in the pattern schema
        self.by_norm = PhraseMatcher(self.vocab, attr="NORM")
        self.by_lower = PhraseMatcher(self.vocab, attr="LOWER")
        for name, phrases in norm_phrases.items():
            docs = []
            for words in phrases:
                d = Doc(self.vocab, words=list(words))
                for tok, w in zip(d, words):
                    tok.norm_ = w  # the canonical form, whatever the lexeme's own norm is
                docs.append(d)
            self.by_norm.add(name, docs)
        for name, phrases in lower_phrases.items():
            self.by_lower.add(name, [Doc(self.vocab, words=list(words)) for words in phrases])
        for name, pats in patterns.items():
            self.matcher.add(name, pats)

    def __call__(self, doc: Doc) -> Doc:
        strings = doc.vocab.strings
        found = [(strings[mid], s, e) for mid, s, e in self.by_norm(doc)]
        found += [(strings[mid], s, e) for mid, s, e in self.by_lower(doc)]
        found += [(strings[mid], s, e) for mid, s, e in self.matcher(doc)]
        doc.user_data[CUES_KEY] = found
        return doc


@dataclass
class Pipeline:
    nlp: Language
    lexicons: CompiledLexicons
    canonicalizer: Canonicalizer
    data: RuleData


def _build(data: RuleData) -> Pipeline:
    nlp = spacy.blank(PIPELINE_LANG)
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    # spaCy's own logger chatters at DEBUG under Scrapy's root handler; its start-up is not news.
    logging.getLogger("spacy").setLevel(logging.WARNING)
    nlp.initialize()  # loads the lemma_lookup table from spacy-lookups-data
    table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    lemma = _TableView(table)
    tokenize = lambda s: [t.text for t in nlp.tokenizer(s)]  # noqa: E731
    boot = Canonicalizer((), lemma, {})
    lexicons = CompiledLexicons(data, tokenize, boot.canon)
    raw_words = {e.lower() for langs in data.lexicons.values() for es in langs.values() for e in es if " " not in e}
    canonicalizer = Canonicalizer(lexicons.words() | raw_words, lemma, {}, data.compound_heads)
    lexicons = CompiledLexicons(data, tokenize, canonicalizer.canon)
    norm = nlp.add_pipe("turfwatch_normalizer")
    norm.setup(canonicalizer, lexicons.words(), lexicons.words(MERGE_LEXICONS))
    flags = _FlagAllocator(nlp.vocab, canonicalizer)
    patterns = lexicons.matcher_patterns(flags.flag_for)
    norm.norm_flags = flags.norm_flags
    keep = {c for r in data.rules for steps in r.patterns for st in steps for c in st.cues}
    keep |= {c for r in data.rules for cond in r.requires + r.unless for c in cond.cues}
    cues = nlp.add_pipe("turfwatch_cues")
    cues.setup(*lexicons.phrases(keep), patterns)
    return Pipeline(nlp, lexicons, canonicalizer, data)


class _FlagAllocator:
    """One lexeme flag per set test in the composite patterns, computed once per lexeme."""

    FIRST, LAST = 19, 63

    def __init__(self, vocab, canonicalizer: Canonicalizer) -> None:
        self.vocab = vocab
        self.canon = canonicalizer.canon
        self.ids: dict[tuple[str, frozenset], str] = {}
        self.norm_flags: list[tuple[int, frozenset]] = []
        self.next = self.FIRST

    def flag_for(self, attr: str, values: frozenset) -> str:
        key = (attr, values)
        if key not in self.ids:
            if self.next > self.LAST or f"FLAG{self.next}" not in IDS:
                raise RuntimeError("too many set tests in cue patterns for the lexeme flags available")
            canon = self.canon
            if attr == "NORM":
                getter = lambda text, v=values: canon(text) in v  # noqa: E731
                self.norm_flags.append((self.next, values))
            elif attr == "LOWER":
                getter = lambda text, v=values: text.lower() in v  # noqa: E731
            else:
                getter = lambda text, v=values: word_shape(text) in v  # noqa: E731
            self.vocab.add_flag(getter, flag_id=self.next)
            self.ids[key] = f"FLAG{self.next}"
            self.next += 1
        return self.ids[key]


class _TableView:
    """dict-style .get over the lemmatizer's lookup table; the table is case-sensitive, so callers pass lower case."""

    def __init__(self, table) -> None:
        self._table = table

    def get(self, key: str, default=None):
        value = self._table.get(key, default)
        return value if isinstance(value, str) or value is default else value[0]


_LOCK = threading.Lock()
_PIPELINE: Pipeline | None = None


def get_pipeline() -> Pipeline:
    """The process-wide pipeline, built on first use."""
    global _PIPELINE
    if _PIPELINE is None:
        with _LOCK:
            if _PIPELINE is None:
                _PIPELINE = _build(load_rule_data())
    return _PIPELINE
