"""Build the spaCy pipeline once per process: blank tokenizer, lookup lemmatizer, de-obfuscation, cue matcher."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import spacy
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.matcher import Matcher
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
        self._seen: dict[int, int] = {}  # orth -> flags: 1 odd single letter, 2 "a"/"i", 4 merge prefix

    def setup(self, canonicalizer: Canonicalizer, vocab_all: set[str], merge_vocab: set[str]) -> None:
        self.canonicalizer = canonicalizer
        self.vocab_all = {w for w in vocab_all if len(w) >= 3}
        self.merge_vocab = {w for w in merge_vocab if len(w) >= 5 and w.isalpha()}
        self.merge_prefixes = {w[:k] for w in self.merge_vocab for k in range(2, len(w) - 1)}
        self._seen.clear()

    def _join_letters(self, joined: str) -> str | None:
        c = self.canonicalizer.repair(joined)
        return c if c in self.vocab_all else None

    def _join_pieces(self, joined: str) -> str | None:
        c = self.canonicalizer.repair(joined)
        return c if c in self.merge_vocab else None

    def __call__(self, doc: Doc) -> Doc:
        canon = self.canonicalizer.canon
        vocab = doc.vocab
        strings = vocab.strings
        seen = self._seen
        odd = letters = 0
        prefix = False
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
                if text.lower() in self.merge_prefixes:
                    flags |= 4
                seen[orth] = flags
            if flags:
                if flags & 1:
                    odd += n
                if flags & 3:
                    letters += n
                if flags & 4:
                    prefix = True
        if prefix or odd >= 2 or (odd and letters >= 3):
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

    def _dispatch_join(self, joined: str) -> str | None:
        return self._join_letters(joined) or self._join_pieces(joined)


class CueMatcher:
    """Runs the lexicon Matcher and stores (cue, start, end) triples in doc.user_data."""

    def __init__(self, vocab) -> None:
        self.matcher = Matcher(vocab)

    def setup(self, patterns: dict[str, list[list[dict]]]) -> None:
        self.matcher = Matcher(self.matcher.vocab)
        for name, pats in patterns.items():
            self.matcher.add(name, pats)

    def __call__(self, doc: Doc) -> Doc:
        strings = doc.vocab.strings
        doc.user_data[CUES_KEY] = [(strings[mid], s, e) for mid, s, e in self.matcher(doc)]
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
    cues = nlp.add_pipe("turfwatch_cues")
    cues.setup(lexicons.matcher_patterns())
    return Pipeline(nlp, lexicons, canonicalizer, data)


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
