"""The compiled lexicon look-up (crawler/flagging/_cues.pyx) returns exactly what CueMatcher's two
PhraseMatchers return.

CompiledPhrases searches its own tries, copied from the PhraseMatchers' tries; here its `find(doc,
labels)` is compared with the PhraseMatchers' own answer, filtered by label as the Python branch of
CueMatcher.find does: same tuples, same order (NORM matches, then LOWER matches, each in spaCy's
order, including the order of several cue names sharing one phrase). On the engine corpus with and
without label subsets, on hand-made docs (prefixes, overlaps, shared phrases, doc ends, empty and
one-token docs, token-level norms, merged tokens, long docs) and on seeded random phrases and docs.
CI builds the extension: a missing build fails here.
"""
from __future__ import annotations

import random

import pytest
import spacy
from spacy.tokens import Doc

from crawler.flagging import _cues
from crawler.flagging._cues import CompiledPhrases
from crawler.flagging.flagger import FIELD_SEPARATOR, get_flagger, listing_fields
from crawler.flagging.pipeline import CueMatcher
from crawler.flagging.rules import cue_label
from tests.engine_corpus import engine_corpus


def reference(cm: CueMatcher, doc: Doc, labels=None) -> list[tuple[str, int, int]]:
    """The PhraseMatchers' answer, as the Python branch of CueMatcher.find computes it."""
    strings = doc.vocab.strings
    found = [(strings[mid], s, e) for mid, s, e in cm.by_norm(doc)]
    found += [(strings[mid], s, e) for mid, s, e in cm.by_lower(doc)]
    if labels is not None:
        found = [c for c in found if cue_label(c[0]) in labels]
    return found


def label_sets(cm: CueMatcher, rng: random.Random) -> list:
    labels = sorted({cue_label(n) for n in cm.phrase_names})
    out = [None, frozenset(), frozenset(labels), frozenset({"no such label"})]
    out += [frozenset({label}) for label in labels]
    out += [frozenset(rng.sample(labels, rng.randint(1, len(labels)))) for _ in range(6)]
    return out


def check(cm: CueMatcher, doc: Doc, rng: random.Random, compiled: CompiledPhrases | None = None) -> int:
    compiled = compiled or cm._phrases
    for labels in label_sets(cm, rng):
        assert compiled.find(doc, labels) == reference(cm, doc, labels), (doc.text, labels)
    assert compiled.find(doc) == reference(cm, doc)
    return len(reference(cm, doc))


def test_built_for_this_spacy():
    assert _cues.BUILT_WITH_SPACY == spacy.__version__


# --- the real lexicons on the engine corpus ------------------------------------------------------


@pytest.fixture(scope="module")
def real():
    flagger = get_flagger()
    cm = flagger.pipeline.cues
    assert isinstance(cm._phrases, CompiledPhrases)  # the flagger runs the compiled look-up
    texts = [FIELD_SEPARATOR.join(t for _, t in listing_fields(listing)) for listing in engine_corpus()]
    docs = list(flagger.pipeline.nlp.pipe(texts))
    return flagger, cm, docs


def test_corpus_all_cues(real):
    _, cm, docs = real
    fresh = CompiledPhrases(cm.by_norm, cm.by_lower, cm.phrase_names)
    found = shared = lower = 0
    for i, doc in enumerate(docs):
        expected = reference(cm, doc)
        assert cm._phrases.find(doc) == expected, i
        assert cm._phrases.find(doc, None) == expected, i
        assert fresh.find(doc) == expected, i
        found += len(expected)
        spans = [(s, e) for _, s, e in expected]
        shared += len(spans) - len(set(spans))
        lower += len(cm.by_lower(doc))
    # The corpus exercises the lexicons, both matchers, and phrases under several cue names.
    assert found > 10000 and shared > 100 and lower > 100


def test_corpus_label_subsets(real):
    _, cm, docs = real
    rng = random.Random(20240611)
    subsets = label_sets(cm, rng)
    assert len(subsets) > 8
    for i, doc in enumerate(docs):
        for labels in subsets:
            assert cm._phrases.find(doc, labels) == reference(cm, doc, labels), (i, labels)


def test_corpus_the_flaggers_own_label_sets(real):
    flagger, cm, docs = real
    checked = 0
    for i, doc in enumerate(docs):
        may_fire = flagger._read(doc)[1]
        if may_fire:
            labels = flagger._plan(may_fire)[1]
            assert cm._phrases.find(doc, labels) == reference(cm, doc, labels), i
            # an equal set that is another object gets the same answer
            assert cm._phrases.find(doc, frozenset(labels)) == reference(cm, doc, labels), i
            checked += 1
    assert checked > 1000


