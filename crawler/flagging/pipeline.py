"""Build the spaCy pipeline once per process: blank tokenizer, lookup lemma table, de-obfuscation, cue matcher."""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import spacy
from spacy.attrs import IDS, LENGTH, LIKE_NUM, NORM, ORTH
from spacy.lang.lex_attrs import word_shape
from spacy.language import Language
from spacy.lookups import load_lookups
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from .compiled import PARTS, engine, forced_python, part
from .normalize import Canonicalizer, find_merges
from .rules import CompiledLexicons, RuleData, cue_label, load_rule_data

PIPELINE_LANG = "en"  # one tokenizer for all seven languages; the lexicons carry the languages
MERGE_LEXICONS = ("review", "review_soft", "complaint", "removal", "incentive", "exchange", "platform")


@Language.factory("turfwatch_normalizer")
def _make_normalizer(nlp: Language, name: str) -> "Normalizer":
    return Normalizer()


class Normalizer:
    """Gives each lexeme its canonical NORM when spaCy creates it, and re-joins split words.

    Per-string work lives on the lexeme (a NORM getter and flags, computed once per
    distinct string), so a doc costs one C-level `to_array` unless it has split words.
    """

    def __init__(self) -> None:
        self.canonicalizer: Canonicalizer | None = None
        self.vocab_all: set[str] = set()
        self.merge_vocab: set[str] = set()
        self.merge_prefixes: set[str] = set()
        self.merge_suffixes: set[str] = set()
        self.norm_flags: list[tuple[int, frozenset]] = []
        self.attrs: list[int] = []  # flags: odd single letter, "a"/"i", merge prefix, merge suffix; LENGTH
        self._repaired: dict[str, str | None] = {}
        # The compiled engine's merges for a doc, or None (the Python code below runs): exactly those that
        # _merge makes when __call__'s condition holds, else [] (CompiledMergeCheck.merges_if_legacy, _scan.pyx).
        self.compiled_merges = None
        # And its merging (_scan.apply_merges): exactly what _apply does to a doc with nothing but tokens; it
        # declines (False, doc untouched) anything else, and _apply runs.
        self.compiled_apply = None

    def setup(self, canonicalizer: Canonicalizer, vocab_all: set[str], merge_vocab: set[str]) -> None:
        self.canonicalizer = canonicalizer
        self.vocab_all = {w for w in vocab_all if len(w) >= 3}
        self.merge_vocab = {w for w in merge_vocab if len(w) >= 5 and w.isalpha()}
        self.merge_prefixes = {w[:k] for w in self.merge_vocab for k in range(2, len(w) - 1)}
        self.merge_suffixes = {w[k:] for w in self.merge_vocab for k in range(2, len(w) - 1)}
        self._repaired.clear()

    def install(self, vocab, flags: "_FlagAllocator") -> None:
        """Lexeme NORM = canonical form, for lexemes to come (getter) and those already there."""
        canon = self.canonicalizer.canon
        vocab.lex_attr_getters[NORM] = canon
        for lex in vocab:
            c = canon(lex.orth_)
            if lex.norm_ != c:
                lex.norm_ = c

        def letter(text: str) -> str | None:
            c = canon(text)
            return c if len(text) == 1 and c.isalpha() else None

        self.attrs = [
            flags.add(lambda t: (c := letter(t)) is not None and c not in "ai"),
            flags.add(lambda t: (c := letter(t)) is not None and c in "ai"),
            flags.add(lambda t: t.lower() in self.merge_prefixes),
            flags.add(lambda t: t.lower() in self.merge_suffixes),
            LENGTH,
        ]

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
        if len(doc) < 2:
            return doc
        if self.compiled_merges is not None:
            merges = self.compiled_merges(doc)
            if merges and not (self.compiled_apply and self.compiled_apply(doc, merges, self.norm_flags)):
                self._apply(doc, merges)
            return doc
        arr = doc.to_array(self.attrs)
        odd, ai, pre, suf, length = arr.T
        one = (length == 1).astype(arr.dtype)
        # Candidates only where find_merges could join: a letter followed by a one-character token
        # (a letter, a digit for a letter, or a separator) next or next but one; a word-start piece
        # followed by a word-end piece likewise. Scattered letters ("a", "e.g.") are no reason to scan.
        letter = odd | ai
        spelled = bool((letter[:-1] & one[1:]).any() or (letter[:-2] & one[2:]).any())
        if spelled:
            n_odd, n_letters = int(odd.sum()), int(letter.sum())
            spelled = n_odd >= 2 or (n_odd and n_letters >= 3)
        pieces = False
        if not spelled and ((pre[:-1] & suf[1:]).any() or (pre[:-2] & suf[2:]).any()):
            # Two pieces in this doc could form a known word ("trust pilot", "re-views")?
            prefixes = {doc[i].lower_ for i in pre.nonzero()[0].tolist()}
            suffixes = {doc[i].lower_ for i in suf.nonzero()[0].tolist()}
            pieces = any(p + q in self.merge_vocab for p in prefixes for q in suffixes)
        if spelled or pieces:
            self._merge(doc, self.canonicalizer.canon)
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        """nlp.pipe's path: spaCy calls a component without `pipe` through a per-doc wrapper whose only
        job is an error handler; ours is spaCy's default (raise), so the wrapper was pure cost."""
        for doc in docs:
            yield self(doc)

    def _merge(self, doc: Doc, canon) -> None:
        merges = self._merges(doc, canon)
        if merges:
            self._apply(doc, merges)

    def _merges(self, doc: Doc, canon) -> list[tuple[int, int, str]]:
        """The (start, end, canonical) token ranges _merge joins, in find_merges' order."""
        words = [(t.text, canon(t.text), t.whitespace_ == " ") for t in doc]
        return [m for m in find_merges(words, self._dispatch_join) if m[1] - m[0] > 1]

    def _apply(self, doc: Doc, merges: list[tuple[int, int, str]]) -> None:
        """Join each range into one token with the canonical NORM; its (new) lexeme gets that word's flags."""
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


