"""The compiled flagging engine is built, is used, and judges exactly as the pure-Python one does."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import spacy

from crawler.flagging import compiled
from crawler.flagging.flagger import Flagger, get_flagger
from crawler.flagging.pipeline import _build
from crawler.flagging.rules import load_rule_data
from tests.conftest import ROOT
from tests.engine_corpus import engine_corpus


def test_the_compiled_engine_is_built_and_used():
    assert compiled.engine() == "compiled", (
        "`pip install -e .` builds crawler/flagging/_*.pyx with Cython and a C++ compiler; without them "
        f"the flagger runs its pure-Python engine: {compiled.engine()}")
    pipeline = get_flagger().pipeline
    assert pipeline.compiled
    assert pipeline.nlp.get_pipe("turfwatch_normalizer").compiled_merges is not None
    assert get_flagger()._prepare is compiled.part("_listing").prepare
    assert isinstance(get_flagger()._read.__self__, compiled.part("_scan").CompiledReader)


@pytest.fixture(scope="module")
def python_flagger() -> Flagger:
    pipeline = _build(load_rule_data(), compiled=False)
    assert not pipeline.compiled
    return Flagger(pipeline=pipeline)


def _judged(flagger: Flagger, listings: list[dict]) -> list[dict]:
    return [dict(j.to_dict(), diagnostics=j.diagnostics) for j in flagger.judge_many(listings)]


def test_compiled_and_python_engines_judge_every_listing_alike(python_flagger):
    listings = engine_corpus()
    fast, reference = _judged(get_flagger(), listings), _judged(python_flagger, listings)
    differ = [listings[i].get("id", i) for i, (a, b) in enumerate(zip(fast, reference)) if a != b]
    assert not differ, f"{len(differ)} listings judged differently, e.g. {differ[:5]}"
    # The corpus reaches every outcome: flagged, near misses explained, gated out.
    assert sum(j["sells_reviews"] for j in fast) > 500
    assert any(d.startswith("no rule anchor; cues seen:") for j in fast for d in j["diagnostics"])
    assert any(": saw “" in d for j in fast for d in j["diagnostics"])


def test_one_listing_at_a_time_matches_the_batch(python_flagger):
    listings = engine_corpus(n_recombined=50)[::7]
    for flagger in (get_flagger(), python_flagger):
        one = [dict(flagger.judge(x).to_dict(), diagnostics=flagger.judge(x).diagnostics) for x in listings]
        assert one == _judged(flagger, listings)


def test_a_part_built_for_another_spacy_is_not_used(monkeypatch):
    monkeypatch.setattr(compiled, "_loaded", {})
    monkeypatch.setattr(compiled, "_why_not", {})
    monkeypatch.setattr(spacy, "__version__", "0.0.1")
    assert compiled.part("_evaluate") is None
    assert compiled.engine().startswith("python (_scan: built for spaCy ")
    assert "running 0.0.1" in compiled.engine()


def test_turfwatch_pure_python_forces_the_python_engine():
    env = dict(os.environ, TURFWATCH_PURE_PYTHON="1")
    code = ("from crawler.flagging import compiled, get_flagger; "
            "print(compiled.engine()); print(get_flagger().pipeline.compiled)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split("\n")
    assert out[0] == "python (_scan: TURFWATCH_PURE_PYTHON is set)"
    assert out[1] == "False"
