"""The compiled per-document pre-checks (crawler/flagging/_scan.pyx) against the Python code they mirror.

Gate and language on docs as the Flagger sees them; the merge pre-check on docs as the tokenizer makes them
(before the Normalizer), where a "no" must mean that the Normalizer's _merge changes nothing; the merges
themselves (CompiledMergeCheck.merges) against find_merges, and the Normalizer's output with and without them.
"""
from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
import spacy
from spacy.attrs import LOWER, NORM

from crawler.flagging.flagger import FIELD_SEPARATOR, Flagger, get_flagger, listing_fields
from crawler.flagging.normalize import find_merges
from crawler.flagging.pipeline import _build
from crawler.flagging.rules import load_rule_data
from tests.engine_corpus import compiled_part, engine_corpus

# Spelled-out and split words, leet letters inside runs, and near misses of each.
HAND_MADE = [
    "r e v i e w s", "R-e-v-i-e-w-s", "t r u s t p i l o t r e v i e w s", "trust pilot", "re-views", "feed back",
    "a r e v i e w", "I will post r e v i e w s on your page", "R E V I E W S", "r.e.v.i.e.w.s", "r_e_v_i_e_w_s",
    "r 3 v 1 e w s", "R-3-V-I-3-W-S", "r e v ! e w s", "g 0 0 g l e r e v i e w s", "t r u s t p 1 l o t",
    "5 t a r s", "r e v i e w s e r v i c e", "i r e v i e w s", "a g o o g l e", "R e-v i e-w s",
    "trust-pilot", "face book", "Trust Pilot reviews", "re_views", "re.views", "feed-back", "goo gle",
    "trust рilot", "ｔｒｕｓｔ ｐｉｌｏｔ", "with out", "set up", "non-drop", "non drop", "review s",
    "trustpilot", "r e v", "r e v i e", "r e v i e w x", "feed bak", "re-viewz", "a b", "x y z", "a b c d e f", "1 2 3 4 5", "r e v i e w", "rev iews",
    "trust me", "pilot trust", "re - views", "re -views", "re- views", "feed  back", "feed\nback", "re-\nviews",
    "r  e  v  i  e  w  s", "r e v i e w s.", "-r-e-v-i-e-w-s-", "e.g. a b c", "A. B. C.", "i e", "a i a i",
    "r*e*v*i*e*w*s", "r·e·v·i·e·w·s", "r/e/v/i/e/w/s", "r e v i e w s!!!", "ΑΣ ΣΑ", "İ s t a n b u l",
    "a a a a a a a a a a", "über prüfung", "reseñas falsas", "Bewer tungen", "avalia ções", "😀 r e v i e w s 😀",
    "", "a", "ab", "r", "rv", "I will write 5 star google reviews for your business",
]


@pytest.fixture(scope="module")
def scan():
    return compiled_part("_scan")


@pytest.fixture(scope="module")
def flagger():
    return get_flagger()


@pytest.fixture(scope="module")
def texts():
    return [FIELD_SEPARATOR.join(t for _, t in listing_fields(listing)) for listing in engine_corpus()] + HAND_MADE


def test_built_for_this_spacy(scan):
    assert scan.BUILT_WITH_SPACY == scan.SPACY_VERSION_BUILT == spacy.__version__


def _arrays(doc):
    if not len(doc):
        return [], []
    lower, norm = doc.to_array([LOWER, NORM]).T.tolist()
    return lower, norm