class SeqMatcher:
    """The composite cue patterns (spaCy Matcher token-pattern syntax) matched over per-token arrays.

    Same matches as spaCy's Matcher (every distinct (cue, start, end)), but a pattern is tried only at
    tokens that pass its first test, found with numpy; spaCy's Matcher starts every pattern at every token.
    Token tests are lexeme flags, LIKE_NUM, or NORM / ORTH equality.
    """

    def __init__(self, vocab, patterns: dict[str, list[list[dict]]]) -> None:
        strings = vocab.strings
        self.vocab = vocab
        compiled = []
        for name, pats in patterns.items():
            for pat in pats:
                specs = []
                for tok in pat:
                    tests = []  # (kind, value, wanted): kind 0 lexeme flag bit, 1 NORM hash, 2 ORTH hash
                    for key, value in tok.items():
                        if key == "OP":
                            continue
                        if key.startswith("FLAG") or key == "LIKE_NUM":
                            tests.append((0, 1 << (LIKE_NUM if key == "LIKE_NUM" else IDS[key]), bool(value)))
                        elif key in ("NORM", "ORTH"):
                            tests.append((1 if key == "NORM" else 2, strings.add(value), True))
                        else:
                            raise ValueError(f"cue pattern attribute {key} is not supported")
                    lo, hi = _QUANTIFIERS.get(tok.get("OP"), (None, None))
                    if lo is None:
                        m = re.fullmatch(r"\{(\d*),(\d*)\}", tok["OP"])
                        lo, hi = int(m.group(1) or 0), int(m.group(2)) if m.group(2) else 1 << 30
                    specs.append((tuple(tests), lo, hi))
                if specs[0][1] == 0:
                    raise ValueError(f"cue pattern for {name} must start with a required token")
                # What the doc must contain for the pattern to have a chance: flag bits and NORM/ORTH ids.
                need_bits = 0
                need_ids = set()
                for tests, lo, _ in specs:
                    for kind, value, wanted in tests if lo else ():
                        if kind == 0 and wanted:
                            need_bits |= value
                        elif kind:
                            need_ids.add(value)
                label = cue_label(name)
                compiled.append((strings.add(name), name, tuple(specs), need_bits, frozenset(need_ids), label))
        self.patterns = compiled
        self._bits: dict[int, int] = {}  # orth -> the lexeme's flag word, read once per lexeme

    def __call__(self, doc: Doc, labels: frozenset[str] | None = None) -> list[tuple[str, int, int]]:
        """Matches of every pattern, or of those whose cue label is in `labels`."""
        n = len(doc)
        if not n or not self.patterns:
            return []
        norm_l, orth_l = doc.to_array(_SEQ_ATTRS).T.tolist()
        cache = self._bits
        vocab = self.vocab
        bits_l = []
        for o in orth_l:
            b = cache.get(o)
            if b is None:
                b = cache[o] = vocab[o].flags
            bits_l.append(b)
        doc_bits = 0
        for b in set(bits_l):
            doc_bits |= b
        doc_ids = set(norm_l)
        doc_ids.update(orth_l)
        lists = (bits_l, norm_l, orth_l)
        seen: set[tuple[int, int, int]] = set()
        out: list[tuple[str, int, int]] = []
        starts_for: dict[tuple, list[int]] = {}
        for key, name, specs, need_bits, need_ids, label in self.patterns:
            if doc_bits & need_bits != need_bits or not need_ids <= doc_ids or (labels is not None and label not in labels):
                continue
            first = specs[0][0]
            starts = starts_for.get(first)
            if starts is None:
                starts = starts_for[first] = _starts(first, lists)
            for s in starts:
                for e in sorted(_ends(specs, s, n, lists)):  # ascending, not a set's order
                    if e > s and (key, s, e) not in seen:  # one match per (cue, start, end), as spaCy's
                        seen.add((key, s, e))
                        out.append((name, s, e))
        return out


