"""The compiled rule evaluation (crawler/flagging/_evaluate.pyx) gives exactly what ListingCues + evaluate give.

Every listing of the engine corpus is evaluated both ways, as Flagger._judge_doc does (gate, plan, the
plan's cues), then again with every rule and every cue, then with altered copies of the rules (other
scopes, cross-clause, tags included) so that paths the shipped rules leave cold run too. Hits, diagnostics,
labels_seen(), span_chars()/span_text() and the cues themselves must be identical. The C scan that stands in
for the clause/chunk boundary regexes is checked against `re` on the corpus, on every code point and on
random text.
"""
from __future__ import annotations

import dataclasses
import random
from collections import Counter

import pytest
import spacy

from crawler.flagging import get_flagger
from crawler.flagging.engine import _CHUNK_BOUNDARY, _CLAUSE_BOUNDARY, ListingCues, RuleHit, evaluate
from tests.engine_corpus import compiled_part, gated_plans, prepared_docs


def _compiled():
    return compiled_part("_evaluate")


@pytest.fixture(scope="module")
def corpus():
    """(flagger, [(doc, field starts, is_tag, text)]) for every listing with a field, as judge_many prepares them."""
    f = get_flagger()
    return f, prepared_docs(f)


def _hit_key(hit):
    return hit.rule.id, hit.field, hit.start, hit.end, hit.platform, hit.support


def _cue_table(py: ListingCues) -> dict:
    return {label: [(c.label, c.start, c.end, c.field, c.clause_lo, c.clause_hi, c.chunk_lo, c.chunk_hi, c.negated,
                     c.platform) for c in cues] for label, cues in py.by_label.items()}


def _compare(engine, words, doc, starts, is_tag, raw, text, rules, seen: Counter) -> None:
    py = ListingCues(doc, starts, is_tag, raw, words, text)
    py_diag: list[str] = []
    py_hits = evaluate(py, rules, py_diag)
    cc = engine.cues(doc, starts, is_tag, raw, text)
    c_diag: list[str] = []
    c_hits = cc.evaluate(rules, c_diag)
    where = text[:80]
    assert cc.cue_table() == _cue_table(py), where
    assert [_hit_key(h) for h in c_hits] == [_hit_key(h) for h in py_hits], where
    assert all(type(c) is RuleHit and c.rule is p.rule for c, p in zip(c_hits, py_hits)), where
    assert c_diag == py_diag, where
    assert cc.labels_seen() == py.labels_seen(), where
    for h in py_hits:
        assert cc.span_chars(h.start, h.end) == py.span_chars(h.start, h.end), where
        assert cc.span_text(h.start, h.end) == py.span_text(h.start, h.end), where
    # without a diagnostics list, the same hits (and no strings built)
    assert [_hit_key(h) for h in engine.cues(doc, starts, is_tag, raw, text).evaluate(rules)] == \
        [_hit_key(h) for h in py_hits], where
    seen["listings"] += 1
    seen["hits"] += len(py_hits)
    seen["veto"] += sum("but it reads as" in d for d in py_diag)
    seen["missing"] += sum("but no " in d for d in py_diag)
    for cues in py.by_label.values():
        for c in cues:
            seen["negated"] += c.negated
            seen[c.label] += 1


def test_built_for_this_spacy():
    assert _compiled().BUILT_WITH_SPACY == spacy.__version__


def test_as_judge_doc_runs_it(corpus):
    """The gate, the plan's rules and the plan's cues, as Flagger._judge_doc hands them to the engine."""
    mod = _compiled()
    f, docs = corpus
    engine = mod.CompiledEngine(f.rules, f._words)
    seen = Counter()
    for doc, starts, is_tag, text, rules, labels in gated_plans(f, docs):
        _compare(engine, f._words, doc, starts, is_tag, f.pipeline.cues.find(doc, labels), text, rules, seen)
    assert seen["listings"] > 1000 and seen["hits"] > 500 and seen["veto"] and seen["missing"], seen


def test_every_rule_every_cue(corpus):
    """All rules on every listing, with every cue found, whatever the gate says."""
    mod = _compiled()
    f, docs = corpus
    engine = mod.CompiledEngine(f.rules, f._words)
    seen = Counter()
    for doc, starts, is_tag, text in docs:
        _compare(engine, f._words, doc, starts, is_tag, f.pipeline.cues.find(doc, None), text, f.rules, seen)
    assert seen["listings"] == len(docs)
    for path in ("veto", "missing", "negated", "review_modifier", "official_bypass", "platform"):
        assert seen[path], (path, seen)


def _variants(rules):
    """Copies of the rules with the other scopes, cross-clause flipped and tags included: colder paths."""
    scopes = ("chunk", "clause", "field", "listing")

    def shift(conds, by):
        return tuple(dataclasses.replace(c, scope=scopes[(scopes.index(c.scope) + by) % 4]) for c in conds)

    out = []
    for k, rule in enumerate(rules):
        out.append(dataclasses.replace(rule, id=f"{rule.id}~{k}", cross_clause=not rule.cross_clause,
                                       fields="all" if rule.fields != "all" else "text",
                                       requires=shift(rule.requires, 1 + k % 3), unless=shift(rule.unless, 1 + k % 2)))
        # widen every gap, drop the requirements: longer chains, more candidates and merges
        out.append(dataclasses.replace(rule, id=f"{rule.id}~wide{k}", requires=(),
                                       patterns=tuple(tuple(dataclasses.replace(st, gap=st.gap + 4) for st in steps)
                                                      for steps in rule.patterns)))
    return out


