"""The `export`, `verify` and `serve` commands: thin click layers over exports, case, verify and browse."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click

from crawler.leads import LEAD_STATUSES
from crawler.options import db_option, open_store

def default_warc_dir(db_path: Path) -> Path:
    """TURFWATCH_WARC_DIR when crawler.settings sets it, else `<db dir>/warc` as the crawl writes it."""
    from crawler import settings

    configured = getattr(settings, "TURFWATCH_WARC_DIR", None)
    return Path(configured) if configured else db_path.parent / "warc"


@click.group()
def export() -> None:
    """Export leads for analysts, or case bundles with evidence."""


@export.command("leads")
@db_option()
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "xlsx-safe-csv"]), default="csv", show_default=True,
              help="xlsx-safe-csv: CSV with a UTF-8 BOM and CRLF, for Excel.")
@click.option("--status", type=click.Choice(LEAD_STATUSES), help="Only leads with this status.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
def export_leads(db_path: Path, fmt: str, status: str | None, out_path: Path | None) -> None:
    """Write leads as CSV (cells that would run as formulas are neutralised) or JSON lines."""
    from crawler.exports import write_leads

    with open_store(db_path) as store:
        rows = store.leads(status=status)
    if out_path is None:
        # Bytes, so the line ends csv chose reach stdout untranslated on every platform.
        buffer = io.StringIO(newline="")
        write_leads(rows, fmt, buffer)
        sys.stdout.flush()
        sys.stdout.buffer.write(buffer.getvalue().encode("utf-8"))
        sys.stdout.buffer.flush()
    else:
        with open(out_path, "w", encoding="utf-8", newline="") as out:
            count = write_leads(rows, fmt, out)
        click.echo(f"{count} leads written to {out_path}", err=True)


@export.command("case")
@click.argument("sellers", nargs=-1)
@db_option()
@click.option("--status", type=click.Choice(LEAD_STATUSES), help="Every lead with this status, e.g. confirmed.")
@click.option("--cluster", type=int, help="Every seller of this cluster (needs the cluster_members table).")
@click.option("--top", type=click.IntRange(min=1), help="The N best leads.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("cases"),
              show_default=True, help="Directory the bundle is created in.")
@click.option("--warc-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), envvar="TURFWATCH_WARC_DIR",
              help="Where the crawl's WARC files are  [default: <db dir>/warc].")
def export_case(sellers: tuple[str, ...], db_path: Path, status: str | None, cluster: int | None, top: int | None,
                out_dir: Path, warc_dir: Path | None) -> None:
    """Write a case bundle for SELLER... (marketplace:seller_id or seller_id): the captures as WACZ,
    a printable HTML report, leads.csv, exhibit_a.csv and a manifest of SHA-256 hashes."""
    from crawler.case import CaseError, build_case_bundle, resolve_sellers

    if not (sellers or status or cluster is not None or top):
        raise click.UsageError("name sellers, or use --status, --cluster or --top")
    with open_store(db_path) as store:
        try:
            keys = resolve_sellers(store, sellers, status=status, cluster=cluster, top=top)
            if not keys:
                raise CaseError("no sellers match")
            bundle = build_case_bundle(store, keys, out_dir, warc_dir=warc_dir or default_warc_dir(db_path),
                                       db_path=db_path)
        except CaseError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Case bundle for {len(keys)} seller(s): {bundle}", err=True)
    click.echo(str(bundle))


@click.command()
@click.argument("bundle", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-wacz-validate", is_flag=True, help="Skip running `wacz validate` (the WACZ hashes are still checked).")
def verify(bundle: Path, no_wacz_validate: bool) -> None:
    """Check a case bundle: every file against manifest.json, the WACZ against its datapackage."""
    from crawler.formats import terminal_safe
    from crawler.verify import verify_bundle

    problems = verify_bundle(bundle, wacz_validate=not no_wacz_validate)
    if problems:
        for problem in problems:
            click.echo(terminal_safe(problem), err=True)
        click.echo(f"{bundle}: {len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"{bundle}: OK")


@click.command()
@db_option()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8001, show_default=True)
@click.option("--live/--immutable", default=None,
              help="Read-only but seeing a crawl's writes, or immutable  [default: immutable unless a WAL is in use].")
def serve(db_path: Path, host: str, port: int, live: bool | None) -> None:
    """Browse the database read-only in Datasette, with table descriptions and canned queries."""
    from crawler.browse import serve as run

    if not db_path.exists():
        raise click.ClickException(f"no database at {db_path}")
    run(db_path, host=host, port=port, live=live)
