"""_scan.apply_merges against spaCy's retokenizer (the Python Normalizer._apply): the same Doc, bit for bit.

Each doc is tokenized twice; one copy is merged by _apply, the other by apply_merges, and everything a caller
can read is compared: to_bytes, every array to_array gives, each token's struct fields as Token exposes them
(idx, whitespace, lexeme, head, kids, edges, sentence start), the merged lexemes' 64 flags and norm. The two
run in one vocab, so between them the norm flags of the merged lexemes are flipped ("spoiled"): the second
must set them again; which runs first alternates, so that each creates the merged lexemes in turn.
"""
from __future__ import annotations

import numpy
import pytest
from spacy.attrs import IDS
from spacy.tokens import Doc, SpanGroup

from crawler.flagging.flagger import FIELD_SEPARATOR, get_flagger, listing_fields
from tests.engine_corpus import compiled_part, engine_corpus
from tests.test_compiled_scan import HAND_MADE, MERGE_TEXTS, _fuzz_texts, _long_fuzz_texts

# Merges at the start and at the end (with and without trailing whitespace), adjacent, of 2 and of many tokens.
EDGE_TEXTS = [
    "r e v i e w s", "r e v i e w s ", "trust pilot", "trust pilot ", "feed back", "buy feed back",
    "feed back now", "r e v i e w sfeed back", "trust pilot trust pilot feed back", "feed backtrust pilot",
    "t r u s t p i l o t r e v i e w s", "r-e-v-i-e-w-s-", "x r e v i e w s\n", "re-views!", "a r e v i e w",
    "g o o g l e r e v i e w s and trust pilot re-views", "feed back re views", "r e v i e w s.",
]


@pytest.fixture(scope="module")
def scan():
    return compiled_part("_scan")


@pytest.fixture(scope="module")
def nlp():
    return get_flagger().pipeline.nlp


def _array_attrs(nlp):
    doc = nlp.make_doc("a b")
    ok = []
    for name, attr in sorted(IDS.items(), key=lambda kv: kv[1]):
        try:
            doc.to_array([attr])
        except Exception:  # noqa: BLE001  (flags and others to_array does not take)
            continue
        ok.append(attr)
    assert len(ok) > 20
    return ok


def _state(doc: Doc, attrs, scan, n_made: int) -> dict:
    vocab = doc.vocab
    return dict(
        structs=scan.token_structs(doc, n_made),  # every TokenC field, lexeme pointers, the zeroed tail
        bytes=doc.to_bytes(),
        arrays=doc.to_array(attrs).tolist(),
        text=doc.text, n=len(doc),
        tokens=[(t.i, t.idx, t.text, t.whitespace_, t.text_with_ws, t.orth, t.lex.orth, t.lex_id, t.norm, t.norm_,
                 t.lemma, t.head.i, t.n_lefts, t.n_rights, t.is_sent_start,
                 t.ent_iob, t.ent_type, t.dep, t.tag, t.pos,
                 t.morph.key, t.lex.flags, t.lex.norm, t.lex.lower, t.lex.shape, t.lex.prefix, t.lex.suffix,
                 len(t.lex.orth_), t.lex.rank, vocab.strings[t.orth] == t.text, t.orth in vocab)
                for t in doc],
        tensor=None if doc.tensor is None else (doc.tensor.shape, doc.tensor.tolist()),
        user_data=dict(doc.user_data), spans={k: [(s.start, s.end) for s in g] for k, g in doc.spans.items()},
    )


def _spoil(doc: Doc, merges, norm_flags):
    """Flip the norm flags of the lexemes the merges will make (those that exist already)."""
    vocab = doc.vocab
    for s, e, _ in merges:
        text = doc[s:e].text
        if text in vocab:
            lex = vocab[text]
            for fid, _ in norm_flags:
                lex.set_flag(fid, not lex.check_flag(fid))


_CHECKS: dict = {}  # nlp -> its CompiledMergeCheck


def _compare(scan, nlp, text, attrs, c_first, prepare=None, expect_c=True):
    normalizer = nlp.get_pipe("turfwatch_normalizer")
    check = _CHECKS.get(nlp)
    if check is None:  # building one reads the whole vocab: once per pipeline
        check = _CHECKS[nlp] = scan.CompiledMergeCheck(normalizer, nlp.vocab)
    probe = nlp.make_doc(text)
    merges = check.merges(probe)
    n = len(probe)
    if not merges:
        return None
    docs = {}
    for way in (("c", "py") if c_first else ("py", "c")):
        doc = nlp.make_doc(text)
        if prepare:
            prepare(doc)
        _spoil(doc, merges, normalizer.norm_flags)
        if way == "c":
            done = scan.apply_merges(doc, list(merges), normalizer.norm_flags)
            assert done == expect_c, text
            if not done:
                assert prepare or _state(doc, attrs, scan, n) == _state(nlp.make_doc(text), attrs, scan, n)  # untouched
                normalizer._apply(doc, merges)
        else:
            normalizer._apply(doc, list(merges))
        docs[way] = _state(doc, attrs, scan, n)
    a, b = docs["py"], docs["c"]
    for key in a:
        assert a[key] == b[key], (key, text[:300])
    for s, e, c in merges:
        assert c in nlp.vocab.strings
    return merges