def test_gate_and_language_match_python(scan, flagger, texts):
    nlp = flagger.pipeline.nlp
    strings = nlp.vocab.strings
    gate, language = scan.CompiledGate(flagger._gate), scan.CompiledLanguage(flagger._languages, strings)
    reader = scan.CompiledReader(language, gate)
    # A second gate over a subset of the rules: other masks, other rule bits.
    sub = Flagger(flagger.pipeline, flagger.rules[::3])
    sub_reader = scan.CompiledReader(language, scan.CompiledGate(sub._gate))
    fired = 0
    for text, doc in zip(texts, nlp.pipe(texts)):
        lower, norm = _arrays(doc)
        expected = flagger._gate.rules_that_may_fire(set(norm))
        assert reader.read(doc) == (flagger._language(lower), expected), text[:200]
        assert sub_reader.read(doc) == (flagger._language(lower), sub._gate.rules_that_may_fire(set(norm))), text[:200]
        fired += bool(expected)
    assert 0 < fired < len(texts)
    # The key function form of CompiledLanguage, as LanguageGuesser.keyed takes it.
    keyed = scan.CompiledReader(scan.CompiledLanguage(flagger._languages, strings.add), gate)
    assert keyed.read(nlp("der die das und für"))[0] == "de"


def _tokens(doc):
    return [(t.text, t.whitespace_) for t in doc]


def test_merge_check_is_exact(scan, flagger, texts, monkeypatch):
    """may_merge says yes exactly when _merge changes the doc; no merge is ever missed."""
    nlp = flagger.pipeline.nlp
    normalizer = nlp.get_pipe("turfwatch_normalizer")
    canon = normalizer.canonicalizer.canon
    check = scan.CompiledMergeCheck(normalizer, nlp.vocab)
    # The checks are compared with the Python Normalizer's own condition, whatever the pipeline is wired to.
    monkeypatch.setattr(normalizer, "compiled_merges", None)
    counts = dict(docs=0, today=0, may_merge=0, merged=0, today_merged=0)
    for text in texts:
        doc = nlp.make_doc(text)
        before = _tokens(doc)
        may = check.may_merge(doc)
        merged = doc.copy()
        normalizer._merge(merged, canon)
        changed = _tokens(merged) != before
        if not may:
            assert not changed, f"may_merge said no, but _merge changed {text[:300]!r}"
            # nor does the Python Normalizer (its own condition, then _merge)
            copy = doc.copy()
            normalizer(copy)
            assert _tokens(copy) == before, text[:300]
        assert may == changed, f"may_merge said yes, _merge changed nothing: {text[:300]!r}"
        # Today's condition for calling _merge, and whether today's Normalizer changes the doc.
        calls = []
        with monkeypatch.context() as patched:
            patched.setattr(normalizer, "_merge", lambda d, c: calls.append(1))
            normalizer(doc.copy())
        assert check.legacy_check(doc) == bool(calls), text[:300]
        copy = doc.copy()
        normalizer(copy)
        assert check.normalizer_merges(doc) == (_tokens(copy) != before), text[:300]
        assert _tokens(doc) == before  # the checks never touch the doc
        counts["docs"] += 1
        counts["today"] += bool(calls)
        counts["may_merge"] += may
        counts["merged"] += changed
        counts["today_merged"] += _tokens(copy) != before
    print(f"\nmerge pre-check over {counts['docs']} docs: today's condition sends {counts['today']} to _merge, "
          f"may_merge {counts['may_merge']} (= docs _merge changes: {counts['merged']}); "
          f"normalizer_merges {counts['today_merged']}; python joins asked: {check.python_joins}")
    assert counts["may_merge"] < counts["today"]


@pytest.mark.parametrize("text, expected", [
    ("r e v i e w s", True), ("R-e-v-i-e-w-s", True), ("t r u s t p i l o t r e v i e w s", True),
    ("trust pilot", True), ("re-views", True), ("feed back", True), ("a r e v i e w", True),
    ("r 3 v 1 e w s", True), ("trust рilot", True), ("with out", True),
    ("x y z", False), ("a b c d e f", False), ("trust me", False), ("re - views", False), ("feed  back", False),
    ("r e v i e", False), ("r e v i e w x", False), ("feed bak", False), ("a", False), ("", False),
])
def test_merge_check_hand_made(scan, flagger, text, expected):
    nlp = flagger.pipeline.nlp
    normalizer = nlp.get_pipe("turfwatch_normalizer")
    doc = nlp.make_doc(text)
    words = [(t.text, normalizer.canonicalizer.canon(t.text), t.whitespace_ == " ") for t in doc]
    assert bool(find_merges(words, normalizer._dispatch_join)) == expected  # the premise
    assert scan.CompiledMergeCheck(normalizer, nlp.vocab).may_merge(doc) == expected


