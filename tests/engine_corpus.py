"""Listings to compare the compiled flagging engine with the pure-Python one on.

Dev and the independent set, seller-style obfuscated copies of both, the demo marketplace's gigs
and dev listings recombined into long multi-field ones: every cue, merge and near-miss path occurs.
"""
from __future__ import annotations

import importlib
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INDEPENDENT = Path(__file__).resolve().parent / "data" / "independent_eval.jsonl"


def compiled_part(name: str):
    """The compiled engine's module `name` ("_scan", ...). A test of it fails, not skips, when it is not built:
    comparing it with the Python code is the point."""
    try:
        return importlib.import_module(f"crawler.flagging.{name}")
    except ImportError as exc:
        pytest.fail(f"crawler/flagging/{name}.pyx is not built ({exc}); `pip install -e .` builds it")


def engine_corpus(n_recombined: int = 600) -> list[dict]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from flag_throughput import synthesise  # noqa: E402  (the benchmark's own recombination)

    from crawler.demo import load_catalog
    from crawler.flagging.evaluate import default_dev_path, read_jsonl
    from crawler.flagging.obfuscate import obfuscate_listing

    rows = read_jsonl(INDEPENDENT)
    dev = default_dev_path()
    if dev.exists():
        rows = read_jsonl(dev) + rows
    out = list(rows)
    out += [obfuscate_listing(r, seed) for seed in (13, 14) for r in rows]
    out += [dict(g) for g in load_catalog().gigs]
    out += synthesise(rows, n_recombined, seed=random.Random(5).randrange(1000))
    return out


def prepared_docs(flagger) -> list[tuple]:
    """(doc, field starts, is_tag, text) for every corpus listing with a field, as the Flagger hands them to
    the engine (the listing's doc from its pipeline, the fields from `prepare`)."""
    from crawler.flagging.flagger import prepare

    prepared = [(starts, [False] * n_text + [True] * (len(fields) - n_text), text)
                for fields, starts, text, n_text in map(prepare, engine_corpus()) if fields]
    docs = flagger.pipeline.nlp.pipe([text for _, _, text in prepared], batch_size=256)
    return [(doc, starts, is_tag, text) for doc, (starts, is_tag, text) in zip(docs, prepared)]


def gated_plans(flagger, docs):
    """(doc, starts, is_tag, text, rules, labels) for each prepared doc the gate lets through, with the rules and
    cue labels Flagger._judge_doc's plan gives the engine."""
    from spacy.attrs import NORM

    for doc, starts, is_tag, text in docs:
        norm = set(doc.to_array([NORM]).tolist()) if len(doc) else set()
        may_fire = flagger._gate.rules_that_may_fire(norm)
        if may_fire:
            yield (doc, starts, is_tag, text, *flagger._plan(may_fire))
