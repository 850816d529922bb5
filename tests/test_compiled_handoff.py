"""The packed cue handoff: CueMatcher.found() and CompiledEngine.cues() reading its bytes.

Flagger._judge_doc hands the compiled matchers' cues to the compiled engine as bytes of packed (name hash, start,
end) records instead of a list of (name, start, end) tuples. Everything downstream must be what the tuple list
gives: the records decode to exactly CueMatcher.find()'s list (same order, labels filter included), and the
CompiledCues made from them has the same cue table, hits, diagnostics, labels_seen() and span_chars() as the one
made from the list (which test_compiled_evaluate compares with the Python engine).
"""
from __future__ import annotations

import random
import struct
from collections import Counter

import pytest
from spacy.attrs import NORM

from crawler.flagging import get_flagger
from crawler.flagging.rules import cue_label
from tests.engine_corpus import compiled_part, gated_plans, prepared_docs

RECORD = struct.Struct("=Qii")  # name hash (uint64), start, end (int32), native order


def _modules():
    return compiled_part("_cues"), compiled_part("_seq"), compiled_part("_evaluate")


def pack(strings, raw) -> bytes:
    return b"".join(RECORD.pack(strings.add(name), s, e) for name, s, e in raw)


def unpack(strings, data: bytes) -> list[tuple[str, int, int]]:
    assert len(data) % RECORD.size == 0
    return [(strings[k], s, e) for k, s, e in RECORD.iter_unpack(data)]


@pytest.fixture(scope="module")
def corpus():
    _modules()
    f = get_flagger()
    assert f.pipeline.compiled and f.pipeline.cues._packed, "the packed handoff is not in use"
    return f, prepared_docs(f)


@pytest.fixture
def engine(corpus):
    """A fresh compiled engine for the flagger's rules: it meets every cue name for the first time."""
    f, _ = corpus
    _, _, mod = _modules()
    return mod.CompiledEngine(f.rules, f._words)


def _hit_key(hit):
    return hit.rule.id, hit.field, hit.start, hit.end, hit.platform, hit.support


def same_cues(engine, doc, starts, is_tag, raw, packed, text, rules, seen=None) -> None:
    """The CompiledCues from the packed records is the one from the tuple list."""
    a = engine.cues(doc, starts, is_tag, raw, text)
    b = engine.cues(doc, starts, is_tag, packed, text)
    where = text[:80]
    assert b.cue_table() == a.cue_table(), where
    assert b.labels_seen() == a.labels_seen(), where
    da: list[str] = []
    db: list[str] = []
    ha = a.evaluate(rules, da)
    hb = b.evaluate(rules, db)
    assert [_hit_key(h) for h in hb] == [_hit_key(h) for h in ha], where
    assert all(x.rule is y.rule for x, y in zip(ha, hb)), where
    assert db == da, where
    for h in ha:
        assert b.span_chars(h.start, h.end) == a.span_chars(h.start, h.end), where
    if seen is not None:
        seen["listings"] += 1
        seen["cues"] += len(raw)
        seen["hits"] += len(ha)
        seen["diagnostics"] += len(da)


def test_found_is_find_packed(corpus):
    """found()'s records are find()'s tuples, in order, for the flagger's label sets, for all labels, and for
    random label subsets; and each compiled matcher's packed() is its list."""
    f, docs = corpus
    cm = f.pipeline.cues
    strings = f.pipeline.nlp.vocab.strings
    all_labels = sorted({cue_label(n) for n in cm.phrase_names} | {p[5] for p in cm.matcher.seq_matcher.patterns})
    rng = random.Random(5)
    seen = Counter()
    for doc, _, _, _ in docs:
        norm = set(doc.to_array([NORM]).tolist()) if len(doc) else set()
        may_fire = f._gate.rules_that_may_fire(norm)
        label_sets = [None, frozenset(rng.sample(all_labels, rng.randint(0, len(all_labels))))]
        if may_fire:
            label_sets.append(f._plan(may_fire)[1])
        for labels in label_sets:
            raw = cm.find(doc, labels)
            got = cm.found(doc, labels)
            assert type(got) is bytes
            assert unpack(strings, got) == raw
            assert unpack(strings, cm._phrases.packed(doc, labels)) == cm._phrases.find(doc, labels)
            assert unpack(strings, cm.matcher.packed(doc, labels)) == cm.matcher(doc, labels)
            assert got == cm._phrases.packed(doc, labels) + cm.matcher.packed(doc, labels)
            seen["cues"] += len(raw)
            seen["empty"] += not raw
    assert seen["cues"] > 10000 and seen["empty"], seen


