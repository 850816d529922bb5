"""Which spider crawls which demo marketplace, and the ground-truth report per marketplace."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from crawler.demo.truth import GroundTruth

# Marketplaces with a spider of their own; the others are crawled by config (sites/*.yaml).
CODED = ("fiverr", "seoclerks", "peopleperhour", "freelancer")


def demo_crawls(base_urls: dict[str, str]) -> list[tuple[str, str, dict]]:
    """(marketplace, spider, spider args) for every demo marketplace turfwatch can read: coded
    spiders and every shipped site config whose `name` the demo serves."""
    from crawler.siteconfig import all_configs

    crawls = [(name, name, {"base_url": base_urls[name]}) for name in CODED if name in base_urls]
    for config in all_configs():
        if config.name in base_urls and config.name not in CODED:
            crawls.append((config.name, "configured", {"config": str(config.path), "base_url": base_urls[config.name]}))
    return crawls


def marketplace_reports(truths: dict[str, GroundTruth], leads: Iterable[dict], crawled: Iterable[str]) -> dict[str, dict]:
    """marketplace -> GroundTruth.score of that marketplace's leads, for the marketplaces crawled."""
    by_marketplace: dict[str, list[str]] = {}
    for lead in leads:
        by_marketplace.setdefault(lead["marketplace"], []).append(lead["seller_id"])
    reports = {}
    for marketplace in crawled:
        if marketplace in truths:
            reports[marketplace] = {**truths[marketplace].score(by_marketplace.get(marketplace, [])),
                                    "side": truths[marketplace].side}
    return reports


def overall(reports: dict[str, dict]) -> dict:
    total = {k: sum(r[k] for r in reports.values()) for k in ("review_sellers", "found", "leads", "innocent_leads")}
    total["recall"] = total["found"] / total["review_sellers"] if total["review_sellers"] else 0.0
    total["innocent_share"] = total["innocent_leads"] / total["leads"] if total["leads"] else 0.0
    total["missed"] = [f"{m}:{s}" for m, r in reports.items() for s in r["missed"]]
    total["innocent"] = [f"{m}:{s}" for m, r in reports.items() for s in r["innocent"]]
    return total


def report_lines(reports: dict[str, dict], total: dict) -> list[str]:
    """The ground-truth summary: `total` (from `overall(reports)`), then one line per marketplace."""
    lines = [f"Against the demo's ground truth: found {total['found']} of {total['review_sellers']} review sellers "
             f"and buyers (recall {total['recall']:.1%}); {total['innocent_leads']} of {total['leads']} leads innocent "
             f"({total['innocent_share']:.1%})."]
    for marketplace, r in reports.items():
        who = "review buyers" if r["side"] == "buyer" else "review sellers"
        lines.append(f"  {marketplace:<14} found {r['found']:>3} of {r['review_sellers']:>3} {who:<14} "
                     f"(recall {r['recall']:.1%}); {r['innocent_leads']} of {r['leads']} leads innocent "
                     f"({r['innocent_share']:.1%})")
    return lines


@dataclass
class DemoRun:
    """What `run_demo` did: one run per demo marketplace, and how the leads compare with the truth."""

    crawled: list[str]  # marketplace of each run, in run order
    results: list  # crawler.runner.RunResult per run
    leads: list[dict]  # every lead in the database after the runs
    reports: dict[str, dict]  # marketplace -> ground-truth report
    overall: dict

    @property
    def failed(self) -> list[str]:
        return [f"{name}: {r.finish_reason}" for name, r in zip(self.crawled, self.results)
                if r.finish_reason != "finished"]


def run_demo(db_path: str | Path, *, port: int = 0, day: int = 1, on_start=None) -> DemoRun:
    """Serve the demo marketplaces, crawl every one of them into db_path in this
    process (the reactor starts once), and score the leads against the ground truth."""
    from crawler.demo.server import DemoMarketplace
    from crawler.runner import LOCAL_DEMO_SETTINGS, project_settings, run_crawls
    from crawler.store import Store

    with DemoMarketplace(port=port, day=day) as site:
        if on_start:
            on_start(site)
        settings = project_settings({**LOCAL_DEMO_SETTINGS, "TURFWATCH_DB": str(db_path), "LOG_LEVEL": "WARNING"})
        crawls = demo_crawls(site.base_urls)
        results = run_crawls([(spider, args) for _, spider, args in crawls], settings=settings)
        truths = site.truths
    crawled = [marketplace for marketplace, _, _ in crawls]
    with Store(db_path, read_only=True) as store:
        leads = store.leads()
    reports = marketplace_reports(truths, leads, crawled)
    return DemoRun(crawled, results, leads, reports, overall(reports))
