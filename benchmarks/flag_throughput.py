"""Listings/second of the full flagger versus spaCy's tokenizer alone on the same synthetic listings."""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import spacy  # noqa: E402

from crawler.flagging import get_flagger  # noqa: E402
from crawler.flagging.flagger import FIELD_SEPARATOR, listing_fields  # noqa: E402


def default_dev() -> Path:
    shared = os.environ.get("TURFWATCH_SHARED")
    base = Path(shared) if shared else Path(__file__).resolve().parents[2] / "shared"
    return base / "eval" / "dev.jsonl"


def synthesise(rows: list[dict], n: int, seed: int) -> list[dict]:
    """Realistic-length listings: a title, a description of 2-3 dev descriptions, tags, packages and a FAQ."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a, b, c = rng.sample(rows, 3)
        out.append({
            "title": a["title"],
            "description": "\n\n".join(r["description"] for r in (a, b, c)[: rng.choice((2, 3))]),
            "tags": a.get("tags", []) + b.get("tags", [])[:2],
            "packages": [{"title": "Basic", "description": b["title"]}, {"title": "Premium", "description": c["title"]}],
            "faq": [{"question": "How fast is delivery?", "answer": f"Usually 3 days. {c['description'][:80]}"}],
            "id": f"synthetic-{i}",
        })
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dev", type=Path, default=default_dev())
    ap.add_argument("-n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    warm = synthesise(rows, 300, args.seed + 1)
    listings = synthesise(rows, args.n, args.seed)
    texts = [FIELD_SEPARATOR.join(t for _, t in listing_fields(x)) for x in listings]
    chars = sum(map(len, texts)) / len(texts)

    flagger = get_flagger()
    tokenizer = spacy.blank("en").tokenizer
    flagger.judge_many(warm)
    list(tokenizer.pipe(FIELD_SEPARATOR.join(t for _, t in listing_fields(x)) for x in warm))

    t0 = time.perf_counter()
    for _ in tokenizer.pipe(texts, batch_size=256):
        pass
    tok_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    judgements = flagger.judge_many(listings)
    flag_s = time.perf_counter() - t0
    tok_rate, flag_rate = len(texts) / tok_s, len(listings) / flag_s
    print(f"listings: {len(listings)}  mean length: {chars:.0f} chars  flagged: {sum(j.sells_reviews for j in judgements)}")
    print(f"tokenizer only (spacy.blank('en').tokenizer.pipe): {tok_rate:,.0f} listings/s")
    print(f"full flagger (judge_many):                        {flag_rate:,.0f} listings/s")
    print(f"ratio flagger/tokenizer: {flag_rate / tok_rate:.2f} (goal >= 0.40)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