def _fuzz_texts(normalizer, n: int, seed: int) -> list[str]:
    """Vocabulary words spelled out (with leet letters and separators), split, in look-alike letters or cased."""
    from crawler.flagging.normalize import _HOMOGLYPHS

    rng = random.Random(seed)
    words = sorted(normalizer.vocab_all | normalizer.merge_vocab)
    plain = "the and for your with set up out non drop any one be cause a i x".split()
    leet = {"o": "0", "i": "1", "e": "3", "a": "4", "s": "5", "t": "7", "l": "|", "b": "8", "g": "9"}
    looks = {}
    for k, v in _HOMOGLYPHS.items():
        looks.setdefault(v, []).append(k)

    def mangle(w: str) -> str:
        r = rng.random()
        if r < 0.3:
            sep = rng.choice([" ", "-", ".", " - ", "_", "  ", "·", "*", "/", " . ", "\n"])
            return sep.join(leet.get(c, c) if rng.random() < 0.2 else c for c in w)
        if r < 0.6 and len(w) > 3:
            k = rng.randrange(1, len(w))
            return w[:k] + rng.choice([" ", "-", "_", ".", "  ", " -", "- ", "\n", "'"]) + w[k:]
        if r < 0.7:
            return "".join(rng.choice(looks[c]) if c in looks and rng.random() < 0.3 else c for c in w)
        if r < 0.8:
            return w.upper() if rng.random() < 0.5 else w.title()
        return w

    return [" ".join(mangle(rng.choice(words if rng.random() < 0.6 else plain)) for _ in range(rng.randrange(1, 8)))
            for _ in range(n)]


def test_merge_check_fuzz(scan, flagger):
    nlp = flagger.pipeline.nlp
    normalizer = nlp.get_pipe("turfwatch_normalizer")
    canon = normalizer.canonicalizer.canon
    check = scan.CompiledMergeCheck(normalizer, nlp.vocab)
    yes = 0
    for text in _fuzz_texts(normalizer, 3000, seed=7):
        doc = nlp.make_doc(text)
        words = [(t.text, canon(t.text), t.whitespace_ == " ") for t in doc]
        expected = bool([m for m in find_merges(words, normalizer._dispatch_join) if m[1] - m[0] > 1])
        assert check.may_merge(doc) == expected, repr(text)
        yes += expected
    assert 300 < yes < 2700


def test_lemma_forms_are_hashed_as_spacy_does(scan, flagger):
    """The ASCII screen hashes joined pieces with murmurhash64(seed 1), as spaCy's StringStore and Table do."""
    from spacy.strings import get_string_id, hash_string

    normalizer = flagger.pipeline.nlp.get_pipe("turfwatch_normalizer")
    table = normalizer.canonicalizer.lemma._table
    for word in ("reviews", "ratings", "testimonials", "because", "number"):
        assert get_string_id(word) in table or table.get(word) is None
        assert hash_string(word) == get_string_id(word) or word in spacy.symbols.IDS
    forms = set(scan._lemma_forms(normalizer))
    assert get_string_id("reviews") in forms  # "reviews" -> lemma "review", a merge word