def test_altered_rules(corpus):
    """Rules the engine was not built with are compiled when first asked for, and behave the same."""
    mod = _compiled()
    f, docs = corpus
    variants = _variants(f.rules)
    engine = mod.CompiledEngine(f.rules, f._words)  # the variants are compiled on first use
    seen = Counter()
    for doc, starts, is_tag, text in docs:
        _compare(engine, f._words, doc, starts, is_tag, f.pipeline.cues.find(doc, None), text,
                 variants + f.rules, seen)
    assert seen["hits"] > 1000, seen


def test_random_cues(corpus):
    """Cues in any order, overlapping, repeated, under unknown labels and near negations: the index, the
    derived labels and every rule path see the same cues both ways."""
    mod = _compiled()
    f, docs = corpus
    engine = mod.CompiledEngine(f.rules, f._words)
    rules = f.rules + _variants(f.rules)
    labels = sorted({label for rule in f.rules for label in f._labels_of(rule)} - {"platform"})
    names = labels + ["platform:google", "platform:yelp", "platform:trustpilot", "not_a_rule_label"]
    rng = random.Random(11)
    seen = Counter()
    for doc, starts, is_tag, text in docs[::5]:
        n = len(doc)
        raw = []
        for _ in range(rng.randrange(0, 80)):
            s = rng.randrange(n)
            e = min(n, s + rng.choice((1, 1, 1, 2, 3, 5)))
            raw.append((rng.choice(names), s, e))
        raw += raw[: rng.randrange(0, 4)]  # the same cue twice
        _compare(engine, f._words, doc, starts, is_tag, raw, text, rules, seen)
    assert seen["hits"] > 1000 and seen["negated"] and seen["official_bypass"] and seen["review_modifier"], seen


def _python_bounds(text: str):
    clause = [m.start() for m in _CLAUSE_BOUNDARY.finditer(text)]
    return clause, sorted(clause + [m.start() for m in _CHUNK_BOUNDARY.finditer(text)])


def test_boundaries_on_corpus(corpus):
    boundaries = _compiled().boundaries
    _, docs = corpus
    for _, _, _, text in docs:
        assert boundaries(text) == _python_bounds(text)
        assert boundaries(text, with_re=True) == _python_bounds(text)  # the fallback for other patterns


def test_boundaries_on_every_code_point():
    """Each code point as the letter before a dotted initialism, the word before it, a space after a stop,
    the spaces around a dash, and on its own: the character classes are those of `re`."""
    boundaries = _compiled().boundaries
    step = 1 << 14
    for lo in range(0, 0x110000, step):
        chars = [chr(c) for c in range(lo, min(lo + step, 0x110000))]
        for text in (" ".join(c + ".b." for c in chars) + " ",  # [^\W\d_] at the look-behind's start
                     " ".join("a." + c + "." for c in chars) + " ",  # [^\W\d_] at its end
                     " ".join("a" + c + "b." for c in chars) + " ",  # the \. in the middle
                     " ".join(c + "a.b." for c in chars) + " ",  # \b before the look-behind
                     "".join("x." + c + "y" for c in chars),  # (?=\s|$) after a stop
                     "".join("x" + c + "-" + c + "y" for c in chars),  # \s[-–—]\s: the spaces
                     "".join("x " + c + " y" for c in chars),  # \s[-–—]\s: the dash
                     "".join(chars)):
            assert boundaries(text) == _python_bounds(text), hex(lo)


def test_boundaries_on_random_text():
    boundaries = _compiled().boundaries
    alphabet = list("aZé_1٣²½.!?;…\n •✔✓➤►▪|●○◦➜→✅☑,()-–—\u00a0\u2003\t") + ["e.g.", "G.M.B.", " - ", "..."]
    rng = random.Random(7)
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        assert boundaries(text) == _python_bounds(text), repr(text)


def test_boundaries_dash_runs():
    """\\s[-–—]\\s matches sharing their spaces (finditer takes every other one), dashes at the text's ends,
    dashes next to , ( ) and stops: the C scan finds the dash first and looks at its neighbours."""
    boundaries = _compiled().boundaries
    pieces = [" ", "-", "–", "—", "\n", "\u00a0", "\u2003", ",", "(", ")", ".", "a", "--"]
    texts = [" - - - ", "\n-\n-\n", " -- - ", "- -", " -", "- ", "-", " - ", "a - b - c", "(-) , - ,",
             " — – - ", "x. - y", "\u2003-\u00a0-\u2003", " - - - - - - - - "]
    rng = random.Random(13)
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randrange(1, 16))) for _ in range(20000)]
    for text in texts:
        assert boundaries(text) == _python_bounds(text), repr(text)