def test_empty_and_one_token_docs_with_real_lexicons(real):
    _, cm, _ = real
    nlp = get_flagger().pipeline.nlp
    rng = random.Random(5)
    for text in ["", " ", "reviews", "5", "google", "\n\n", "trustpilot reviews", "Trustpilot"]:
        check(cm, nlp(text), rng)
    assert cm._phrases.find(Doc(nlp.vocab, words=[])) == []


# --- hand-made phrases ----------------------------------------------------------------------------

NORM_PHRASES = {
    "five": [("five",)],
    "five_star": [("five", "star")],  # a prefix of the next, and "five" a prefix of it
    "five_star_reviews": [("five", "star", "review"), ("5", "star", "review")],
    "buy_reviews": [("buy", "review")],  # overlaps "review fast" in "buy review fast"
    "reviews_fast": [("review", "fast")],
    "stars_high": [("five", "star")],  # the same phrase as five_star: one terminal, two cue names
    "platform:google": [("google",), ("google", "review")],
    "platform:trustpilot": [("trustpilot",)],
    "merged": [("fivestar",)],
    "ending": [("at", "the", "end")],
}
SHARED = [f"shared{i}" for i in range(10)]  # ten cue names on one phrase
NORM_PHRASES.update({name: [("shared", "phrase")] for name in SHARED})
LOWER_PHRASES = {
    "platform:gmaps": [("google", "maps")],
    "lower_five": [("five",), ("five", "star")],  # LOWER matches come after all NORM matches
}

HAND_TEXTS = [
    "five",
    "five star",
    "Five Star reviews",
    "5 star review and five star review and five stars",
    "buy review fast",
    "buy reviews fast buy review",
    "google review google Google Maps google maps",
    "trustpilot five trustpilot",
    "shared phrase",
    "a shared phrase and another shared phrase",
    "here it is at the end",
    "at the",
    "the end at the end at",
    "nothing to see here",
    "five five five star star review",
]


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("en")


@pytest.fixture(scope="module")
def hand(nlp):
    return CueMatcher(nlp.vocab, NORM_PHRASES, LOWER_PHRASES, {}, compiled=True)


def test_hand_made_phrases(nlp, hand):
    assert isinstance(hand._phrases, CompiledPhrases)
    python = CueMatcher(nlp.vocab, NORM_PHRASES, LOWER_PHRASES, {}, compiled=False)
    assert python._phrases is None
    rng = random.Random(7)
    total = 0
    for text in HAND_TEXTS:
        doc = nlp(text)
        total += check(hand, doc, rng)
        for labels in label_sets(hand, rng):
            assert hand.find(doc, labels) == python.find(doc, labels), (text, labels)
    assert total > 60


def test_prefixes_and_overlaps(nlp, hand):
    found = hand._phrases.find(nlp("buy five star review fast"))
    assert found == reference(hand, nlp("buy five star review fast"))
    spans = {(name, s, e) for name, s, e in found}
    assert {("five", 1, 2), ("five_star", 1, 3), ("stars_high", 1, 3), ("five_star_reviews", 1, 4),
            ("reviews_fast", 3, 5), ("lower_five", 1, 2), ("lower_five", 1, 3)} <= spans
    # ascending start, then ascending end, NORM before LOWER
    norm_part = [c for c in found if c[0] != "lower_five"]
    assert [c[1:] for c in norm_part] == sorted(c[1:] for c in norm_part)
    assert found[-2:] == [("lower_five", 1, 2), ("lower_five", 1, 3)]


def test_cue_names_sharing_a_phrase_come_in_spacys_order(nlp, hand):
    # Cue names on one phrase share the PhraseMatcher's terminal map; find_matches yields them in
    # that preshed map's slot order, not in the order they were added.
    doc = nlp("a shared phrase")
    spacy_order = [name for name, _, _ in reference(hand, doc)]
    assert sorted(spacy_order) == sorted(SHARED)
    assert spacy_order != SHARED  # so the test tells the two orders apart
    assert [name for name, _, _ in hand._phrases.find(doc)] == spacy_order
    doc = nlp("five star")
    assert [c for c in hand._phrases.find(doc) if c[1:] == (0, 2)] == [
        c for c in reference(hand, doc) if c[1:] == (0, 2)]


