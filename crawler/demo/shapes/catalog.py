"""One non-Fiverr demo marketplace's accounts and listings, searchable, with its ground truth."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from crawler.demo.content import DATA_DIR, words
from crawler.demo.truth import GroundTruth


@dataclass
class ShapeCatalog:
    marketplace: str
    accounts: dict[str, dict]  # name -> account
    listings: list[dict]  # sorted by id
    by_id: dict[int, dict] = field(init=False)
    by_account: dict[str, list[dict]] = field(init=False)
    by_numeric_id: dict[int, dict] = field(init=False)

    def __post_init__(self):
        self.by_id = {item["id"]: item for item in self.listings}
        self.by_account = {name: [] for name in self.accounts}
        for item in self.listings:
            self.by_account[item["account"]].append(item)
        self.by_numeric_id = {acc["numeric_id"]: acc for acc in self.accounts.values()}
        self._index = [(item, set(words(" ".join([item["title"], item["description"], *item["tags"]]))))
                       for item in self.listings]

    def search(self, query: str | None) -> list[dict]:
        """Listings holding every query word (no query: all of them), by id."""
        wanted = set(words(query or ""))
        return [item for item, text in self._index if wanted <= text]

    def in_category(self, category: str) -> list[dict]:
        return [item for item in self.listings if item["category"] == category]

    def truth(self) -> GroundTruth:
        reviewers = {item["account"] for item in self.listings if item["sells_reviews"]}
        side = next(iter({acc["side"] for acc in self.accounts.values()}), "seller")
        seller_key = (lambda acc: str(acc["numeric_id"])) if side == "buyer" else (lambda acc: acc["name"])
        key = {name: seller_key(acc) for name, acc in self.accounts.items()}
        return GroundTruth(
            review_sellers={key[name] for name in reviewers},
            all_sellers=set(key.values()),
            gig_labels={str(i["id"]): i["sells_reviews"] for i in self.listings},
            gig_category={str(i["id"]): i["label"] for i in self.listings},
            gig_seller={str(i["id"]): key[i["account"]] for i in self.listings},
            side=side,
        )


@lru_cache(maxsize=16)
def load_shape(marketplace: str, data_dir: str | Path | None = None) -> ShapeCatalog:
    path = Path(data_dir or DATA_DIR) / f"{marketplace}.jsonl"
    with path.open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    accounts = {r["name"]: r for r in records if r["kind"] == "account"}
    listings = sorted((r for r in records if r["kind"] == "listing"), key=lambda r: r["id"])
    return ShapeCatalog(marketplace, accounts, listings)