def test_values_that_do_not_fit_raise(scan, flagger):
    g = flagger._gate
    fields = ("vocab_ids", "word_bits", "first_bits", "by_first", "always_bits", "derived", "combos", "rule_steps")
    ok = {f: getattr(g, f) for f in fields}
    scan.CompiledGate(SimpleNamespace(**ok))
    some_id = next(iter(g.word_bits))
    with pytest.raises(ValueError):
        scan.CompiledGate(SimpleNamespace(**{**ok, "word_bits": {**g.word_bits, some_id: 1 << 64}}))
    with pytest.raises(ValueError):
        scan.CompiledGate(SimpleNamespace(**{**ok, "rule_steps": g.rule_steps + [(1 << 64, [(1,)])]}))
    with pytest.raises(ValueError):
        scan.CompiledGate(SimpleNamespace(**{**ok, "combos": g.combos + [(1 << 70,)]}))
    guesser = SimpleNamespace(weight_table=lambda key: ({1: ((0, 1),)}, tuple(f"l{i}" for i in range(64)) + ("en",)))
    with pytest.raises(ValueError):
        scan.CompiledLanguage(guesser, lambda w: w)
    nlp = flagger.pipeline.nlp
    normalizer = nlp.get_pipe("turfwatch_normalizer")
    bad = SimpleNamespace(**{k: getattr(normalizer, k) for k in ("vocab_all", "merge_vocab", "canonicalizer", "_dispatch_join")},
                          attrs=[64] + list(normalizer.attrs[1:]))
    with pytest.raises(ValueError):
        scan.CompiledMergeCheck(bad, nlp.vocab)
    with pytest.raises(ValueError):  # flags belong to the pipeline's vocab
        scan.CompiledMergeCheck(normalizer, nlp.vocab).may_merge(spacy.blank("en")("r e v i e w s"))


# Several merges in one doc, each of find_merges' branches, runs at the doc's end (with and without a
# trailing separator), runs that fail and leave the position to the two-piece test, look-alike letters.
MERGE_TEXTS = [
    "buy r e v i e w s", "a r e v i e w", "a-r-e-v-i-e-w-s now", "a i r e v i e w s", "i r e v i e w s here",
    "t-r-u-s-t-p-i-l-o-t r e v i e w s", "a t r u s t p i l o t r e v i e w s", "5 s t a r r e v i e w s",
    "g o o g l e r e v i e w s and trust pilot re-views", "trust pilot trust pilot", "feed back re views",
    "r e v i e w s r e v i e w s", "x y z r e v i e w s", "a b c trust pilot", "r e v iews", "r eviews",
    "tr ust pilot", "r-e-v-i-e-w-s-", "write 5 star g 0 0 g l e", "on g-0-0-g-l-e", "ends with r.e.v.i.e.w.s",
    "r 3 v 1 3 w s x", "R 3 V ! E W S then trust_pilot", "rеvіеws frоm trust-pilot", "trust рilot r е v i е w s",
    "face book likes and insta gram fol lowers", "t r u s t p i l o t", "a. r. e. v. i. e. w. s.",
    "r e v i e w s\n\nt r u s t p i l o t", "re-\nviews and re - views and re-views", "r e v i e w s.",
    "a a a r e v i e w s", "i a r e v i e w", "s e t up with out non-drop", "f e e d b a c k feed back f-e-e-d",
]

# Expected merges of some of them (the premise: each of find_merges' branches occurs).
MERGE_EXPECTED = [
    ("a r e v i e w", [(1, 7, "review")]),  # the leading a/i case
    ("a-r-e-v-i-e-w-s now", [(2, 15, "reviews")]),  # ... with a separator after the "a"
    ("t-r-u-s-t-p-i-l-o-t r e v i e w s", [(0, 19, "trustpilot"), (19, 26, "reviews")]),  # a split run
    ("g o o g l e r e v i e w s and trust pilot re-views",
     [(0, 6, "google"), (6, 13, "reviews"), (14, 16, "trustpilot"), (16, 19, "reviews")]),
    ("r-e-v-i-e-w-s-", [(0, 11, "review")]),  # a run at the doc's end, its trailing separator left out
    ("x y z r e v i e w s", [(3, 10, "reviews")]),
    ("feed back re views", [(0, 2, "feedback"), (2, 4, "reviews")]),
]