def test_phrase_at_the_end_of_the_doc(nlp, hand):
    for text in ["at the end", "it is at the end", "five star", "x google", "google maps"]:
        doc = nlp(text)
        expected = reference(hand, doc)
        assert expected and expected[-1][2] == len(doc)
        assert hand._phrases.find(doc) == expected


def test_empty_and_one_token_docs(nlp, hand):
    rng = random.Random(3)
    assert hand._phrases.find(Doc(nlp.vocab, words=[])) == []
    assert hand._phrases.find(nlp("")) == []
    for word in ["five", "Five", "google", "star", "shared", "trustpilot", "zzz", "5", "."]:
        check(hand, Doc(nlp.vocab, words=[word]), rng)


def test_token_level_norms(nlp, hand):
    rng = random.Random(11)
    doc = nlp("fiv str review fast google")
    doc[0].norm_ = "five"  # the token's own NORM makes the phrase
    doc[1].norm_ = "star"
    doc[4].norm_ = "not google"  # and hides the lexeme's
    found = hand._phrases.find(doc)
    assert ("five_star_reviews", 0, 3) in found and not any(c[0] == "platform:google" for c in found)
    assert not any(c[0] == "lower_five" for c in found)  # LOWER reads the lexeme
    check(hand, doc, rng)


def test_merged_tokens(nlp, hand):
    rng = random.Random(13)
    doc = nlp("buy five star review and five star now google maps")
    with doc.retokenize() as retok:
        retok.merge(doc[5:7], attrs={"NORM": "fivestar"})
        retok.merge(doc[8:10])
    assert doc[5].norm_ == "fivestar" and doc[7].text == "google maps"
    found = hand._phrases.find(doc)
    assert ("merged", 5, 6) in found
    check(hand, doc, rng)


def test_long_docs(nlp, hand):
    # Docs longer than the C-stack scratch (512 tokens) use the heap.
    rng = random.Random(17)
    words = ["five", "star", "review", "fast", "buy", "google", "maps", "shared", "phrase", "x", "at", "the",
             "end", "Five", "Google"]
    for n in (511, 512, 513, 2000):
        doc = Doc(nlp.vocab, words=[rng.choice(words) for _ in range(n - 3)] + ["at", "the", "end"])
        assert check(hand, doc, rng) > 100
        assert ("ending", n - 3, n) in hand._phrases.find(doc)


def test_many_label_objects(nlp, hand):
    # The label masks are cached by the labels object; past the cache's size it starts over.
    doc = nlp("buy five star review fast google maps shared phrase")
    labels = sorted({cue_label(n) for n in hand.phrase_names})
    rng = random.Random(19)
    for k in range(5000):
        subset = frozenset(rng.sample(labels, k % len(labels)))
        assert hand._phrases.find(doc, subset) == reference(hand, doc, subset)


def test_no_phrases(nlp):
    cm = CueMatcher(nlp.vocab, {}, {}, {}, compiled=True)
    doc = nlp("buy a review")
    assert cm._phrases.find(doc) == reference(cm, doc) == []
    assert cm._phrases.find(doc, frozenset({"x"})) == []


# --- seeded random phrases over random docs ---------------------------------------------------------

ALPHABET = ["a", "b", "c", "d", "A", "B", "e", "f"]


@pytest.mark.parametrize("seed", range(12))
def test_random_phrases_and_docs(seed):
    rng = random.Random(seed)
    nlp = spacy.blank("en")
    names = [f"c{i}" for i in range(rng.randint(1, 12))] + [f"platform:p{i}" for i in range(rng.randint(0, 4))]
    norm_phrases: dict[str, list[tuple[str, ...]]] = {}
    lower_phrases: dict[str, list[tuple[str, ...]]] = {}
    for name in names:
        target = norm_phrases if rng.random() < 0.7 else lower_phrases
        target[name] = [tuple(rng.choice("abcd") for _ in range(rng.randint(1, 4)))
                        for _ in range(rng.randint(1, 5))]
    cm = CueMatcher(nlp.vocab, norm_phrases, lower_phrases, {}, compiled=True)
    for _ in range(40):
        doc = Doc(nlp.vocab, words=[rng.choice(ALPHABET) for _ in range(rng.randint(0, 40))])
        for token in doc:
            if rng.random() < 0.1:
                token.norm_ = rng.choice("abcdz")
        check(cm, doc, rng)
