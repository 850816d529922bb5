"""Measure the flagger against labeled listings (JSONL): precision, recall, F1, breakdowns and misclassified ids."""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .flagger import Flagger, get_flagger

BREAKDOWN_KEYS = ("category", "lang", "difficulty", "marketplace")


def default_dev_path() -> Path:
    """The shared dev set: TURFWATCH_SHARED/eval/dev.jsonl, else ../shared/eval/dev.jsonl beside the repository."""
    shared = os.environ.get("TURFWATCH_SHARED")
    base = Path(shared) if shared else Path(__file__).resolve().parents[3] / "shared"
    return base / "eval" / "dev.jsonl"


class EvaluationError(ValueError):
    """The evaluation input cannot be used."""


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    rows = []
    try:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise EvaluationError(f"{path}:{n}: not JSON ({exc.msg})") from exc
                if not isinstance(row, dict):
                    raise EvaluationError(f"{path}:{n}: expected a JSON object per line")
                rows.append(row)
    except OSError as exc:
        raise EvaluationError(f"cannot read {path}: {exc.strerror}") from exc
    return rows


def _label(row: Mapping[str, Any], n: int) -> bool:
    if "label" not in row:
        raise EvaluationError(f"row {n} ({row.get('id', 'no id')}) has no 'label': this file is not labeled")
    value = row["label"]
    if isinstance(value, str):
        value = value.strip().lower()
        if value in ("1", "true", "yes", "sells_reviews"):
            return True
        if value in ("0", "false", "no", "none", ""):
            return False
        raise EvaluationError(f"row {n}: label {row['label']!r} is not 0/1")
    return bool(value)


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def _bucket() -> dict[str, int]:
    return {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "n": 0, "positives": 0}


def evaluate_rows(rows: list[Mapping[str, Any]], flagger: Flagger | None = None) -> dict[str, Any]:
    """Judge labeled rows and report overall and per-bucket figures plus every misclassified row."""
    if not rows:
        raise EvaluationError("no listings to evaluate")
    gold = [_label(r, n) for n, r in enumerate(rows, 1)]
    flagger = flagger or get_flagger()
    judgements = flagger.judge_many(rows)
    overall = _bucket()
    breakdowns: dict[str, dict[str, dict[str, int]]] = {k: {} for k in BREAKDOWN_KEYS}
    errors = []
    engagement_only_flagged = 0
    for row, y, j in zip(rows, gold, judgements):
        kind = ("tp" if j.sells_reviews else "fn") if y else ("fp" if j.sells_reviews else "tn")
        keys = {"category": row.get("category"), "lang": row.get("lang") or j.language,
                "difficulty": row.get("difficulty"), "marketplace": row.get("marketplace")}
        for b in [overall] + [breakdowns[k].setdefault(str(v), _bucket()) for k, v in keys.items() if v is not None]:
            b[kind] += 1
            b["n"] += 1
            b["positives"] += y
        if row.get("category") == "fake_engagement" and j.sells_reviews:
            engagement_only_flagged += 1
        if kind in ("fp", "fn"):
            err = {"id": row.get("id"), "error": kind.upper(), "title": row.get("title", ""),
                   "language": j.language}
            if kind == "fp":
                err["rules"] = [f"{f.rule_id}@{f.rule_version}: “{f.text}” ({f.field})"
                                for f in j.flags if f.category != "fake_engagement"]
            else:
                err["reason"] = list(j.diagnostics) or ["no cues"]
            errors.append(err)
    report: dict[str, Any] = {
        "n": overall["n"],
        "overall": {**prf(overall["tp"], overall["fp"], overall["fn"]),
                    "confusion": {k: overall[k] for k in ("tp", "fp", "fn", "tn")}},
        "breakdowns": {},
        "fake_engagement_counted_as_reviews": engagement_only_flagged,
        "errors": errors,
    }
    for key, buckets in breakdowns.items():
        if not buckets:
            continue
        report["breakdowns"][key] = {
            name: {**prf(b["tp"], b["fp"], b["fn"]), "n": b["n"], "positives": b["positives"],
                   "confusion": {k: b[k] for k in ("tp", "fp", "fn", "tn")}}
            for name, b in sorted(buckets.items())
        }
    return report


def evaluate_file(path: str | Path, flagger: Flagger | None = None) -> dict[str, Any]:
    rows = read_jsonl(path)
    report = evaluate_rows(rows, flagger)
    report["file"] = str(path)
    return report


def iter_listing_texts(rows: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    for r in rows:
        yield f"{r.get('title', '')}\n\n{r.get('description', '')}"
