"""The compiled SeqMatcher (crawler/flagging/_seq.pyx) returns exactly what the Python SeqMatcher returns.

Same tuples in the same order, on the engine corpus with and without label subsets, on hand-made
patterns (quantifiers, negated flags, ORTH tests, token-level NORMs, empty and one-token docs) and on
seeded random patterns over random docs. CI builds the extension: a missing build fails here.
"""
from __future__ import annotations

import random

import pytest
import spacy
from spacy.tokens import Doc

from crawler.flagging import _seq
from crawler.flagging._seq import CompiledSeqMatcher
from crawler.flagging.flagger import FIELD_SEPARATOR, get_flagger, listing_fields
from crawler.flagging.pipeline import SeqMatcher
from tests.engine_corpus import engine_corpus


def test_built_for_this_spacy():
    assert _seq.BUILT_WITH_SPACY == spacy.__version__


# --- the real patterns on the engine corpus ---------------------------------------------------


@pytest.fixture(scope="module")
def real():
    flagger = get_flagger()
    seq = flagger.pipeline.cues.matcher  # the compiled one where the flagger runs the compiled engine
    if isinstance(seq, CompiledSeqMatcher):
        seq = seq.seq_matcher
    assert isinstance(seq, SeqMatcher)
    texts = [FIELD_SEPARATOR.join(t for _, t in listing_fields(listing)) for listing in engine_corpus()]
    docs = list(flagger.pipeline.nlp.pipe(texts))
    return seq, CompiledSeqMatcher(seq), docs


def test_corpus_all_patterns(real):
    seq, compiled, docs = real
    found = 0
    for i, doc in enumerate(docs):
        expected = seq(doc)
        assert compiled(doc) == expected, i
        assert compiled(doc, None) == expected, i
        found += len(expected)
    assert found > 1000  # the corpus exercises the patterns


def test_corpus_label_subsets(real):
    seq, compiled, docs = real
    labels = sorted({label for *_, label in seq.patterns})
    assert "platform" in labels and len(labels) > 5
    rng = random.Random(20240501)
    subsets = [frozenset(), frozenset(labels), frozenset({"no such label"})]
    subsets += [frozenset({label}) for label in labels]
    subsets += [frozenset(rng.sample(labels, rng.randint(1, len(labels)))) for _ in range(8)]
    for i, doc in enumerate(docs):
        for subset in subsets:
            assert compiled(doc, subset) == seq(doc, subset), (i, sorted(subset))
    # labels may be any container, as for SeqMatcher
    for doc in docs[:200]:
        assert compiled(doc, ["platform", "stars_high"]) == seq(doc, ["platform", "stars_high"])
        assert compiled(doc, {"review_count"}) == seq(doc, {"review_count"})


def test_empty_and_one_token_docs_with_real_patterns(real):
    seq, compiled, _ = real
    nlp = get_flagger().pipeline.nlp
    for text in ["", " ", "reviews", "5", "google", "\n\n", "trustpilot reviews"]:
        doc = nlp(text)
        assert compiled(doc) == seq(doc)
        assert compiled(doc, frozenset({"platform"})) == seq(doc, frozenset({"platform"}))


# --- hand-made patterns --------------------------------------------------------------------------

LETTERS = frozenset("ab")  # FLAG20
MARKS = frozenset({"!", "?", "x"})  # FLAG21


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("en")
    nlp.vocab.add_flag(lambda t: t in LETTERS, flag_id=20)
    nlp.vocab.add_flag(lambda t: t in MARKS, flag_id=21)
    return nlp


HAND_PATTERNS = {
    "gap03": [[{"NORM": "buy"}, {"OP": "{0,3}"}, {"NORM": "review"}]],
    "opt": [[{"ORTH": "5"}, {"NORM": "star", "OP": "?"}, {"FLAG20": True}]],
    "plus": [[{"FLAG20": True, "OP": "+"}, {"LIKE_NUM": True}]],
    "star": [[{"NORM": "buy"}, {"OP": "*"}]],
    "tail_star": [[{"NORM": "buy"}, {"FLAG20": True, "OP": "*"}, {"FLAG21": True, "OP": "*"}]],
    "neg": [[{"LIKE_NUM": True}, {"FLAG21": False, "OP": "{0,3}"}, {"FLAG21": True}],
            [{"FLAG21": False}, {"FLAG20": False, "LIKE_NUM": False, "OP": "+"}, {"ORTH": "!"}]],
    "dup": [[{"NORM": "buy"}, {"OP": "?"}], [{"NORM": "buy"}, {"OP": "{0,1}"}], [{"NORM": "buy"}, {"OP": "{,2}"}]],
    "two_tests": [[{"NORM": "review", "ORTH": "Review"}, {"OP": "{2,}"}, {"ORTH": "x", "OP": "+"}]],
    "orth": [[{"ORTH": "Maps"}], [{"ORTH": "x", "OP": "{2,4}"}]],
    "platform:google": [[{"NORM": "google"}, {"ORTH": "Maps", "OP": "?"}]],
    "platform:tp": [[{"NORM": "trustpilot"}, {"NORM": "review", "OP": "*"}]],
    "zero": [[{"NORM": "buy"}, {"NORM": "review", "OP": "{0,0}"}, {"FLAG20": True}]],
}

