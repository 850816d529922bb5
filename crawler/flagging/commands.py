"""Click commands the main CLI registers: `flag` and the `rules` group (list, test, eval)."""
from __future__ import annotations

import json
import sys
from typing import Any

import click

from .rules import RuleError

CONTEXT_CHARS = 40


def _flagger():
    from .flagger import get_flagger
    try:
        return get_flagger()
    except RuleError as exc:
        raise click.ClickException(f"rules are invalid: {exc}") from exc


def _highlight(text: str, start: int, end: int, tty: bool) -> str:
    # Listing text never drives the terminal (escape sequences, bidi overrides).
    from crawler.formats import terminal_line

    left, mid, right = (terminal_line(p) for p in (text[max(0, start - CONTEXT_CHARS):start], text[start:end],
                                          text[end:end + CONTEXT_CHARS]))
    mid = click.style(mid, bold=True) if tty else f"[[{mid}]]"
    pre = "…" if start > CONTEXT_CHARS else ""
    post = "…" if end + CONTEXT_CHARS < len(text) else ""
    return pre + left + mid + right + post


def _field_text(listing: dict, path: str) -> str:
    from .flagger import listing_fields
    return dict(listing_fields(listing)).get(path, "")


@click.command("flag")
@click.argument("text", required=False)
@click.option("--input", "input_path", type=click.Path(dir_okay=False), help="JSONL file, one listing per line.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def flag(text: str | None, input_path: str | None, fmt: str) -> None:
    """Flag TEXT (read as a title and description) or every listing in --input."""
    if bool(text) == bool(input_path):
        raise click.UsageError("give either TEXT or --input FILE")
    if input_path:
        from .evaluate import EvaluationError, read_jsonl

        try:
            listings = read_jsonl(input_path)
        except EvaluationError as exc:
            raise click.ClickException(str(exc)) from exc
    else:
        first, _, rest = text.partition("\n")
        listings = [{"title": first, "description": rest}]
    judgements = _flagger().judge_many(listings)
    if fmt == "json":
        for listing, j in zip(listings, judgements):
            click.echo(json.dumps({"id": listing.get("id"), **j.to_dict()}, ensure_ascii=False))
        return
    tty = sys.stdout.isatty()
    for n, (listing, j) in enumerate(zip(listings, judgements), 1):
        name = listing.get("id") or f"listing {n}"
        verdict = "SELLS REVIEWS" if j.sells_reviews else "no review offer"
        click.echo(f"{name}: {verdict}  score={j.score:.2f}  language={j.language}"
                   + (f"  platforms={','.join(sorted(j.platforms))}" if j.platforms else ""))
        for f in j.flags:
            click.echo(f"  {f.rule_id}@{f.rule_version}  {f.category}  {f.field}[{f.start}:{f.end}]  score={f.score:.2f}")
            click.echo(f"    {_highlight(_field_text(listing, f.field), f.start, f.end, tty)}")
            click.echo(f"    legal: {'; '.join(f.legal)}")
            click.echo(f"    why: {f.explanation}")


@click.group("rules")
def rules() -> None:
    """Inspect, test and evaluate the flagging rules."""


@rules.command("list")
def list_rules() -> None:
    """Table of rules: id, version, category, severity, title."""
    rows = [(r.id, str(r.version), r.category, f"{r.severity:.2f}", r.title) for r in _flagger().rules]
    heads = ("id", "version", "category", "severity", "title")
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(heads)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(heads, widths)).rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def example_listing(example: Any) -> dict:
    return dict(example) if isinstance(example, dict) else {"title": str(example)}


def run_examples(flagger=None) -> list[str]:
    """Every embedded example through its rule; returns one line per failure."""
    flagger = flagger or _flagger()
    failures = []
    for rule in flagger.rules:
        for kind in ("match", "no_match"):
            examples = rule.examples.get(kind, [])
            for example, j in zip(examples, flagger.judge_many(example_listing(e) for e in examples)):
                fired = any(f.rule_id == rule.id for f in j.flags)
                if fired != (kind == "match"):
                    what = "did not fire on" if kind == "match" else "fired on"
                    failures.append(f"{rule.id}@{rule.version} {what} {kind} example: {json.dumps(example, ensure_ascii=False)}")
    return failures


@rules.command("test")
def test_rules() -> None:
    """Run every rule's embedded match / no_match examples."""
    flagger = _flagger()
    failures = run_examples(flagger)
    total = sum(len(r.examples.get("match", [])) + len(r.examples.get("no_match", [])) for r in flagger.rules)
    if failures:
        for line in failures:
            click.echo(f"FAIL {line}")
        raise click.ClickException(f"{len(failures)} of {total} rule examples failed")
    click.echo(f"ok: {total} examples across {len(flagger.rules)} rules")


@rules.command("eval")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def eval_rules(path: str, fmt: str) -> None:
    """Precision / recall / F1 of sells_reviews on a labeled JSONL file."""
    from .evaluate import EvaluationError, evaluate_file

    try:
        report = evaluate_file(path, _flagger())
    except EvaluationError as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt == "json":
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    o = report["overall"]
    c = o["confusion"]
    click.echo(f"{report['file']}: {report['n']} listings")
    click.echo(f"sells_reviews  precision={o['precision']:.3f}  recall={o['recall']:.3f}  f1={o['f1']:.3f}  "
               f"tp={c['tp']} fp={c['fp']} fn={c['fn']} tn={c['tn']}")
    click.echo(f"fake_engagement-only listings counted as review sellers: {report['fake_engagement_counted_as_reviews']}")
    for key, buckets in report["breakdowns"].items():
        click.echo(f"\nby {key}:")
        for name, b in buckets.items():
            bc = b["confusion"]
            click.echo(f"  {name:<20} n={b['n']:<4} pos={b['positives']:<4} P={b['precision']:.3f} R={b['recall']:.3f} "
                       f"F1={b['f1']:.3f}  tp={bc['tp']} fp={bc['fp']} fn={bc['fn']} tn={bc['tn']}")
    click.echo(f"\nmisclassified: {len(report['errors'])}")
    for e in report["errors"]:
        click.echo(f"  {e['id']} {e['error']}: {e['title']}")
        for line in e.get("rules") or e.get("reason") or ():
            click.echo(f"      {line}")
