"""The `turfwatch` command: a thin layer over the library (runner, store, formats, demo, flagging)."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

import click

from crawler import formats
from crawler.leads import LEAD_STATUSES
from crawler.options import DEMO_DB, db_option, open_store

def parse_pairs(pairs: tuple[str, ...], what: str) -> dict[str, str]:
    result = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{what} must look like NAME=VALUE, got {pair!r}")
        result[name.strip()] = value
    return result


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="turfwatch")
def cli() -> None:
    """Find fake-review sellers on freelance marketplaces: crawl, flag, keep evidence."""


@cli.command()
@db_option(DEMO_DB)
@click.option("--port", type=int, default=0, help="Port of the demo marketplace (0 = any free port).")
@click.option("--day", type=click.IntRange(min=1), default=1, show_default=True,
              help="Day of the demo site: 2 has gigs edited, removed and relisted since day 1.")
def demo(db_path: Path, port: int, day: int) -> None:
    """Start the demo marketplace, crawl it, flag, store, and show the leads."""
    from crawler.demo.crawls import report_lines, run_demo

    def started(site) -> None:
        click.echo(f"Demo marketplace at {site.base_url} (and {len(site.base_urls) - 1} more marketplace shapes); "
                   f"crawling into {db_path} ...", err=True)

    run = run_demo(db_path, port=port, day=day, on_start=started)
    with open_store(db_path) as store:
        counts = store.counts()
        history = store.history_counts()
    click.echo(formats.leads_table(run.leads))
    click.echo(f"Database: {db_path.resolve()}")
    runs = [r.run_id for r in run.results if r.run_id is not None]
    reasons = sorted({r.finish_reason for r in run.results})
    click.echo(
        f"Runs {min(runs, default=0)}-{max(runs, default=0)} ({len(run.results)} marketplaces): {', '.join(reasons)}; "
        f"{sum(r.stats.get('response_received_count', 0) for r in run.results)} pages, "
        f"{counts['listings']} listings, {counts['sellers']} sellers, {counts['flags']} flags, {counts['leads']} leads"
    )
    for line in report_lines(run.reports, run.overall):
        click.echo(line)
    click.echo(
        f"History: {history['versions']} listing versions, {history['removed']} listings removed, "
        f"{history['links']} links between listings with the same offer "
        f"({history['links_across']} of them across marketplaces)."
    )
    click.echo(f"Next: turfwatch leads --db {db_path} | turfwatch export case --top 3 --db {db_path} | turfwatch serve --db {db_path}")
    if run.overall["missed"]:
        click.echo("Missed: " + ", ".join(formats.terminal_safe(s) for s in run.overall["missed"]))
    if run.overall["innocent"]:
        click.echo("Innocent leads: " + ", ".join(formats.terminal_safe(s) for s in run.overall["innocent"]))
    if run.failed:
        raise click.ClickException(f"crawls did not finish: {', '.join(run.failed)}")


def _check_site(arguments: dict[str, str]) -> None:
    """A broken site file is one clear line before the crawl starts, not a traceback inside it."""
    from crawler.siteconfig import SiteConfigError, load_config

    if not (arguments.get("config") or arguments.get("site")):
        raise click.ClickException("the configured spider needs -a site=NAME (sites/NAME.yaml) or -a config=FILE")
    try:
        load_config(arguments.get("config") or arguments["site"])
    except SiteConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _job_name(ctx, param, value: str | None) -> str | None:
    from crawler.jobs import validate_job_name

    try:
        return None if value is None else validate_job_name(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--job") from None


@cli.command()
@click.argument("spider")
@db_option()
@click.option("-a", "spider_args", multiple=True, metavar="NAME=VALUE", help="Spider argument (repeatable), e.g. -a queries='amazon reviews'.")
@click.option("-s", "setting_args", multiple=True, metavar="NAME=VALUE", help="Scrapy setting (repeatable).")
@click.option("--base-url", help="Crawl this host instead of the real site (e.g. a demo marketplace).")
@click.option("--job", callback=_job_name, metavar="NAME",
              help="Resumable job: stop with Ctrl-C, run again with the same NAME to go on (state in <db dir>/jobs/NAME).")
def crawl(spider: str, db_path: Path, spider_args: tuple[str, ...], setting_args: tuple[str, ...], base_url: str | None,
          job: str | None) -> None:
    """Crawl a marketplace with SPIDER, flag what it finds and store it."""
    from scrapy.spiderloader import SpiderLoader

    from crawler.runner import project_settings, run_crawl

    settings = project_settings({**parse_pairs(setting_args, "-s"), "TURFWATCH_DB": str(db_path),
                                 **({"TURFWATCH_JOB": job} if job else {})})
    known = SpiderLoader.from_settings(settings).list()
    if spider not in known:
        raise click.ClickException(f"no spider {spider!r}; known spiders: {', '.join(sorted(known))}")
    arguments = parse_pairs(spider_args, "-a")
    if base_url:
        arguments["base_url"] = base_url
    if spider == "configured":
        _check_site(arguments)
    result = run_crawl(spider, settings=settings, spider_args=arguments)
    stats = result.stats
    click.echo(
        f"Run {result.run_id}: {result.finish_reason}; {stats.get('response_received_count', 0)} pages, "
        f"{stats.get('turfwatch/listings', 0)} listings, {stats.get('turfwatch/flagged', 0)} flagged, "
        f"{stats.get('turfwatch/new_leads', 0)} new leads, {stats.get('turfwatch/blocked', 0)} blocked. Database: {db_path}"
    )
    if result.finish_reason != "finished":
        raise click.ClickException(f"the crawl ended with reason {result.finish_reason!r}")
    from crawler.health import degraded_reasons

    reasons = degraded_reasons(stats)
    if reasons:
        error = click.ClickException(f"run {result.run_id} degraded: " + "; ".join(reasons))
        error.exit_code = 3  # cron and systemd can tell "finished, but look at it" from a failure
        raise error


@cli.command()
@db_option()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--status", type=click.Choice(LEAD_STATUSES), help="Only leads with this status.")
@click.option("--since-last-run", is_flag=True, help="Only leads first found by the latest finished run.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many leads.")
def leads(db_path: Path, fmt: str, status: str | None, since_last_run: bool, limit: int | None) -> None:
    """List seller leads, best first."""
    with open_store(db_path) as store:
        since = store.last_run_id() if since_last_run else None
        rows = store.leads(status=status, since_run=since, limit=limit)
    render = {"table": formats.leads_table, "csv": formats.leads_csv, "json": formats.leads_json}[fmt]
    click.echo(render(rows), nl=False)


@cli.command()
@click.argument("seller")
@db_option()
@click.option("--status", required=True, type=click.Choice(LEAD_STATUSES), help="The lead's new status.")
@click.option("--note", help="Why: it goes into the append-only triage log.")
@click.option("--who", default=lambda: os.environ.get("TURFWATCH_ANALYST") or getpass.getuser(),
              show_default="$TURFWATCH_ANALYST or the login name", help="Who decided.")
def triage(seller: str, db_path: Path, status: str, note: str | None, who: str) -> None:
    """Set the status of the lead SELLER (`marketplace:seller_id`, or a seller_id) and log who, when and why."""
    with open_store(db_path, read_only=False) as store:
        try:
            old, new = store.triage(seller, status, who=who, note=note)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{formats.terminal_safe(seller)}: {old} -> {new} (by {formats.terminal_safe(who)})")


@cli.command()
@click.argument("listing")
@db_option()
def explain(listing: str, db_path: Path) -> None:
    """Show why the stored LISTING (URL, `marketplace:listing_id` or listing_id) was flagged."""
    from crawler.explain import explain_listing

    with open_store(db_path) as store:
        try:
            found = explain_listing(store, listing)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    row = found["listing"]

    t = formats.terminal_line  # seller text: one line, control characters shown, never acted on
    verdict = "SELLS REVIEWS" if row["sells_reviews"] else "no review offer"
    click.echo(f"{t(row['marketplace'])}:{t(row['listing_id'])}  {verdict}  score={row['score']:.2f}  "
               f"language={row['language']}  seller={t(row['seller_id'])}")
    click.echo(f"  {t(row['title'])}\n  {t(row['url'])}" + (f"\n  removed {row['removed_at']}" if row["removed_at"] else ""))
    for f in found["flags"]:
        ctx = f["context"]
        click.echo(f"\n  {f['rule_id']}@{f['rule_version']}  {f['category']}  {f['field']}[{f['span_start']}:{f['span_end']}]"
                   f"  score={f['score']:.2f}")
        click.echo(f"    {t(ctx['before'])}[[{t(ctx['match'])}]]{t(ctx['after'])}"
                   + ("" if ctx["placed"] else "  (stored text and flag disagree)"))
        click.echo(f"    legal: {'; '.join(f['legal'])}")
        click.echo(f"    why: {t(f['explanation'])}")
        if f["capture_id"]:
            click.echo(f"    evidence: {f['capture_id']} fetched {f['fetched_at']} sha256 {f['sha256']} in {f['warc_file']}")
    if not found["flags"]:
        click.echo("  No flags on the current version.")


@cli.command()
@db_option()
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
def runs(db_path: Path, limit: int) -> None:
    """List crawl runs and their health."""
    with open_store(db_path) as store:
        rows = store.runs(limit)
    if not rows:
        click.echo("No runs.")
        return
    click.echo(f"{'id':>4}  {'spider':<10} {'started (UTC)':<21} {'status':<9} {'reason':<12} {'pages':>6} {'listings':>8} {'flagged':>7} {'new leads':>9} {'errors':>6}")
    for r in rows:
        click.echo(
            f"{r['id']:>4}  {r['spider']:<10} {r['started_at']:<21} {r['status']:<9} {r['finish_reason'] or '-':<12} "
            f"{r['pages'] or 0:>6} {r['listings'] or 0:>8} {r['flagged'] or 0:>7} {r['new_leads'] or 0:>9} {r['errors'] or 0:>6}"
        )
        if r.get("status_reason"):  # why a run is degraded: the checks it failed
            click.echo(f"{'':>6}{formats.terminal_safe(r['status_reason'])}")


# --- Commands that live beside their library code: one add_command line each. ---
from crawler.cluster_commands import clusters  # noqa: E402
from crawler.export_commands import export, serve, verify  # noqa: E402
from crawler.flagging.commands import flag, rules  # noqa: E402
from crawler.merge_commands import merge  # noqa: E402

for _command in (flag, rules, export, verify, serve, clusters, merge):
    cli.add_command(_command)


def main() -> None:
    """Entry point: errors are one clear line, not a traceback (TURFWATCH_DEBUG=1 shows it)."""
    try:
        cli.main(prog_name="turfwatch", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if os.environ.get("TURFWATCH_DEBUG"):
            raise
        click.echo(f"turfwatch: error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
