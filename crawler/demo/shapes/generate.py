"""Compose the data files of the demo's other marketplaces (seeded, deterministic): python -m crawler.demo.shapes.generate."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from crawler.demo import pieces as P
from crawler.demo.content import load_catalog
from crawler.demo.generate import fill, slugify
from crawler.demo.shapes import pieces as Q

SEED = 20260301
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
REVIEW_LABELS = {"review_fabrication", "incentivized_reviews", "review_suppression"}

# marketplace -> side, new review accounts, innocent accounts, and Fiverr accounts that
# also work here under a similar name with the same bio and offers (cross-marketplace clusters).
PLAN = {
    "seoclerks": {"side": "seller", "review": 9, "innocent": 30,
                  "twins": {"fivestar_maya": "fivestarmaya", "repclean_agency": "repcleanagency",
                            "booklaunch_hub": "booklaunchhub"}},
    "peopleperhour": {"side": "seller", "review": 8, "innocent": 30,
                      "twins": {"fivestar_maya": "maya_fivestar", "trust_fixers_uk": "trustfixers"}},
    "freelancer": {"side": "buyer", "review": 12, "innocent": 30, "twins": {}},
    "gigbazaar": {"side": "seller", "review": 6, "innocent": 18, "twins": {"amz_rank_pros": "amzrankpros"}},
    "taskhive": {"side": "seller", "review": 6, "innocent": 18, "twins": {"testers_club": "testersclub"}},
    # A site no config ships for: tests add it by writing one.
    "servicebay": {"side": "seller", "review": 4, "innocent": 10, "twins": {}},
}
# Innocent Fiverr accounts that use the SAME name elsewhere (never leads: a bare name stays unambiguous for triage).
SAME_NAME_INNOCENT = {"peopleperhour": 2, "seoclerks": 1}

# Where a listing sits on an SEOClerks-like site; review selling lives mostly in the first two.
SEOCLERKS_CATEGORIES = {"reputation": "reputation-management", "local_seo": "reputation-management",
                        "beta_reading": "product-book-reviews", "amazon": "product-book-reviews",
                        "ecom_mkt": "product-book-reviews", "proofreading": "product-book-reviews"}


def _dump(obj) -> str:
    line = json.dumps(obj, ensure_ascii=False)
    for ch in ("\x85", "\u2028", "\u2029", "\x1c", "\x1d", "\x1e", "\x7f"):
        line = line.replace(ch, "\\u%04x" % ord(ch))
    return line


class ShapeBuilder:
    def __init__(self, marketplace: str, seed: int):
        self.marketplace = marketplace
        self.rng = random.Random(f"{seed}-{marketplace}")
        self.plan = PLAN[marketplace]
        self.accounts: list[dict] = []
        self.listings: list[dict] = []
        self.names: set[str] = set()
        self.next_id = 100_000 + self.rng.randint(0, 50_000)

    def category(self, mcat: str) -> str:
        if self.marketplace == "seoclerks" and mcat in SEOCLERKS_CATEGORIES:
            return SEOCLERKS_CATEGORIES[mcat]
        return slugify(P.MCATS.get(mcat, (0, "", 0, mcat))[3] or mcat)

    def title(self, title: str) -> str:
        if self.plan["side"] == "buyer":
            return title
        if self.marketplace == "peopleperhour" and title.startswith("I will "):
            rest = title.removeprefix("I will ")
            return rest[0].upper() + rest[1:]  # Hourlies read as the thing you get
        return title

    def username(self) -> str:
        while True:
            country, firsts, lasts = self.rng.choice(P.NAME_POOLS)
            first, last = self.rng.choice(firsts), self.rng.choice(lasts)
            style = self.rng.randrange(3)
            name = [f"{first}{last}", f"{first}_{last[:4]}", f"{first[0]}{last}{self.rng.randint(2, 99)}"][style]
            name = re.sub(r"[^a-z0-9_]", "", name.lower())
            if len(name) >= 4 and name not in self.names:
                return name, f"{first.title()} {last.title()}", country

    def account(self, name: str, display: str, country: str, bio: str) -> dict:
        assert name not in self.names, name
        self.names.add(name)
        acc = {"kind": "account", "name": name, "numeric_id": 10_000_000 + self.rng.randint(0, 89_999_999),
               "display_name": display, "country": country, "bio": bio, "side": self.plan["side"],
               "member_since": f"20{self.rng.randint(14, 25)}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"}
        self.accounts.append(acc)
        return acc

    def listing(self, acc: dict, title: str, description: str, tags: list[str], mcat: str, label: str,
                price: float | None = None) -> dict:
        self.next_id += self.rng.randint(7, 900)
        item = {"kind": "listing", "id": self.next_id, "account": acc["name"], "title": self.title(title),
                "description": description, "tags": tags,
                "price": price or self.rng.choice([5, 10, 15, 20, 30, 50, 75, 100, 150, 250]),
                "category": self.category(mcat), "label": label, "sells_reviews": int(label in REVIEW_LABELS)}
        self.listings.append(item)
        return item

    def from_unit(self, acc: dict, unit: dict) -> dict:
        values = {k: self.rng.choice(v) for k, v in unit["slots"].items()}
        return self.listing(acc, fill(unit["title"], values), fill(unit["desc"], values),
                            [fill(t, values) for t in unit["tags"]], unit["mcat"], unit["label"], unit["price"])

    def build(self) -> list[dict]:
        rng, plan = self.rng, self.plan
        fiverr = load_catalog()
        for fiverr_name, name in plan["twins"].items():
            seller = fiverr.sellers[fiverr_name]
            acc = self.account(name, seller["display_name"], seller["country"], seller["description"])
            for gig in fiverr.by_seller[fiverr_name]:
                label = gig["category"] if gig["sells_reviews"] else "none"
                self.listing(acc, gig["title"], gig["description"], gig["tags"], "reputation", label, gig["price"])
        buyer = plan["side"] == "buyer"
        offers = Q.BUYER_REVIEW_PROJECTS if buyer else Q.REVIEW_OFFERS
        for unit in rng.sample(offers, plan["review"]):
            name, display, country = self.username()
            acc = self.account(name, display, country, "Small business owner." if buyer else f"{display}: online marketing.")
            self.from_unit(acc, unit)
            if rng.random() < 0.35:  # review sellers also sell ordinary things
                self.from_unit(acc, rng.choice(Q.BUYER_PROJECTS if buyer else rng.choice(list(P.ORDINARY.values()))))
        same = [s for s in fiverr.sellers.values() if not s["sells_reviews"] and len(fiverr.by_seller[s["username"]]) >= 1]
        for seller in rng.sample(same, SAME_NAME_INNOCENT.get(self.marketplace, 0)):
            acc = self.account(seller["username"], seller["display_name"], seller["country"], seller["description"])
            for gig in fiverr.by_seller[seller["username"]][:2]:
                self.listing(acc, gig["title"], gig["description"], gig["tags"], "web", "none", gig["price"])
        hard = [u for units in P.HARD_NEGATIVES.values() for u in units if u["lang"] == "en"]
        ordinary = [u for units in P.ORDINARY.values() for u in units if u["lang"] == "en"]
        for _ in range(plan["innocent"]):
            name, display, country = self.username()
            acc = self.account(name, display, country, "Client." if buyer else f"Freelancer from {country}.")
            for _ in range(rng.choice([1, 1, 2])):
                if buyer:
                    unit = rng.choice(Q.BUYER_PROJECTS)
                else:
                    unit = rng.choice(hard if rng.random() < 0.6 else ordinary)
                self.from_unit(acc, unit)
        self.listings.sort(key=lambda item: item["id"])
        return sorted(self.accounts, key=lambda a: a["name"]) + self.listings


def write(data_dir: Path = DATA_DIR) -> dict[str, int]:
    counts = {}
    for marketplace in PLAN:
        records = ShapeBuilder(marketplace, SEED).build()
        (data_dir / f"{marketplace}.jsonl").write_text("".join(_dump(r) + "\n" for r in records), encoding="utf-8")
        counts[marketplace] = sum(r["kind"] == "listing" for r in records)
    return counts


if __name__ == "__main__":
    print(write())