def _python_merges(normalizer, doc):
    canon = normalizer.canonicalizer.canon
    words = [(t.text, canon(t.text), t.whitespace_ == " ") for t in doc]
    return [m for m in find_merges(words, normalizer._dispatch_join) if m[1] - m[0] > 1]


def _long_fuzz_texts(normalizer, n: int, seed: int) -> list[str]:
    """Several fuzzed phrases per doc, so that merges follow merges and runs meet runs."""
    rng = random.Random(seed)
    phrases = _fuzz_texts(normalizer, 4 * n, seed)
    return [rng.choice([" ", "  ", "\n", " - ", ". "]).join(rng.sample(phrases, rng.randrange(2, 9)))
            for _ in range(n)]


@pytest.mark.parametrize("text, expected", MERGE_EXPECTED)
def test_merges_hand_made(scan, flagger, text, expected):
    nlp = flagger.pipeline.nlp
    normalizer = nlp.get_pipe("turfwatch_normalizer")
    doc = nlp.make_doc(text)
    assert _python_merges(normalizer, doc) == expected  # the premise
    assert scan.CompiledMergeCheck(normalizer, nlp.vocab).merges(doc) == expected


def test_merges_are_find_merges(scan, flagger, texts):
    """merges(doc) is exactly the Python find_merges result (filtered as _merge does), in its order."""
    nlp = flagger.pipeline.nlp
    normalizer = nlp.get_pipe("turfwatch_normalizer")
    check = scan.CompiledMergeCheck(normalizer, nlp.vocab)
    seen = dict(docs=0, merged=0, several=0, runs=0, pieces=0)
    corpus = texts + MERGE_TEXTS + _fuzz_texts(normalizer, 3000, seed=7) + _long_fuzz_texts(normalizer, 1500, seed=11)
    for text in corpus:
        doc = nlp.make_doc(text)
        expected = _python_merges(normalizer, doc)
        got = check.merges(doc)
        assert got == expected, repr(text[:300])
        assert all(type(m) is tuple and type(m[0]) is int and type(m[1]) is int and type(m[2]) is str for m in got)
        assert check.merges(doc) == got  # from the caches, the same again
        assert check.may_merge(doc) == bool(got)
        assert check.merges_if_legacy(doc) == (got if check.legacy_check(doc) else [])
        seen["docs"] += 1
        seen["merged"] += bool(got)
        seen["several"] += len(got) > 1
        seen["runs"] += sum(all(len(t) == 1 for t in doc[s:e]) for s, e, _ in got)
        seen["pieces"] += sum(not all(len(t) == 1 for t in doc[s:e]) for s, e, _ in got)
    print(f"\nmerges over {seen}")
    assert seen["several"] > 300 and seen["runs"] > 300 and seen["pieces"] > 300


def _tokens_full(doc):
    return [(t.text, t.norm_, t.whitespace_, t.lex.flags) for t in doc]


@pytest.fixture(scope="module")
def python_nlp():
    """An all-Python pipeline with its own vocab: lexeme flags set there owe nothing to the compiled one."""
    pipeline = _build(load_rule_data(), compiled=False)
    assert pipeline.nlp.get_pipe("turfwatch_normalizer").compiled_merges is None
    return pipeline.nlp