_SEQ_ATTRS = [NORM, ORTH]
_QUANTIFIERS = {None: (1, 1), "!": (None, None), "?": (0, 1), "+": (1, 1 << 30), "*": (0, 1 << 30)}


def _starts(tests, lists) -> list[int]:
    """Tokens passing `tests`; the first test is screened with a list comprehension."""
    kind, value, wanted = tests[0]
    col = lists[kind]
    if kind == 0:
        hits = [i for i, v in enumerate(col) if v & value] if wanted else [i for i, v in enumerate(col) if not v & value]
    else:
        hits = [i for i, v in enumerate(col) if v == value] if wanted else [i for i, v in enumerate(col) if v != value]
    return [i for i in hits if _ok(tests[1:], i, lists)] if len(tests) > 1 else hits


def _ok(tests, i: int, lists) -> bool:
    for kind, value, wanted in tests:
        v = lists[kind][i]
        if ((v & value) != 0 if kind == 0 else v == value) != wanted:
            return False
    return True


def _ends(specs, start: int, n: int, lists) -> set[int]:
    """Every end such that the pattern matches tokens[start:end] (regular-expression semantics)."""
    cur = {start}
    for tests, lo, hi in specs:
        nxt = set()
        for p in cur:
            if lo == 0:
                nxt.add(p)
            q = p
            while q - p < hi and q < n and _ok(tests, q, lists):
                q += 1
                if q - p >= lo:
                    nxt.add(q)
        cur = nxt
        if not cur:
            break
    return cur