HAND_TEXTS = [
    "",
    "buy",
    "x",
    "5",
    "buy review",
    "buy a b review",
    "buy a b c review",
    "buy a b c d review",
    "5 star a 5 a 5 b",
    "a b a 7 b 8 a a a 12",
    "buy a b ! ? x x buy b",
    "7 ! 8 x x 9 ? ? ? ? !",
    "hello there ! a b 5 !",
    "Review review Review x x x x review Review a b x",
    "google Maps google maps Google Maps",
    "trustpilot review review review trustpilot",
    " ".join(["w"] * 6 + ["buy"] + ["a"] * 30 + ["x"] * 20),  # ends that do not iterate in ascending order
    " ".join(["buy", "a"] * 25),
]


def _label_sets(patterns, rng):
    labels = sorted({label for *_, label in patterns})
    out = [None, frozenset(), frozenset(labels)] + [frozenset({label}) for label in labels]
    out += [frozenset(rng.sample(labels, rng.randint(1, len(labels)))) for _ in range(4)]
    return out


def _check(seq, compiled, doc, rng):
    for labels in _label_sets(seq.patterns, rng):
        assert compiled(doc, labels) == seq(doc, labels), (doc.text, labels)


def test_hand_made_patterns(nlp):
    seq = SeqMatcher(nlp.vocab, HAND_PATTERNS)
    compiled = CompiledSeqMatcher(seq)
    rng = random.Random(7)
    total = 0
    for text in HAND_TEXTS:
        doc = nlp(text)
        _check(seq, compiled, doc, rng)
        total += len(seq(doc))
    assert total > 100
    assert compiled(Doc(nlp.vocab, words=[])) == [] == seq(Doc(nlp.vocab, words=[]))


def test_ends_of_one_start_come_out_ascending(nlp):
    # Where a start has several ends (list({7, 8}) == [8, 7] in a set), both matchers give them ascending.
    seq = SeqMatcher(nlp.vocab, {"dup": HAND_PATTERNS["dup"], "star": HAND_PATTERNS["star"]})
    compiled = CompiledSeqMatcher(seq)
    several = 0
    for k in range(40):
        doc = nlp(" ".join(["w"] * k + ["buy"] + ["a"] * (k % 13) + ["!"] * (40 - k)))
        found = seq(doc)
        assert compiled(doc) == found, k
        for name in {m[0] for m in found}:
            for start in {m[1] for m in found if m[0] == name}:
                ends = [e for n, s, e in found if n == name and s == start]
                assert ends == sorted(ends)
                several += len(ends) > 1
    assert several


def test_token_level_norms(nlp):
    # NORM is the token's own NORM when it has one (merged tokens get one), else the lexeme's.
    seq = SeqMatcher(nlp.vocab, HAND_PATTERNS)
    compiled = CompiledSeqMatcher(seq)
    rng = random.Random(11)
    doc = nlp("bye a b review g o o g l e Maps")
    doc[0].norm_ = "buy"
    doc[3].norm_ = "star"
    _check(seq, compiled, doc, rng)
    with doc.retokenize() as retok:
        retok.merge(doc[4:10], attrs={"NORM": "google"})
    assert doc[4].norm_ == "google"
    assert any(name == "platform:google" for name, _, _ in seq(doc))
    _check(seq, compiled, doc, rng)


def test_one_token_docs(nlp):
    seq = SeqMatcher(nlp.vocab, HAND_PATTERNS)
    compiled = CompiledSeqMatcher(seq)
    rng = random.Random(3)
    for word in ["buy", "a", "x", "5", "!", "Maps", "google", "review", "zzz"]:
        doc = Doc(nlp.vocab, words=[word])
        _check(seq, compiled, doc, rng)


def test_no_patterns(nlp):
    seq = SeqMatcher(nlp.vocab, {})
    compiled = CompiledSeqMatcher(seq)
    doc = nlp("buy a review")
    assert compiled(doc) == seq(doc) == []
    assert compiled(doc, frozenset({"x"})) == []


# --- seeded random patterns over random docs ---------------------------------------------------

WORDS = ["buy", "review", "Review", "a", "b", "x", "!", "?", "5", "12", "star", "google", "Maps", "w", "the"]
OPS = [None, None, None, "?", "+", "*", "{0,3}", "{1,2}", "{2,}", "{,2}", "{0,1}", "{3,5}"]


