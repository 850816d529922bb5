"""Compose the demo marketplace's data files from hand-written pieces (seeded, deterministic)."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import unicodedata
from pathlib import Path

from crawler.demo import pieces as P

SEED = 20250611
TARGET_SELLERS = 170
TARGET_GIGS = 450
DATA_DIR = Path(__file__).parent / "data"
# Paths the server routes itself: no seller may take these names.
RESERVED = {"search", "images", "robots", "users", "categories", "static"}
USERNAME_RE = re.compile(r"^[a-z][a-z0-9_]{3,24}$")
SEARCH_WORDS = ("reviews", "review", "ratings", "feedback", "testimonials", "stars", "reseñas",
                "bewertungen", "avis", "avaliações", "recensioni", "beoordelingen")

# Real sellers reuse popular titles with a twist; these keep titles distinct.
TITLE_SUFFIXES = (" in 24 hours", " professionally", ", fast delivery", " with unlimited revisions",
                  " for small businesses", " for startups", " at an affordable price", " within 2 days",
                  " as an expert", ", satisfaction guaranteed", " for your brand", " with a quick turnaround")


def slugify(text: str, limit: int = 70) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for w in words:
        if len(slug) + len(w) + 1 > limit:
            break
        slug = f"{slug}-{w}" if slug else w
    return slug or "gig"


def fill(text: str, values: dict[str, str]) -> str:
    for k, v in values.items():
        text = text.replace("{" + k + "}", v)
    return text


class Builder:
    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)
        self.sellers: list[dict] = []
        self.gigs: list[dict] = []
        self.titles: set[str] = set()
        self.usernames: set[str] = set()
        self.seller_ids: set[int] = set()

    # -- sellers
    def seller_id(self) -> int:
        while True:
            sid = self.rng.randint(10_000_000, 399_999_999)
            if sid not in self.seller_ids:
                self.seller_ids.add(sid)
                return sid

    def member_since(self, level) -> str:
        start = {"top_rated_seller": 2012, "level_two_seller": 2014, "level_one_seller": 2017}.get(level, 2020)
        day = dt.date(start, 1, 1) + dt.timedelta(days=self.rng.randint(0, (dt.date(2025, 6, 30) - dt.date(start, 1, 1)).days))
        return day.isoformat()

    def add_seller(self, username, name, country, level, bio) -> dict:
        assert USERNAME_RE.match(username) and username not in RESERVED, username
        assert username not in self.usernames, username
        self.usernames.add(username)
        seller = {"seller_id": self.seller_id(), "username": username, "display_name": name,
                  "country": country, "level": level, "member_since": self.member_since(level),
                  "description": bio}
        self.sellers.append(seller)
        return seller

    def new_username(self, first, last, specialty) -> str:
        word = self.rng.choice(P.HANDLE_WORDS[specialty])
        patterns = [f"{first}_{word}", f"{first}{last}", f"{first}_{last}{self.rng.randint(1, 99)}",
                    f"{word}by{first}", f"{first}{last[:3]}_{word}", f"the{first}{word}"]
        for cand in self.rng.sample(patterns, len(patterns)):
            if USERNAME_RE.match(cand) and cand not in self.usernames and cand not in RESERVED:
                return cand
        return f"{first}_{word}{self.rng.randint(100, 999)}"

    # -- gigs
    def packages(self, unit, lang) -> list[dict]:
        n = self.rng.choices([1, 2, 3], weights=[15, 15, 70])[0]
        base = unit["price"] or self.rng.choice([5, 10, 15, 20, 25, 30, 40, 50, 75, 100])
        mults = [1, self.rng.uniform(1.8, 2.6), self.rng.uniform(3.5, 6.0)]
        if unit["label"] == "fake_engagement":
            qty = self.rng.choice([(500, 1000, 5000), (1000, 5000, 10000), (250, 1000, 2500)])
        else:
            qty = self.rng.choice([(5, 10, 25), (3, 10, 30), (10, 25, 50), (1, 3, 5)])
        days = self.rng.randint(1, 5)
        names = P.PACKAGE_NAMES[lang]
        texts = P.PACKAGE_TEXT[lang]
        out = []
        for i in range(n):
            desc = f"{qty[i]} {unit['noun']}" if unit["noun"] else texts[i]
            out.append({"id": i + 1, "title": names[i], "description": desc,
                        "price": max(5, int(round(base * mults[i] / 5.0)) * 5),
                        "duration": days + 2 * i})
        return out

    def rating(self) -> dict:
        if self.rng.random() < 0.08:
            return {"score": 0.0, "count": 0}
        count = min(3000, int(self.rng.paretovariate(1.1) * 8))
        return {"score": round(self.rng.uniform(4.3, 5.0), 1), "count": count}

    def add_gig(self, seller: dict, unit: dict, *, boast_p=0.3, title_retry=True) -> dict | None:
        values = {k: self.rng.choice(v) for k, v in unit["slots"].items()}
        title = fill(unit["title"], values)
        if title in self.titles and title_retry:
            if unit["lang"] != "en":
                return None
            title = title + self.rng.choice(TITLE_SUFFIXES)
            if title in self.titles:
                return None
        self.titles.add(title)
        lang = unit["lang"]
        paras = [fill(unit["desc"], values)]
        if self.rng.random() < boast_p:
            boast = self.rng.choice(P.BOASTS.get(lang, P.BOASTS["en"]))
            paras.append(boast.replace("{n}", str(self.rng.choice([150, 300, 500, 800, 1200, 2000]))))
        if self.rng.random() < 0.6:
            paras.append(self.rng.choice(P.CLOSERS[lang]))
        faq = [{"question": q, "answer": a} for q, a in unit["faq"]]
        if lang == "en" and self.rng.random() < 0.35:
            faq += [{"question": q, "answer": a} for q, a in self.rng.sample(P.GENERIC_FAQ["en"], self.rng.randint(1, 2))]
        cat_id, cat_name, sub_id, sub_name = P.MCATS[unit["mcat"]]
        packages = self.packages(unit, lang)
        label = unit["label"]
        gig = {
            "gig_id": None, "seller": seller["username"], "title": title, "slug": None,
            "description": "\n\n".join(paras),
            "tags": [fill(t, values) for t in unit["tags"]],
            "packages": packages, "faq": faq,
            "price": min(p["price"] for p in packages),
            "rating": self.rating(),
            "category_id": cat_id, "category_name": cat_name,
            "sub_category_id": sub_id, "sub_category_name": sub_name,
            "is_pro": self.rng.random() < 0.03, "promoted": self.rng.random() < 0.06,
            "lang": lang,
            "sells_reviews": 1 if label in ("review_fabrication", "incentivized_reviews", "review_suppression") else 0,
            "category": label, "tricks": unit["tricks"],
        }
        self.gigs.append(gig)
        return gig

    # -- whole catalog
    def build(self) -> tuple[list[dict], list[dict]]:
        rng = self.rng
        for group in P.REVIEW_SELLERS + P.ENGAGEMENT_SELLERS:
            seller = self.add_seller(group["username"], group["name"], group["country"], group["level"], group["bio"])
            for unit in group["gigs"]:
                self.add_gig(seller, unit, boast_p=0.1, title_retry=False)
        self.add_hostile()
        innocent = []
        pools = P.NAME_POOLS
        while len(self.sellers) < TARGET_SELLERS:
            country, firsts, lasts = rng.choice(pools)
            first, last = rng.choice(firsts), rng.choice(lasts)
            hard = rng.random() < 0.45
            specialty = rng.choice(P.HARD_SPECIALTIES if hard else P.ORDINARY_SPECIALTIES)
            username = self.new_username(first, last, specialty)
            name = rng.choice([f"{first.title()} {last[0].upper()}.", f"{first.title()} {last.title()}",
                               f"{first.title()} {specialty.replace('_', ' ').title()} Studio"])
            level = rng.choices([None, "level_one_seller", "level_two_seller", "top_rated_seller"], weights=[30, 35, 25, 10])[0]
            seller = self.add_seller(username, name, country, level, f"{specialty.replace('_', ' ').title()} services by {first.title()}.")
            innocent.append((seller, specialty, hard))
        # Spread innocent gigs over sellers until the catalog reaches its target size.
        quota = {s["username"]: 1 for s, _, _ in innocent}
        while sum(quota.values()) + len(self.gigs) < TARGET_GIGS:
            quota[rng.choice(innocent)[0]["username"]] += 1
        for seller, specialty, hard in innocent:
            placed = 0
            tries = 0
            while placed < quota[seller["username"]] and tries < 60:
                tries += 1
                spec = specialty
                if rng.random() < 0.2:  # sellers often offer a side service outside their specialty
                    spec = rng.choice(P.HARD_SPECIALTIES + P.ORDINARY_SPECIALTIES)
                pool = P.HARD_NEGATIVES.get(spec) or P.ORDINARY[spec]
                unit = rng.choice(pool)
                if self.add_gig(seller, unit, title_retry=tries < 40):
                    placed += 1
        self.finish()
        return self.sellers, self.gigs

    def add_hostile(self):
        s = self.add_seller("sam_builds_pages", "Sam </script><script>alert('x')</script>", "US", "level_one_seller",
                            "<img src=x onerror=alert(1)> I build pages & funnels. </script><!--")
        # A review seller, so that the demo's own lead list and case exports must carry this text safely.
        hostile = P.U("I will post 5 star google reviews <script>alert(1)</script> on your business page",
                      '=HYPERLINK("http://evil.example/x","click")\n\nReal-looking Google reviews from local guide '
                      'accounts, posted to your Maps listing. Ask me anything "before" you order: <b>bold</b> claims, '
                      '</p></div> broken markup and all.',
                      ["google reviews", "<b>html</b>", "=cmd|' /C calc'!A0"], "local_seo", label=P.F)
        hostile["faq"] = [("Is <script> safe?", "It's \"escaped\" & fine ]]> --> </script>")]
        self.add_gig(s, hostile, boast_p=0, title_retry=False)
        w = self.add_seller("unicode_arts", "Lina \u2728 \u0644\u064a\u0646\u0627", "EG", None,
                            "Designer. \u0645\u0635\u0645\u0645\u0629 \u062c\u0631\u0627\u0641\u064a\u0643 \U0001F3A8")
        weird = P.U('I will design "Bold & Beautiful" logos \U0001F680 for your brand \u200f\u0634\u0639\u0627\u0631\u200f & more',
                    'Quotes: "double", \'single\', \u00abguillemets\u00bb, \u201ccurly\u201d.\n'
                    'Ampersands: R&D, AT&T, &amp; literal, &#x27; literal, a < b > c.\n\n'
                    'Emoji outside the BMP: \U0001F680\U0001F3A8\U0001F469\u200d\U0001F4BB\U0001F1FA\U0001F1F8 \U0001D4BB\U0001D4B6\U0001D4C3\U0001D4B8\U0001D4CE text.\n'
                    'RTL: \u0645\u0631\u062d\u0628\u0627 \u0628\u0643\u0645 \u2014 \u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd \u2014 \u202eRTL override\u202c.\n\n'
                    'Control characters: bell\x07 escape\x1b vtab\x0b unitsep\x1f delete\x7f nextline\x85 linesep\u2028 parasep\u2029 zwsp\u200b.',
                    ["logo & branding", '"quoted"', "\u0634\u0639\u0627\u0631", "\U0001F680 design"], "logo")
        self.add_gig(w, weird, boast_p=0, title_retry=False)

    def finish(self):
        rng = self.rng
        rng.shuffle(self.gigs)
        gid = 300_000_000 + rng.randint(0, 5_000_000)
        slugs: set[str] = set()
        for gig in self.gigs:
            gid += rng.randint(20_000, 400_000)
            gig["gig_id"] = gid
            base = slugify(gig["title"].removeprefix("I will "))
            slug, n = base, 2
            while slug in slugs:
                slug, n = f"{base}-{n}", n + 1
            slugs.add(slug)
            gig["slug"] = slug
        self.gigs.sort(key=lambda g: g["gig_id"])
        by_seller: dict[str, list[dict]] = {}
        for gig in self.gigs:
            by_seller.setdefault(gig["seller"], []).append(gig)
        for s in self.sellers:
            mine = by_seller[s["username"]]
            count = sum(g["rating"]["count"] for g in mine)
            score = sum(g["rating"]["score"] * g["rating"]["count"] for g in mine) / count if count else 0.0
            s["rating"] = {"score": round(score, 2), "count": count}
            s["sells_reviews"] = int(any(g["sells_reviews"] for g in mine))
        self.sellers.sort(key=lambda s: s["username"])


def _dump(obj) -> str:
    # Escape the characters str.splitlines() treats as line breaks, so every record stays on one line.
    line = json.dumps(obj, ensure_ascii=False, sort_keys=False)
    for ch in ("\x85", "\u2028", "\u2029", "\x1c", "\x1d", "\x1e", "\x7f"):
        line = line.replace(ch, "\\u%04x" % ord(ch))
    return line


def write(data_dir: Path = DATA_DIR) -> tuple[int, int]:
    sellers, gigs = Builder().build()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "sellers.jsonl").write_text("".join(_dump(s) + "\n" for s in sellers), encoding="utf-8")
    (data_dir / "gigs.jsonl").write_text("".join(_dump(g) + "\n" for g in gigs), encoding="utf-8")
    return len(sellers), len(gigs)


if __name__ == "__main__":
    print("sellers=%d gigs=%d" % write())