def test_apply_merges_is_the_retokenizer(scan, nlp):
    attrs = _array_attrs(nlp)
    normalizer = nlp.get_pipe("turfwatch_normalizer")
    corpus = ([FIELD_SEPARATOR.join(t for _, t in listing_fields(x)) for x in engine_corpus()] + HAND_MADE
              + MERGE_TEXTS + EDGE_TEXTS + _fuzz_texts(normalizer, 2000, seed=13)
              + _long_fuzz_texts(normalizer, 800, seed=17))
    seen = dict(merged=0, several=0, at_start=0, at_end=0, adjacent=0, two=0, many=0)
    for k, text in enumerate(corpus):
        merges = _compare(scan, nlp, text, attrs, c_first=k % 2 == 0)
        if not merges:
            continue
        n = len(nlp.make_doc(text))
        seen["merged"] += 1
        seen["several"] += len(merges) > 1
        seen["at_start"] += merges[0][0] == 0
        seen["at_end"] += merges[-1][1] == n
        seen["adjacent"] += any(a[1] == b[0] for a, b in zip(merges, merges[1:]))
        seen["two"] += any(e - s == 2 for s, e, _ in merges)
        seen["many"] += any(e - s > 5 for s, e, _ in merges)
    print(f"\napply_merges vs retokenizer: {seen}")
    assert seen["merged"] > 1500 and all(v > 50 for v in seen.values()), seen


def _with_tensor(doc):
    doc.tensor = numpy.arange(len(doc) * 3, dtype="f").reshape(len(doc), 3)


def _with_span_group(doc):
    doc.spans["x"] = SpanGroup(doc, name="x", spans=[doc[0:2]])


def _with_user_data(doc):
    doc.user_data["k"] = 1


def _with_tag(doc):
    doc[-1].tag_ = "NN"


def _with_lemma(doc):
    doc[0].lemma_ = "x"


def _with_ent(doc):
    doc.ents = [doc[0:1]]


def _with_sent_start(doc):
    doc[1].is_sent_start = True


def _with_head(doc):
    doc[1].head = doc[0]


@pytest.mark.parametrize("prepare", [_with_tensor, _with_span_group, _with_user_data, _with_tag, _with_lemma,
                                     _with_ent, _with_sent_start, _with_head])
@pytest.mark.parametrize("text", ["trust pilot and r e v i e w s", "buy r e v i e w s"])
def test_declines_what_it_does_not_handle(scan, nlp, prepare, text):
    """Docs with anything but tokens: apply_merges says no and leaves the doc; _apply then does the merge."""
    _compare(scan, nlp, text, _array_attrs(nlp), c_first=True, prepare=prepare, expect_c=False)


@pytest.mark.parametrize("merges", [[(2, 4, "reviews"), (0, 2, "trustpilot")], [(0, 2, "x"), (1, 3, "y")],
                                    [(0, 1, "t")], [(0, 9, "x")], [(-1, 1, "x")], [(0, 2, 5)], [[0, 2, "x"]]])
def test_declines_unusual_merges(scan, nlp, merges):
    doc = nlp.make_doc("trust pilot re views")
    before = doc.to_bytes()
    assert scan.apply_merges(doc, merges, nlp.get_pipe("turfwatch_normalizer").norm_flags) is False
    assert doc.to_bytes() == before


def test_declines_with_vectors(scan):
    import spacy

    blank = spacy.blank("en")
    blank.vocab.set_vector("trust", numpy.ones(4, dtype="f"))
    doc = blank.make_doc("trust pilot")
    assert scan.apply_merges(doc, [(0, 2, "trustpilot")], []) is False


def test_normalizer_uses_it_and_judgements_agree(scan, monkeypatch):
    flagger = get_flagger()
    normalizer = flagger.pipeline.nlp.get_pipe("turfwatch_normalizer")
    assert normalizer.compiled_apply is scan.apply_merges
    calls = []
    real = normalizer._apply
    listings = engine_corpus()
    with monkeypatch.context() as patched:
        patched.setattr(normalizer, "_apply", lambda doc, merges: calls.append(1) or real(doc, merges))
        compiled = [j.to_dict() for j in flagger.judge_many(listings)]
    assert not calls  # every merge of the corpus done in C
    with monkeypatch.context() as patched:
        patched.setattr(normalizer, "compiled_apply", None)
        python = [j.to_dict() for j in flagger.judge_many(listings)]
    assert compiled == python


def test_flags_follow_the_norm_flags_given(scan):
    """The per-word flag masks are cached under the norm_flags last seen: other norm_flags, other masks."""
    import spacy

    nlp = spacy.blank("en")
    for flags, want in [([(40, frozenset({"trustpilot"})), (41, frozenset())], (True, False)),
                        ([(40, frozenset()), (41, frozenset({"trustpilot"}))], (False, True)),
                        ([(40, frozenset({"trustpilot"})), (40, frozenset())], (False, True)),  # the last wins; 41 kept
                        ([(41, frozenset({"trustpilot"})), (40, frozenset({"trustpilot"}))], (True, True))]:
        c = nlp.make_doc("trust pilot")
        assert scan.apply_merges(c, [(0, 2, "trustpilot")], list(flags)) is True
        lex = c[0].lex
        assert (lex.check_flag(40), lex.check_flag(41)) == want
        assert scan.apply_merges(nlp.make_doc("a b"), [(0, 2, "ab")], [(40, {"ab"})]) is False  # not a frozenset
        assert scan.apply_merges(nlp.make_doc("a b"), [(0, 2, "ab")], [(64, frozenset())]) is False
