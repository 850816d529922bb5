"""The `turfwatch merge` command: a thin layer over crawler.merge."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("shards", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--into", "into", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Database to merge into (created if missing; may be one of the workers' own).")
@click.option("--no-warc", is_flag=True, help="Do not copy the shards' WARC files beside the merged database.")
def merge(shards: tuple[Path, ...], into: Path, no_warc: bool) -> None:
    """Merge the SQLite SHARDS of several crawl workers into one database.

    Merging is idempotent and the same in any order: runs are renumbered, sellers,
    listings, versions, flags and captures are matched on their keys, and leads are
    recomputed from the merged data."""
    from crawler.merge import merge_shards

    try:
        report = merge_shards(shards, into, copy_warc=not no_warc)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    changed = ", ".join(f"{n} {table}" for table, n in sorted(report.rows.items()) if n) or "nothing new"
    click.echo(f"Merged {report.shards} shard(s) into {into}: {report.runs_added} runs added; {changed}.")
    if not no_warc:
        click.echo(f"WARC files copied: {report.warc_copied}.")
    if report.warc_missing:
        click.echo(f"WARC files not found beside their shard: {', '.join(report.warc_missing)}", err=True)
