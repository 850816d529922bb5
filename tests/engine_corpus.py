"""Listings to compare the compiled flagging engine with the pure-Python one on.

Dev and the independent set, seller-style obfuscated copies of both, the demo marketplace's gigs
and dev listings recombined into long multi-field ones: every cue, merge and near-miss path occurs.
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INDEPENDENT = Path(__file__).resolve().parent / "data" / "independent_eval.jsonl"


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