def test_normalizer_output_is_the_same_with_compiled_merges(scan, flagger, texts, python_nlp, monkeypatch):
    """The Normalizer with compiled merges leaves every token (text, norm, whitespace, lexeme flags) as the
    Python Normalizer does: the same normalizer with compiled_merges off, and a separate all-Python pipeline."""
    nlp = flagger.pipeline.nlp
    normalizer = nlp.get_pipe("turfwatch_normalizer")
    assert normalizer.compiled_merges is not None
    python_normalizer = python_nlp.get_pipe("turfwatch_normalizer")
    norm_flags = normalizer.norm_flags
    assert [f for f, _ in norm_flags] == [f for f, _ in python_normalizer.norm_flags]

    def spoil(texts):
        # Merged tokens' lexemes get the flags of their canonical word from the merge, whatever they held.
        for t in texts:
            lex = nlp.vocab[t]
            for fid, _ in norm_flags:
                lex.set_flag(fid, not lex.check_flag(fid))

    merged = 0
    corpus = texts + MERGE_TEXTS + _fuzz_texts(normalizer, 1500, seed=3) + _long_fuzz_texts(normalizer, 500, seed=5)
    for text in corpus:
        made = python_nlp.make_doc(text)
        merges = python_normalizer._merges(made, python_normalizer.canonicalizer.canon)
        joined = [made[s:e].text for s, e, _ in merges]
        n_made = len(made)
        reference = _tokens_full(python_normalizer(made))
        spoil(joined)
        compiled_tokens = _tokens_full(nlp(text))
        assert compiled_tokens == reference, repr(text[:300])
        spoil(joined)
        with monkeypatch.context() as patched:
            patched.setattr(normalizer, "compiled_merges", None)
            assert _tokens_full(nlp(text)) == reference, repr(text[:300])
        merged += len(reference) != n_made
    assert merged > 1000


# ---- CompiledReader: language and gate in one pass ----

# Tokenizer exceptions give tokens a NORM of their own ("n't" -> "not", "gonna" -> "going"); merges give the
# merged token the canonical word as its NORM.
EXCEPTION_TEXTS = [
    "I can't write fake reviews, don't ask", "we're gonna post 5 star reviews cuz u pay", "'cause I ain't lyin'",
    "y'all wanna buy google reviews?", "I'm gonna leave reviews on trustpilot n' yelp", "lemme post ur reviews 'til sunday",
]


def _gate_words(flagger, n: int, seed: int) -> list[str]:
    """Texts made of the gate's own words (every label's, multi-word alternatives' pieces among them), the
    language guesser's words and a few others, so that labels, alternatives and languages meet at random."""
    rng = random.Random(seed)
    strings = flagger.pipeline.nlp.vocab.strings
    gate_words = sorted(strings[i] for i in flagger._gate.vocab_ids if i in strings)
    weights, _ = flagger._languages.weight_table(lambda w: w)
    lang_words = sorted(w for w in weights if isinstance(w, str))
    plain = "the a and for your with I will you buy get sell post real 5 star".split()
    out = []
    for _ in range(n):
        pool = rng.choice([gate_words, gate_words + lang_words, lang_words + plain])
        out.append(" ".join(rng.choice(pool) for _ in range(rng.randrange(0, 40))))
    return out


def _python_read(flagger, gate, doc):
    lower, norm = _arrays(doc)
    return flagger._language(lower), gate.rules_that_may_fire(set(norm))


def test_reader_is_guess_and_gate(scan, flagger, texts):
    nlp = flagger.pipeline.nlp
    normalizer = nlp.get_pipe("turfwatch_normalizer")
    language = scan.CompiledLanguage(flagger._languages, nlp.vocab.strings)
    gate = scan.CompiledGate(flagger._gate)
    reader = scan.CompiledReader(language, gate)
    assert reader.language is language and reader.gate is gate
    sub = Flagger(flagger.pipeline, flagger.rules[::3])
    sub_reader = scan.CompiledReader(language, scan.CompiledGate(sub._gate))
    corpus = (texts + EXCEPTION_TEXTS + MERGE_TEXTS + ["", " ", "\n\n"] + _fuzz_texts(normalizer, 1500, seed=13)
              + _long_fuzz_texts(normalizer, 300, seed=17) + _gate_words(flagger, 3000, seed=19))
    seen = dict(fired=0, languages=set(), own_norm=0, empty=0)
    for text, doc in zip(corpus, nlp.pipe(corpus)):
        expected = _python_read(flagger, flagger._gate, doc)
        got = reader.read(doc)
        assert got == expected, text[:300]
        assert type(got) is tuple and type(got[0]) is str and type(got[1]) is int
        assert sub_reader(doc) == _python_read(flagger, sub._gate, doc), text[:300]
        seen["fired"] += bool(expected[1])
        seen["languages"].add(expected[0])
        seen["own_norm"] += any(t.norm != t.lex.norm for t in doc)
        seen["empty"] += not len(doc)
    print(f"\nreader over {len(corpus)} docs: {seen}")
    assert 300 < seen["fired"] < len(corpus) - 300
    assert len(seen["languages"]) >= 4
    assert seen["own_norm"] > 100 and seen["empty"] >= 3