def _random_test(rng):
    roll = rng.random()
    if roll < 0.35:
        return {rng.choice(["FLAG20", "FLAG21", "LIKE_NUM"]): rng.random() < 0.7}
    if roll < 0.7:
        return {"NORM": rng.choice(WORDS).lower()}
    if roll < 0.9:
        return {"ORTH": rng.choice(WORDS)}
    return {}


def _random_pattern(rng):
    pattern = []
    for k in range(rng.randint(1, 4)):
        tok = {}
        for _ in range(rng.choice([1, 1, 1, 2]) if k == 0 else rng.choice([0, 1, 1, 1, 2])):
            tok.update(_random_test(rng))
        if k == 0 and not tok:
            tok = _random_test(rng) or {"NORM": "buy"}
        op = rng.choice([None, None, "+", "{1,3}", "{2,}"]) if k == 0 else rng.choice(OPS)
        if op:
            tok["OP"] = op
        pattern.append(tok)
    return pattern


def test_random_patterns_and_docs(nlp):
    rng = random.Random(1234)
    for round_ in range(12):
        patterns = {}
        for k in range(rng.randint(3, 25)):
            name = rng.choice([f"cue{k}", f"platform:p{k}", "shared"])
            patterns.setdefault(name, []).append(_random_pattern(rng))
        seq = SeqMatcher(nlp.vocab, patterns)
        compiled = CompiledSeqMatcher(seq)
        for _ in range(60):
            words = [rng.choice(WORDS) for _ in range(rng.choice([0, 1, 2, 5, 12, 30, 70]))]
            doc = Doc(nlp.vocab, words=words)
            for i in rng.sample(range(len(doc)), min(len(doc), 2)):
                doc[i].norm_ = rng.choice(WORDS).lower()
            _check(seq, compiled, doc, rng)


# --- what the compiled matcher's indexing and per-doc structures add -----------------------------
# Patterns are tried by an index (one needed id or flag bit each, or always), per-doc token bitsets
# span several 64-bit words in long docs, the per-call scratch moves to the heap past ~150 tokens,
# label masks are cached per `labels` object, and a large id table falls back to probing.


def _compare(seq, compiled, docs, label_sets):
    for doc in docs:
        for labels in label_sets:
            assert compiled(doc, labels) == seq(doc, labels), (doc.text[:60], labels)


def test_patterns_needing_nothing_are_always_tried(nlp):
    # no needed id or flag bit (negated tests, empty tests after the first): indexed as "always"
    patterns = {
        "negonly": [[{"FLAG20": False}, {"FLAG21": False, "OP": "{1,2}"}]],
        "neg_then_any": [[{"LIKE_NUM": False}, {"OP": "{0,3}"}, {"FLAG21": False}]],
        "platform:neg": [[{"FLAG21": False, "FLAG20": False}, {"NORM": "buy", "OP": "?"}]],
        "buy": [[{"NORM": "buy"}, {"FLAG20": True, "OP": "*"}]],
    }
    seq = SeqMatcher(nlp.vocab, patterns)
    assert any(not need_bits and not need_ids for _, _, _, need_bits, need_ids, _ in seq.patterns)
    compiled = CompiledSeqMatcher(seq)
    docs = [nlp(t) for t in HAND_TEXTS] + [Doc(nlp.vocab, words=w) for w in (["!"], ["a"], ["x", "!", "?"])]
    _compare(seq, compiled, docs, [None, frozenset(), frozenset({"negonly"}), frozenset({"platform"}),
                                   frozenset({"buy", "neg_then_any"}), {"negonly", "buy"}, ["platform"]])


def test_an_empty_first_spec_fails_as_in_seqmatcher(nlp):
    # SeqMatcher's _starts reads tests[0]: a pattern that reaches it with no first test raises IndexError
    seq = SeqMatcher(nlp.vocab, {"buy": [[{"NORM": "buy"}]], "odd": [[{}, {"NORM": "review"}]]})
    compiled = CompiledSeqMatcher(seq)
    for text in ["buy a b", "review", "buy review"]:
        doc = nlp(text)
        for labels in (frozenset({"buy"}), None, frozenset({"odd"})):
            try:
                expected = seq(doc, labels)
            except IndexError:
                with pytest.raises(IndexError):
                    compiled(doc, labels)
            else:
                assert compiled(doc, labels) == expected, (text, labels)
    with pytest.raises(IndexError):
        seq(nlp("review"))
    assert compiled(nlp("review"), frozenset({"buy"})) == seq(nlp("review"), frozenset({"buy"})) == []