class CueMatcher:
    """Finds lexicon entries (PhraseMatcher, fast) and composite cues (SeqMatcher) as (cue, start, end)."""

    def __init__(self, vocab, norm_phrases: dict[str, list[tuple[str, ...]]],
                 lower_phrases: dict[str, list[tuple[str, ...]]], patterns: dict[str, list[list[dict]]],
                 compiled: bool = True) -> None:
        self.matcher = SeqMatcher(vocab, patterns)
        seq = compiled and part("_seq")
        if seq:
            self.matcher = seq.CompiledSeqMatcher(self.matcher)
        self.by_norm = PhraseMatcher(vocab, attr="NORM")
        self.by_lower = PhraseMatcher(vocab, attr="LOWER")
        self.phrase_names = list(norm_phrases) + list(lower_phrases)
        for name, phrases in norm_phrases.items():
            docs = []
            for words in phrases:
                d = Doc(vocab, words=list(words))
                for tok, w in zip(d, words):
                    tok.norm_ = w  # the canonical form, whatever the lexeme's own norm is
                docs.append(d)
            self.by_norm.add(name, docs)
        for name, phrases in lower_phrases.items():
            self.by_lower.add(name, [Doc(vocab, words=list(words)) for words in phrases])

        cues = compiled and part("_cues")
        self._phrases = cues.CompiledPhrases(self.by_norm, self.by_lower, self.phrase_names) if cues else None
        # found(doc, labels): find()'s cues, in its order, for the rule engine. With both matchers compiled and
        # the rule engine's compiled part there to read them, _cues.PackedFinder's C method (no Python frame
        # per listing): bytes of packed (name hash, start, end) records that the compiled engine's `cues`
        # reads without a tuple or a name per cue (see _cues.CompiledPhrases.packed), or find()'s list for a
        # doc of another vocab. Else find() itself.
        self._packed = (self._phrases is not None and bool(seq) and bool(part("_evaluate"))
                        and self.matcher.packable)
        self.found = (cues.PackedFinder(self._phrases, self.matcher, vocab, self.find).found if self._packed
                      else self.find)

    def find(self, doc: Doc, labels: frozenset[str] | None = None) -> list[tuple[str, int, int]]:
        """Every cue, or those whose label ("platform" for every "platform:<id>") is in `labels`."""
        if self._phrases is not None:
            return self._phrases.find(doc, labels) + self.matcher(doc, labels)
        strings = doc.vocab.strings
        found = [(strings[mid], s, e) for mid, s, e in self.by_norm(doc)]
        found += [(strings[mid], s, e) for mid, s, e in self.by_lower(doc)]
        if labels is not None:
            found = [c for c in found if cue_label(c[0]) in labels]
        found += self.matcher(doc, labels)
        return found


@dataclass
class Pipeline:
    nlp: Language  # tokenizer + normalizer; the Flagger runs `cues` itself, after its gate
    lexicons: CompiledLexicons
    canonicalizer: Canonicalizer
    data: RuleData
    cues: CueMatcher
    patterns: dict  # composite cue patterns as compiled (FLAG ids)
    flag_values: dict  # "FLAGnn" -> canonical words, for NORM-set flags
    special_norms: dict  # canonical word -> NORMs tokenizer exceptions give it
    compiled: bool  # whether the compiled engine's parts are used (see compiled.py)


def _blank_nlp() -> Language:
    """spacy.blank(PIPELINE_LANG), less the tokenizer exceptions that map a run of whitespace to itself
    ("\\n", "\\t", " ").

    spaCy's tokenizer caches how each whitespace-delimited chunk splits, but once one chunk of a text hits
    an exception it caches nothing more for that text (its `has_special` flag is per text, not per chunk).
    "\\n" is such an exception: in a listing with a line break in its description every chunk after the
    break went through the prefix, suffix and infix regexes again, and crawled listings took three times as
    long to tokenize as the same words without the break. These exceptions only say "one token, itself",
    which is what the ordinary path makes of whitespace, so without them the tokens are the same
    (tests/test_flagging.py compares them with a stock tokenizer's). They are left out of the language's
    defaults rather than removed from a built tokenizer, whose exceptions would then be loaded twice (~0.1 s)."""
    base = spacy.util.get_lang_class(PIPELINE_LANG)
    exceptions = {k: v for k, v in base.Defaults.tokenizer_exceptions.items()
                  if not (k.isspace() and v == [{ORTH: k}])}
    defaults = type("Defaults", (base.Defaults,), {"tokenizer_exceptions": exceptions})
    return type(base.__name__, (base,), {"Defaults": defaults})()


