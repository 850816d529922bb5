"""Load the demo catalog from its data files and search it as the demo site does."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
PAGE_SIZE = 48
_WORD_RE = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Case- and accent-fold: NFKD, drop combining marks, casefold."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def words(text: str) -> list[str]:
    """Folded words, each with one trailing "s" stripped so plurals match singulars."""
    return [w[:-1] if len(w) > 1 and w.endswith("s") else w for w in _WORD_RE.findall(fold(text))]


@dataclass
class Catalog:
    sellers: dict[str, dict]  # username -> seller record
    gigs: list[dict]  # sorted by gig id
    by_id: dict[int, dict] = field(init=False)
    by_path: dict[tuple[str, str], dict] = field(init=False)
    by_seller: dict[str, list[dict]] = field(init=False)

    def __post_init__(self):
        self.by_id = {g["gig_id"]: g for g in self.gigs}
        self.by_path = {(g["seller"], g["slug"]): g for g in self.gigs}
        self.by_seller = {u: [] for u in self.sellers}
        self._index = []
        for g in self.gigs:
            self.by_seller[g["seller"]].append(g)
            head = set(words(g["title"])) | {w for t in g["tags"] for w in words(t)}
            self._index.append((g, head, head | set(words(g["description"]))))

    def search(self, query: str) -> list[dict]:
        """Gigs whose title, tags or description hold every query word; title/tag hits first, then by id."""
        wanted = set(words(query or ""))
        if not wanted:
            return []
        hits = [(not (wanted & head), g["gig_id"], g) for g, head, everything in self._index if wanted <= everything]
        return [g for _, _, g in sorted(hits, key=lambda h: (h[0], h[1]))]


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:  # text-mode iteration splits on \n only
        return [json.loads(line) for line in fh if line.strip()]


@lru_cache(maxsize=4)
def load_catalog(data_dir: str | Path | None = None) -> Catalog:
    base = Path(data_dir) if data_dir else DATA_DIR
    sellers = {s["username"]: s for s in _read_jsonl(base / "sellers.jsonl")}
    gigs = sorted(_read_jsonl(base / "gigs.jsonl"), key=lambda g: g["gig_id"])
    return Catalog(sellers, gigs)