def test_as_judge_doc_runs_it(corpus, engine):
    """Gate, plan, the plan's cues: the engine's cues from found() are those from find()."""
    f, docs = corpus
    cm = f.pipeline.cues
    seen = Counter()
    for doc, starts, is_tag, text, rules, labels in gated_plans(f, docs):
        same_cues(engine, doc, starts, is_tag, cm.find(doc, labels), cm.found(doc, labels), text, rules, seen)
    assert seen["listings"] > 1000 and seen["hits"] > 500 and seen["diagnostics"], seen


def test_every_rule_every_cue_fresh_engine(corpus, engine):
    """All cues, all rules, with an engine that meets every name first as a hash (the packed path first)."""
    f, docs = corpus
    cm = f.pipeline.cues
    seen = Counter()
    for doc, starts, is_tag, text in docs:
        packed = cm.found(doc, None)
        raw = cm.find(doc, None)
        b = engine.cues(doc, starts, is_tag, packed, text)  # before the list path has seen any name
        a = engine.cues(doc, starts, is_tag, raw, text)
        assert b.cue_table() == a.cue_table()
        same_cues(engine, doc, starts, is_tag, raw, packed, text, f.rules, seen)
    assert seen["listings"] == len(docs)


def test_fuzzed_raw_cues(corpus, engine):
    """Random raw cue lists (real and unknown names, duplicate spans, cues at both ends of the doc, spans of
    every length), packed by hand: the same CompiledCues as the list."""
    f, docs = corpus
    cm = f.pipeline.cues
    strings = f.pipeline.nlp.vocab.strings
    names = sorted(set(cm.phrase_names) | {p[1] for p in cm.matcher.seq_matcher.patterns})
    names += ["platform:google", "platform:nowhere", "a_label_no_rule_names", "review", "review_count",
              "official_process"] * 5
    rng = random.Random(11)
    seen = Counter()
    for doc, starts, is_tag, text in rng.sample(docs, min(400, len(docs))):
        n = len(doc)
        if not n:
            continue
        raw = []
        for _ in range(rng.randint(0, 60)):
            s = rng.choice((0, n - 1, rng.randrange(n)))
            e = min(n, s + rng.choice((1, 1, 2, 3, rng.randint(1, 12))))
            raw.append((rng.choice(names), s, e))
        if raw and rng.random() < 0.5:
            raw += rng.sample(raw, min(len(raw), 5))  # duplicates, out of order
        same_cues(engine, doc, starts, is_tag, raw, pack(strings, raw), text, f.rules, seen)
    assert seen["listings"] > 300 and seen["hits"], seen


def test_hand_made_cases(corpus, engine):
    f, _ = corpus
    nlp = f.pipeline.nlp
    strings = nlp.vocab.strings
    cm = f.pipeline.cues
    text = "I will write 5 star Google reviews for you. No fake reviews! Buy now"
    doc = nlp(text)
    n = len(doc)
    starts, is_tag = [0], [False]
    # no cues at all
    for labels in (None, frozenset(), frozenset({"no_such_label"})):
        assert cm.found(doc, labels) == pack(strings, cm.find(doc, labels))
    assert cm.found(doc, frozenset()) == b""
    same_cues(engine, doc, starts, is_tag, [], b"", text, f.rules)
    # an empty doc
    empty = nlp("")
    assert cm.found(empty, None) == b"" and cm.find(empty, None) == []
    same_cues(engine, empty, [0], [False], [], b"", "", f.rules)
    # a labels filter keeps the same records as find()
    everything = cm.find(doc, None)
    assert everything, "the hand-made text has cues"
    some = frozenset({cue_label(everything[0][0]), "platform"})
    assert unpack(strings, cm.found(doc, some)) == cm.find(doc, some) == [
        c for c in everything if cue_label(c[0]) in some]
    # cues at both ends, duplicate spans, a review cue at the very end (no next token), unknown names
    raw = [("review", n - 1, n), ("review", 0, 1), ("platform:google", 0, n), ("platform:google", 0, n),
           ("offer_verb", 0, 2), ("never_seen_before_cue", 3, 5), ("review", n - 1, n), ("official_process", 1, 3)]
    same_cues(engine, doc, starts, is_tag, raw, pack(strings, raw), text, f.rules)
    # spans outside the doc fail as the list path fails
    for bad in [("review", n, n + 1), ("review", -1, 1), ("review", 2, 2), ("review", 0, n + 1)]:
        with pytest.raises(IndexError) as list_err:
            engine.cues(doc, starts, is_tag, [bad], text)
        with pytest.raises(IndexError) as packed_err:
            engine.cues(doc, starts, is_tag, pack(strings, [bad]), text)
        assert str(packed_err.value) == str(list_err.value)
    # a torn record
    with pytest.raises(ValueError):
        engine.cues(doc, starts, is_tag, pack(strings, raw)[:-3], text)


