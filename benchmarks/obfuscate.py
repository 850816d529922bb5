"""Recall of the flagger on dev positives before and after seller-style obfuscation (seeded, deterministic)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.flagging import get_flagger  # noqa: E402
from crawler.flagging.evaluate import default_dev_path, read_jsonl  # noqa: E402
from crawler.flagging.obfuscate import obfuscate_listing  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dev", type=Path, default=default_dev_path())
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", type=Path, help="write the obfuscated positives here (JSONL)")
    ap.add_argument("--show", type=int, default=0, help="print N missed obfuscated listings")
    args = ap.parse_args()
    rows = read_jsonl(args.dev)
    positives = [r for r in rows if int(r.get("label", 0)) == 1]
    obfuscated = [obfuscate_listing(r, args.seed) for r in positives]
    flagger = get_flagger()
    clean = sum(j.sells_reviews for j in flagger.judge_many(positives))
    judged = flagger.judge_many(obfuscated)
    obf = sum(j.sells_reviews for j in judged)
    n = len(positives)
    print(f"positives: {n}  seed: {args.seed}")
    print(f"recall clean:      {clean / n:.3f} ({clean}/{n})")
    print(f"recall obfuscated: {obf / n:.3f} ({obf}/{n})")
    print(f"gap: {(clean - obf) / n * 100:.1f} points")
    if args.out:
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in obfuscated), encoding="utf-8")
    shown = 0
    for r, j in zip(obfuscated, judged):
        if not j.sells_reviews and shown < args.show:
            print(f"MISS {r.get('id')}: {r['title']} | {r.get('description', '')[:160]}")
            shown += 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