def test_reader_reads_the_tokens_norm(scan, flagger):
    """A token's own NORM (set by a merge, a tokenizer exception or by hand) is what the gate reads, whatever
    its lexeme's NORM; the guesser reads the lexeme's LOWER either way."""
    nlp = flagger.pipeline.nlp
    strings = nlp.vocab.strings
    reader = scan.CompiledReader(scan.CompiledLanguage(flagger._languages, strings), scan.CompiledGate(flagger._gate))
    gate_words = sorted(strings[i] for i in flagger._gate.vocab_ids if i in strings)
    rng = random.Random(23)
    changed = 0
    for text in ["buy 5 star google reviews now", "I will write reviews for your business on trustpilot",
                 "der die das und reviews", "fake reviews", "hello world"] * 20:
        doc = nlp(text)
        for t in doc:
            r = rng.random()
            if r < 0.3:
                t.norm_ = rng.choice(gate_words)  # a gate word on a token whose lexeme is another
            elif r < 0.5:
                t.norm_ = "zzqx"  # a word nobody knows on a token whose lexeme may be a gate word
            elif r < 0.6:
                t.norm_ = t.lex.norm_  # the same as its lexeme's, set on the token
        changed += any(t.norm != t.lex.norm for t in doc)
        assert reader.read(doc) == _python_read(flagger, flagger._gate, doc), [t.norm_ for t in doc]
        for t in doc:  # and back: the reader keeps nothing from one doc to the next
            t.norm_ = t.lex.norm_
        assert reader.read(doc) == _python_read(flagger, flagger._gate, doc)
    assert changed > 50


def test_reader_takes_only_compiled_parts(scan, flagger):
    strings = flagger.pipeline.nlp.vocab.strings
    language = scan.CompiledLanguage(flagger._languages, strings)
    gate = scan.CompiledGate(flagger._gate)
    with pytest.raises(TypeError):
        scan.CompiledReader(gate, language)
    with pytest.raises(TypeError):
        scan.CompiledReader(None, gate)


def test_pair_map(scan):
    """The open-addressed cache of the merge check's two-piece joins: every pair found with its value, no other
    pair found; past its limit the cache forgets, never misleads."""
    rng = random.Random(29)
    pool = [rng.getrandbits(64) for _ in range(60)] + list(range(40))
    pairs = [(rng.choice(pool), rng.choice(pool)) for _ in range(20000)]
    first = {}
    for v, p in enumerate(pairs):
        first.setdefault(p, v)
    before, after = scan._maps_selftest(pairs, 1 << 30)
    assert before == [first[p] if first[p] < v else -1 for v, p in enumerate(pairs)]
    assert after == [first[p] for p in pairs] + [first.get((b, a), -1) for a, b in pairs]
    # A small limit: the cache is cleared now and then, and what it answers is still right.
    before, after = scan._maps_selftest(pairs, 100)
    assert all(x == -1 or pairs[x] == pairs[v] for v, x in enumerate(before))
    asked = pairs + [(b, a) for a, b in pairs]
    assert all(x == -1 or pairs[x] == asked[v] for v, x in enumerate(after))
    assert before.count(-1) > len(first) + 1000 and sum(x >= 0 for x in before) > 1000