def test_labels_as_any_container_and_many_objects(real):
    # a mask per frozenset object (found by address, computed once per value), any other container asked
    # label by label; more objects than the cache keeps makes it start over
    seq, compiled, docs = real
    labels = sorted({label for *_, label in seq.patterns})
    rng = random.Random(99)
    some = docs[:: max(1, len(docs) // 60)]
    for round_ in range(3):
        objects = [frozenset(rng.sample(labels, rng.randint(0, len(labels)))) for _ in range(700)]
        for k, doc in enumerate(some):
            for subset in objects[k::len(some)][:12]:
                expected = seq(doc, subset)
                assert compiled(doc, subset) == expected
                assert compiled(doc, frozenset(subset)) == expected  # an equal, other object
                assert compiled(doc, set(subset)) == expected
                assert compiled(doc, sorted(subset)) == expected


def test_long_docs(nlp):
    # multi-word bitsets (spans of 63 tokens or more too), starts near the word edges, heap scratch
    patterns = dict(HAND_PATTERNS)
    patterns["long_gap"] = [[{"NORM": "buy"}, {"OP": "{0,80}"}, {"ORTH": "x"}],
                            [{"FLAG20": True}, {"FLAG21": False, "OP": "{60,70}"}, {"ORTH": "!"}]]
    patterns["run"] = [[{"FLAG20": True, "OP": "{2,}"}, {"ORTH": "!"}]]
    seq = SeqMatcher(nlp.vocab, patterns)
    compiled = CompiledSeqMatcher(seq)
    rng = random.Random(2024)
    for size in (63, 64, 65, 127, 128, 129, 200, 450, 1300):
        for _ in range(3):
            words = [rng.choice(WORDS + ["a", "a", "b", "x"]) for _ in range(size)]
            doc = Doc(nlp.vocab, words=words)
            _check(seq, compiled, doc, rng)
    doc = Doc(nlp.vocab, words=["a"] * 300 + ["!"])  # one long run: many ends
    _check(seq, compiled, doc, rng)


def test_many_ids_use_a_probing_table(nlp):
    # too many ids for a collision-free multiplier within the largest table tried: linear probing
    words = [f"word{i}" for i in range(2500)]
    patterns = {f"cue{i % 40}": [] for i in range(40)}
    for i, word in enumerate(words):
        patterns[f"cue{i % 40}"].append([{"NORM": word}, {"NORM": words[(i * 7) % len(words)], "OP": "?"}])
    seq = SeqMatcher(nlp.vocab, patterns)
    compiled = CompiledSeqMatcher(seq)
    assert not compiled.perfect
    assert CompiledSeqMatcher(SeqMatcher(nlp.vocab, HAND_PATTERNS)).perfect
    rng = random.Random(5)
    for _ in range(30):
        doc = Doc(nlp.vocab, words=[rng.choice(words[:300] + WORDS) for _ in range(rng.choice([5, 40, 150]))])
        _check(seq, compiled, doc, rng)


def test_pattern_tuples_beyond_what_seqmatcher_builds(nlp):
    # SeqMatcher's tuples made by hand: a flag test of two bits, NORM and ORTH tests wanted False
    seq = SeqMatcher(nlp.vocab, HAND_PATTERNS)
    strings = nlp.vocab.strings
    two_bits = (1 << 20) | (1 << 21)
    extra = [
        ((0, two_bits, True), (1, strings.add("buy"), False)),
        ((2, strings.add("x"), False), (0, two_bits, False)),
        ((0, two_bits, True),),
    ]
    for k, first in enumerate(extra):
        # [first] [FLAG20]{1,3} [the next one's first]{0,2}
        specs = ((first, 1, 1), (((0, 1 << 20, True),), 1, 3), (extra[(k + 1) % len(extra)], 0, 2))
        name = f"hand{k}"
        seq.patterns.append((strings.add(name), name, specs, 0, frozenset(), name))
    compiled = CompiledSeqMatcher(seq)
    rng = random.Random(17)
    for text in HAND_TEXTS:
        _check(seq, compiled, nlp(text), rng)
    for _ in range(40):
        doc = Doc(nlp.vocab, words=[rng.choice(WORDS) for _ in range(rng.choice([3, 20, 90]))])
        _check(seq, compiled, doc, rng)


def test_docs_from_another_vocab(nlp):
    # SeqMatcher reads the flags from its own vocab; so does the compiled matcher for a foreign doc
    other = spacy.blank("en")
    other.vocab.add_flag(lambda t: t in LETTERS, flag_id=20)
    other.vocab.add_flag(lambda t: t in {"!"}, flag_id=21)  # not MARKS: its flags differ from nlp's
    seq = SeqMatcher(nlp.vocab, HAND_PATTERNS)
    compiled = CompiledSeqMatcher(seq)
    rng = random.Random(8)
    for text in HAND_TEXTS:
        _check(seq, compiled, other(text), rng)
