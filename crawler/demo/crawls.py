"""Which spider crawls which demo marketplace, and the ground-truth report per marketplace."""

from __future__ import annotations

from collections.abc import Iterable

from crawler.demo.truth import GroundTruth

# Marketplaces with a spider of their own; the others are crawled by config (sites/*.yaml).
CODED = ("fiverr", "seoclerks", "peopleperhour", "freelancer")


def demo_crawls(base_urls: dict[str, str]) -> list[tuple[str, dict]]:
    """(spider, spider args) for every demo marketplace turfwatch can read: coded spiders
    and every shipped site config whose `name` the demo serves."""
    from crawler.siteconfig import all_configs

    crawls = [(name, {"base_url": base_urls[name]}) for name in CODED if name in base_urls]
    for config in all_configs():
        if config.name in base_urls and config.name not in CODED:
            crawls.append(("configured", {"config": str(config.path), "base_url": base_urls[config.name]}))
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


def report_lines(reports: dict[str, dict]) -> list[str]:
    total = overall(reports)
    lines = [f"Against the demo's ground truth: found {total['found']} of {total['review_sellers']} review sellers "
             f"and buyers (recall {total['recall']:.1%}); {total['innocent_leads']} of {total['leads']} leads innocent "
             f"({total['innocent_share']:.1%})."]
    for marketplace, r in reports.items():
        who = "review buyers" if r["side"] == "buyer" else "review sellers"
        lines.append(f"  {marketplace:<14} found {r['found']:>3} of {r['review_sellers']:>3} {who:<14} "
                     f"(recall {r['recall']:.1%}); {r['innocent_leads']} of {r['leads']} leads innocent "
                     f"({r['innocent_share']:.1%})")
    return lines