def test_many_names_grow_the_hash_table(corpus, engine):
    """Hundreds of distinct names met as hashes (the engine's table grows several times), in any order."""
    f, _ = corpus
    nlp = f.pipeline.nlp
    strings = nlp.vocab.strings
    text = "buy google reviews here, not negative ones ( fast ) - cheap"
    doc = nlp(text)
    n = len(doc)
    rng = random.Random(3)
    names = [f"handoff_test_cue_{i}" for i in range(700)] + [f"platform:handoff_{i}" for i in range(100)]
    for _ in range(30):
        raw = [(rng.choice(names), s, min(n, s + rng.randint(1, 3))) for s in (rng.randrange(n) for _ in range(40))]
        same_cues(engine, doc, [0], [False], raw, pack(strings, raw), text, f.rules)
    raw = [(name, 0, 1) for name in names]
    same_cues(engine, doc, [0], [False], raw, pack(strings, raw), text, f.rules)


def test_a_doc_of_another_vocab_gets_the_list(corpus):
    """found() hands over packed hashes only for docs of the matchers' vocab; another vocab's doc gets find()'s list."""
    import spacy

    f, _ = corpus
    cm = f.pipeline.cues
    other = spacy.blank("en")
    doc = other("buy five star google reviews")
    assert cm.found(doc, None) == cm.find(doc, None)
    assert type(cm.found(doc, None)) is list


def test_evaluate_scratch_lent_one_at_a_time(corpus, engine):
    """evaluate() borrows the engine's scratch; a CompiledCues evaluated again, after others, or from inside
    another's evaluate() (a diagnostics list whose append evaluates another listing) gives the same hits."""
    f, docs = corpus
    _, _, mod = _modules()
    cm = f.pipeline.cues
    picked = [d for d in docs if len(d[0])][:60]
    ccs = [engine.cues(doc, starts, is_tag, cm.found(doc, None), text) for doc, starts, is_tag, text in picked]

    def result(cc, rules=f.rules):
        diag: list[str] = []
        return [_hit_key(h) for h in cc.evaluate(rules, diag)], diag

    expected = []
    for doc, starts, is_tag, text in picked:  # each on an engine of its own
        alone = mod.CompiledEngine(f.rules, f._words)
        expected.append(result(alone.cues(doc, starts, is_tag, cm.find(doc, None), text)))
    assert sum(len(e[0]) for e in expected) > 10
    assert [result(cc) for cc in ccs] == expected
    assert [result(cc) for cc in reversed(ccs)] == expected[::-1]
    assert [result(cc) for cc in ccs] == expected  # evaluated twice

    class Nested(list):
        def __init__(self, other):
            super().__init__()
            self.other, self.inner = other, []

        def append(self, item):
            self.inner.append(result(self.other))
            super().append(item)

    nested = 0
    for k, cc in enumerate(ccs):
        other = (k + 7) % len(ccs)
        diag = Nested(ccs[other])
        hits = [_hit_key(h) for h in cc.evaluate(f.rules, diag)]
        assert (hits, list(diag)) == expected[k]
        assert all(r == expected[other] for r in diag.inner)
        nested += len(diag.inner)
        # a subset of the rules after all the rules: the memo starts empty again where it must
        assert result(cc, f.rules[::2]) == result(engine.cues(*picked[k][:3], cm.found(picked[k][0], None),
                                                               picked[k][3]), f.rules[::2])
    assert nested > 10
