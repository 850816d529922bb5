"""Run health checks on Scrapy stats: each returns a short reason when a run looks wrong, None when it looks fine."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping
from pathlib import Path

# Each failed check leaves its reason under this prefix; the run is then stored as `degraded`.
DEGRADED_PREFIX = "turfwatch/degraded/"
# Stats of pages fetched whose content could not be read: markup drift, broken pages.
# `unparsed_listing` is what the SEOClerks, PeoplePerHour, Freelancer and configured spiders count.
UNPARSED_STATS = ("turfwatch/no_props", "turfwatch/unparsed_gig", "turfwatch/unparsed_listing",
                  "turfwatch/unparsed_seller", "turfwatch/unparsed_search")
STATUS_PREFIX = "downloader/response_status_count/"


def degraded_reasons(stats: Mapping) -> list[str]:
    """The reasons recorded by failed checks, in a stable order."""
    return [str(stats[k]) for k in sorted(stats) if k.startswith(DEGRADED_PREFIX)]


def coverage(stats: Mapping, rules: Mapping[str, float]) -> str | None:
    """Share of items that carry each field (Spidermon's `spidermon_field_coverage/<Item>/<field>`)."""
    low = []
    for field, minimum in rules.items():
        item_type = field.split("/", 1)[0]
        if not stats.get(f"spidermon_item_scraped_count/{item_type}"):
            continue  # no item of this type: the item-count checks speak for that
        got = float(stats.get(f"spidermon_field_coverage/{field}", 0))
        if got < float(minimum):
            low.append(f"{field} {got:.0%} < {float(minimum):.0%}")
    return "field coverage: " + ", ".join(low) if low else None


def validation_errors(stats: Mapping, max_errors: int) -> str | None:
    """Items that broke crawler/schemas/*.json (counted by Spidermon's ItemValidationPipeline)."""
    errors = int(stats.get("spidermon/validation/fields/errors", 0))
    if errors <= max_errors:
        return None
    fields = sorted(k.removeprefix("spidermon/validation/fields/errors/").split("/")[-1]
                    for k in stats if k.startswith("spidermon/validation/fields/errors/"))
    return f"validation: {errors} field errors > {max_errors}" + (f" ({', '.join(sorted(set(fields)))})" if fields else "")


def http_error_share(stats: Mapping, max_share: Mapping[str, float], ignore: Iterable[int] = ()) -> str | None:
    """Share of responses per status class ("4xx", "5xx") above its maximum. Ignored codes
    (404/410: a removed listing is a fact, not an error) count in neither numerator nor denominator."""
    skip = {int(c) for c in ignore}
    counts = {int(k.removeprefix(STATUS_PREFIX)): int(v) for k, v in stats.items()
              if k.startswith(STATUS_PREFIX) and k.removeprefix(STATUS_PREFIX).isdigit()}
    counts = {c: n for c, n in counts.items() if c not in skip}
    total = sum(counts.values())
    if not total:
        return None
    high = []
    for cls, maximum in sorted(max_share.items()):
        n = sum(v for c, v in counts.items() if str(c)[0] == cls[0])
        if n / total > float(maximum):
            high.append(f"{cls} {n}/{total} ({n / total:.0%} > {float(maximum):.0%})")
    return "HTTP errors: " + ", ".join(high) if high else None


def unparsed_share(stats: Mapping, max_share: float, max_search_share: float = 1.0) -> str | None:
    """Pages fetched whose items could not be read, as a share of successful responses;
    search pages also on their own, since one of them hides a whole page of listings."""
    parts = {k.split("/", 1)[1]: int(stats.get(k, 0)) for k in UNPARSED_STATS if stats.get(k)}
    bad = sum(parts.values())
    if not bad:
        return None
    ok_pages = int(stats.get(f"{STATUS_PREFIX}200", 0)) or int(stats.get("response_received_count", 0))
    bad_search = parts.get("no_props", 0) + parts.get("unparsed_search", 0)
    search_pages = int(stats.get("turfwatch/search_pages", 0)) + parts.get("no_props", 0)
    share = bad / max(ok_pages, 1)
    search_share = bad_search / max(search_pages, 1)
    if share <= max_share and search_share <= max_search_share:
        return None
    detail = ", ".join(f"{k} {v}" for k, v in sorted(parts.items()))
    return (f"pages not parsed: {bad}/{ok_pages} pages ({share:.0%}, max {max_share:.0%}), "
            f"{bad_search}/{search_pages} search pages ({search_share:.0%}, max {max_search_share:.0%}); "
            f"{detail} - markup changed?")


def spider_exceptions(stats: Mapping, max_count: int) -> str | None:
    """Callbacks that raised: pages fetched whose items were lost to a bug, not to the site."""
    n = int(stats.get("spider_exceptions/count", 0))
    if n <= max_count:
        return None
    kinds = sorted(k.rsplit("/", 1)[-1] for k in stats if k.startswith("spider_exceptions/") and k != "spider_exceptions/count")
    return f"spider exceptions: {n} > {max_count} ({', '.join(kinds)})"


def item_count_vs_history(count: int, history: list[int], min_ratio: float, min_runs: int = 1) -> str | None:
    """Fewer items than `min_ratio` of the median of earlier healthy runs of the same crawl."""
    if len(history) < max(min_runs, 1):
        return None
    median = statistics.median(history)
    if median <= 0 or count >= min_ratio * median:
        return None
    return f"item count: {count} < {min_ratio:.0%} of median {median:g} of the last {len(history)} runs"


def history_counts(db_path: str | Path, spider: str, args: dict | None, before_run: int | None,
                   limit: int) -> list[int]:
    """Listing counts of the last `limit` healthy runs of the same spider with the same arguments.
    Degraded runs are left out, or a drift would soon become the new normal."""
    from crawler.store import Store

    path = Path(db_path)
    if not path.is_file():
        return []
    wanted = args or {}
    with Store(path, read_only=True) as store:
        rows = store.db.query(
            """SELECT args, listings FROM runs WHERE spider = ? AND status = 'ok' AND finish_reason = 'finished'
               AND id < ? ORDER BY id DESC""",
            [spider, before_run if before_run is not None else 2**62],
        )
        counts = []
        for row in rows:
            if json.loads(row["args"] or "{}") == wanted:
                counts.append(int(row["listings"] or 0))
                if len(counts) >= limit:
                    break
    return counts