def _build(data: RuleData, compiled: bool = True) -> Pipeline:
    """`compiled=False` builds the pure-Python engine even where the compiled one is installed."""
    if compiled and not all(part(name) for name in PARTS):
        compiled = False
        level = logging.INFO if forced_python() else logging.WARNING
        logging.getLogger(__name__).log(level, "flagging with the %s engine, several times slower than the compiled "
                                        "one; reinstall with a C++ compiler to build it", engine())
    nlp = _blank_nlp()
    # spaCy's own logger chatters at DEBUG under Scrapy's root handler; its start-up is not news.
    logging.getLogger("spacy").setLevel(logging.WARNING)
    # The lookup lemmatizer's table from spacy-lookups-data (no model download). It is applied through
    # the Canonicalizer, once per distinct string, instead of a lemmatizer pipe that looks up every token.
    table = load_lookups(PIPELINE_LANG, ["lemma_lookup"]).get_table("lemma_lookup")
    lemma = _TableView(table)
    tokenize = lambda s: [t.text for t in nlp.tokenizer(s)]  # noqa: E731
    boot = Canonicalizer((), lemma, {})
    lexicons = CompiledLexicons(data, tokenize, boot.canon)
    raw_words = {e.lower() for langs in data.lexicons.values() for es in langs.values() for e in es if " " not in e}
    # Weak platform aliases too, so their disguised forms ("T.P.", "t-p") are repaired to them.
    raw_words |= {a.lower() for body in data.platforms.values() for a in body["weak"] if " " not in a}
    canonicalizer = Canonicalizer(lexicons.words() | raw_words, lemma, {}, data.compound_heads)
    lexicons = CompiledLexicons(data, tokenize, canonicalizer.canon)
    norm = nlp.add_pipe("turfwatch_normalizer")
    norm.setup(canonicalizer, lexicons.words(), lexicons.words(MERGE_LEXICONS))
    flags = _FlagAllocator(nlp.vocab, canonicalizer)
    norm.install(nlp.vocab, flags)
    patterns = lexicons.matcher_patterns(flags.flag_for)
    norm.norm_flags = flags.norm_flags
    if compiled:
        norm.compiled_merges = part("_scan").CompiledMergeCheck(norm, nlp.vocab).merges_if_legacy
        norm.compiled_apply = part("_scan").apply_merges
    keep = set().union(*(r.cue_labels for r in data.rules))
    cues = CueMatcher(nlp.vocab, *lexicons.phrases(keep), patterns, compiled)
    flag_values = {fid: values for (attr, values), fid in flags.ids.items() if attr == "NORM"}
    special: dict[str, set[str]] = {}
    for pieces in nlp.tokenizer.rules.values():
        for attrs in pieces:
            if attrs.get(NORM) or attrs.get("NORM"):
                special.setdefault(canonicalizer.canon(attrs.get(ORTH) or attrs["ORTH"]), set()).add(
                    attrs.get(NORM) or attrs["NORM"])
    return Pipeline(nlp, lexicons, canonicalizer, data, cues, patterns, flag_values, special, compiled)


class _FlagAllocator:
    """One lexeme flag per set test in the composite patterns, computed once per lexeme."""

    FIRST, LAST = 19, 63

    def __init__(self, vocab, canonicalizer: Canonicalizer) -> None:
        self.vocab = vocab
        self.canon = canonicalizer.canon
        self.ids: dict[tuple[str, frozenset], str] = {}
        self.norm_flags: list[tuple[int, frozenset]] = []
        self.next = self.FIRST

    def add(self, getter) -> int:
        """A lexeme flag computed by `getter(text)` once per distinct string; returns its attribute id."""
        if self.next > self.LAST or f"FLAG{self.next}" not in IDS:
            raise RuntimeError("too many lexeme flags: the normalizer's tests and the cue patterns' set tests "
                               f"share FLAG{self.FIRST}-FLAG{self.LAST}")
        fid = self.next
        self.vocab.add_flag(getter, flag_id=fid)
        self.next += 1
        return fid

    def flag_for(self, attr: str, values: frozenset) -> str:
        """The lexeme flag (as "FLAGnn") testing `attr` (NORM, LOWER or SHAPE) for membership in `values`."""
        key = (attr, values)
        if key not in self.ids:
            canon = self.canon
            if attr == "NORM":
                getter = lambda text, v=values: canon(text) in v  # noqa: E731
            elif attr == "LOWER":
                getter = lambda text, v=values: text.lower() in v  # noqa: E731
            else:
                getter = lambda text, v=values: word_shape(text) in v  # noqa: E731
            fid = self.add(getter)
            if attr == "NORM":
                self.norm_flags.append((fid, values))
            self.ids[key] = f"FLAG{fid}"
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
