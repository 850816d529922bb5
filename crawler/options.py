"""What every command module shares: the `--db` option and opening the store it names.

Kept apart from crawler/cli.py, which imports the command modules: they must not import it back."""

from __future__ import annotations

from pathlib import Path

import click

DEFAULT_DB = "data/turfwatch.db"
DEMO_DB = "data/demo.db"


def db_option(default: str = DEFAULT_DB):
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=default,
        envvar="TURFWATCH_DB", show_default=True, help="SQLite database file.",
    )


def open_store(db_path: Path, *, read_only: bool = True):
    """The store at db_path; a missing file is one clear line, never a new empty database."""
    from crawler.store import Store

    if not db_path.exists():
        hint = f"; the demo's is --db {DEMO_DB}" if Path(DEMO_DB).exists() and db_path != Path(DEMO_DB) else ""
        raise click.ClickException(f"no database at {db_path} (run `turfwatch demo` or `turfwatch crawl` first{hint})")
    return Store(db_path, read_only=read_only)
