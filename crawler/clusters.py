"""Seller clusters: accounts that are likely one operation, each link with the evidence behind it."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


from crawler.contacts import Contact, extract_contacts, listing_texts
from crawler.items import utc_now

DEFAULT_THRESHOLD = 0.7
SCOPES = ("leads", "all")
SHINGLE_WORDS = 3
NUM_PERM = 128
MINHASH_SEED = 1  # fixed: the same store always gives the same links
LSH_WEIGHTS = (0.1, 0.9)  # (false positive, false negative)
# A text with fewer 3-word phrases than this ("I will post reviews") says too little:
# hundreds of honest sellers share a short title.
MIN_SHINGLES = 8
# A contact, site or image shared by more sellers than this is a template or a stock
# picture, not one operation; it would glue unrelated sellers into one giant cluster.
MAX_SHARED = 25

SellerKey = tuple[str, str]  # (marketplace, seller_id)

KIND_LABELS = {
    "text": "near-duplicate listing text",
    "email": "same email address",
    "phone": "same phone / WhatsApp number",
    "handle": "same @handle (Telegram or other)",
    "skype": "same Skype account",
    "domain": "same outside website",
    "image": "same gig image",
}

_WORD = re.compile(r"\w{1,64}")
# Cloudinary-style path segments ("t_main1,q_auto,f_auto") resize one image; they
# do not make another one.
_TRANSFORM_SEGMENT = re.compile(r"[a-z]{1,3}_[^/,.]{1,40}(?:,[a-z]{1,3}_[^/,]{1,40}){0,20}")
_DIGEST = re.compile(r"(?:(?:sha256|sha1|md5|phash)[:=])?[0-9a-f]{16,128}")


@dataclass(frozen=True, order=True)
class Link:
    """Why two sellers look like one operation. `a` < `b`; `similarity` is set for text links."""

    a: SellerKey
    b: SellerKey
    kind: str
    evidence: str
    similarity: float | None = None

    @property
    def reason(self) -> str:
        return f"{KIND_LABELS.get(self.kind, self.kind)}: {self.evidence}"


@dataclass
class Member:
    marketplace: str
    seller_id: str
    display_name: str | None = None
    lead_status: str | None = None  # None: not a lead
    lead_score: float = 0.0

    @property
    def key(self) -> SellerKey:
        return self.marketplace, self.seller_id

    @property
    def is_lead(self) -> bool:
        return self.lead_status is not None


@dataclass
class Cluster:
    id: int
    members: list[Member]
    links: list[Link] = field(default_factory=list)
    score: float = 0.0  # sum of the members' lead scores

    @property
    def size(self) -> int:
        return len(self.members)

    def as_dict(self) -> dict:
        return {
            "cluster_id": self.id, "size": self.size, "score": self.score,
            "members": [
                {"marketplace": m.marketplace, "seller_id": m.seller_id, "display_name": m.display_name,
                 "lead": m.is_lead, "lead_status": m.lead_status, "lead_score": m.lead_score}
                for m in self.members
            ],
            "links": [
                {"a": list(link.a), "b": list(link.b), "kind": link.kind, "reason": link.reason,
                 "evidence": link.evidence, "similarity": link.similarity}
                for link in self.links
            ],
        }


def _name(key: SellerKey) -> str:
    return f"{key[0]}:{key[1]}"


def _pair(x: SellerKey, y: SellerKey) -> tuple[SellerKey, SellerKey]:
    return (x, y) if x <= y else (y, x)


def _quote(text: str | None, width: int = 60) -> str:
    text = " ".join((text or "").split())
    return "“" + (text if len(text) <= width else text[: width - 1] + "…") + "”"


# --- reading the store ----------------------------------------------------------


def _listings(store) -> list[dict]:
    return list(store.db.query(
        """SELECT marketplace, listing_id, seller_id, url, title, description, packages, faq, image_urls
           FROM listings ORDER BY marketplace, listing_id"""
    ))


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """Overlapping `size`-word phrases of casefolded words: blind to case, spacing and punctuation."""
    words = _WORD.findall(text.casefold())
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


def image_key(url: str) -> str | None:
    """One key per picture: the URL path without host, query and resize steps, or a digest as given."""
    url = url.strip()
    if not url:
        return None
    if "://" not in url and _DIGEST.fullmatch(url.lower()):
        return url.lower()
    path = urlsplit(url if "://" in url else "//" + url).path
    segments = [s for s in path.split("/") if s]
    if not segments:
        return None
    kept = [s for s in segments[:-1] if not _TRANSFORM_SEGMENT.fullmatch(s)] + segments[-1:]
    return "/" + "/".join(kept)


# --- links -------------------------------------------------------------------------


def text_links(listings: list[dict], threshold: float = DEFAULT_THRESHOLD) -> list[Link]:
    """Sellers whose listings say nearly the same thing (title + description), by MinHash LSH.

    One link per seller pair, carrying the most similar pair of listings."""
    # Imported here: datasketch brings SciPy, and every CLI command imports this module.
    from datasketch import MinHash, MinHashLSH

    # Candidates are checked against the estimate below, so a false positive costs one
    # comparison while a false negative loses a link: weigh the banding towards recall.
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, weights=LSH_WEIGHTS)
    hashes: list = []  # MinHash, or None for a listing too short to compare
    for i, row in enumerate(listings):
        phrases = shingles(f"{row['title'] or ''} {row['description'] or ''}")
        if len(phrases) < MIN_SHINGLES:
            hashes.append(None)
            continue
        mh = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED)
        mh.update_batch(p.encode("utf-8") for p in sorted(phrases))
        lsh.insert(str(i), mh)
        hashes.append(mh)
    best: dict[tuple[SellerKey, SellerKey], tuple[float, int, int]] = {}
    pairs: dict[tuple[SellerKey, SellerKey], int] = defaultdict(int)
    for i, mh in enumerate(hashes):
        if mh is None:
            continue
        seller_i = (listings[i]["marketplace"], listings[i]["seller_id"])
        for j in sorted(int(k) for k in lsh.query(mh)):
            seller_j = (listings[j]["marketplace"], listings[j]["seller_id"])
            if j <= i or seller_i == seller_j:
                continue
            # LSH only proposes candidates; the estimate decides.
            similarity = round(mh.jaccard(hashes[j]), 3)
            if similarity < threshold:
                continue
            key = _pair(seller_i, seller_j)
            pairs[key] += 1
            first, second = (i, j) if key[0] == seller_i else (j, i)
            if key not in best or similarity > best[key][0]:
                best[key] = (similarity, first, second)
    links = []
    for (a, b), (similarity, i, j) in best.items():
        la, lb = listings[i], listings[j]
        more = pairs[(a, b)] - 1
        evidence = (
            f"{_name(a)} listing {la['listing_id']} {_quote(la['title'])} and {_name(b)} listing "
            f"{lb['listing_id']} {_quote(lb['title'])} share about {similarity:.0%} of their "
            f"{SHINGLE_WORDS}-word phrases (estimated Jaccard {similarity:.2f})"
            + (f"; {more} more similar listing pair{'s' if more > 1 else ''}" if more else "")
        )
        links.append(Link(a, b, "text", evidence, similarity))
    return links


def _ignored_hosts(row: dict) -> set[str]:
    host = urlsplit(row["url"] or "").hostname or ""
    return {host.removeprefix("www.")} if host else set()


def contact_links(listings: list[dict], max_shared: int = MAX_SHARED) -> list[Link]:
    """Sellers who give the same email, phone, handle, Skype or outside site anywhere in their listings."""
    seen: dict[tuple[str, str], dict[SellerKey, tuple[Contact, str]]] = defaultdict(dict)
    for row in listings:
        seller = (row["marketplace"], row["seller_id"])
        ignore = _ignored_hosts(row)
        for text in listing_texts(row):
            for contact in extract_contacts(text, ignore_domains=ignore):
                seen[contact.key].setdefault(seller, (contact, row["listing_id"]))
    return _shared(seen, max_shared, _contact_evidence)


def _contact_evidence(key: tuple[str, str], a: SellerKey, first: tuple, b: SellerKey, second: tuple) -> str:
    value = ("+" + key[1]) if key[0] == "phone" else ("@" + key[1]) if key[0] == "handle" else key[1]
    (ca, la), (cb, lb) = first, second
    return (f"{value} — {_name(a)} wrote {_quote(ca.raw, 50)} ({ca.kind}, listing {la}), "
            f"{_name(b)} wrote {_quote(cb.raw, 50)} ({cb.kind}, listing {lb})")


def image_links(listings: list[dict], max_shared: int = MAX_SHARED) -> list[Link]:
    """Sellers showing the same gig image: the same URL path, or the same digest."""
    seen: dict[tuple[str, str], dict[SellerKey, tuple[str, str]]] = defaultdict(dict)
    for row in listings:
        seller = (row["marketplace"], row["seller_id"])
        try:
            urls = json.loads(row["image_urls"] or "[]")
        except ValueError:
            continue
        for url in urls if isinstance(urls, list) else []:
            key = image_key(str(url))
            if key:
                seen[("image", key)].setdefault(seller, (str(url), row["listing_id"]))
    return _shared(seen, max_shared, _image_evidence)


def _image_evidence(key: tuple[str, str], a: SellerKey, first: tuple, b: SellerKey, second: tuple) -> str:
    return f"{key[1]} in {_name(a)} listing {first[1]} and {_name(b)} listing {second[1]}"


def _shared(seen: dict, max_shared: int, evidence) -> list[Link]:
    links = []
    for key, sellers in seen.items():
        if not 2 <= len(sellers) <= max_shared:
            continue
        ordered = sorted(sellers)
        for x, a in enumerate(ordered):
            for b in ordered[x + 1:]:
                links.append(Link(a, b, key[0], evidence(key, a, sellers[a], b, sellers[b])))
    return links


def find_links(store, *, threshold: float = DEFAULT_THRESHOLD, max_shared: int = MAX_SHARED) -> list[Link]:
    """Every link between two sellers in the store, any marketplace, sorted."""
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    listings = _listings(store)
    links = text_links(listings, threshold) + contact_links(listings, max_shared) + image_links(listings, max_shared)
    return sorted(set(links))


# --- clusters ----------------------------------------------------------------------


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[SellerKey, SellerKey] = {}

    def find(self, x: SellerKey) -> SellerKey:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, x: SellerKey, y: SellerKey) -> None:
        rx, ry = self.find(x), self.find(y)
        if rx != ry:
            # The smaller key is the root, so the result never depends on link order.
            self.parent[max(rx, ry)] = min(rx, ry)


def _members(store, keys: Iterable[SellerKey]) -> dict[SellerKey, Member]:
    leads = {(r["marketplace"], r["seller_id"]): r
             for r in store.db.query("SELECT marketplace, seller_id, status, score FROM leads")}
    names = {(r["marketplace"], r["seller_id"]): r["display_name"]
             for r in store.db.query("SELECT marketplace, seller_id, display_name FROM sellers")}
    members = {}
    for key in keys:
        lead = leads.get(key)
        members[key] = Member(key[0], key[1], names.get(key), lead["status"] if lead else None,
                              float(lead["score"]) if lead else 0.0)
    return members


def lead_keys(store) -> set[SellerKey]:
    return {(r["marketplace"], r["seller_id"]) for r in store.db.query("SELECT marketplace, seller_id FROM leads")}


def build_clusters(store, *, scope: str = "leads", threshold: float = DEFAULT_THRESHOLD,
                   max_shared: int = MAX_SHARED, links: list[Link] | None = None) -> list[Cluster]:
    """Connected groups of two or more linked sellers, best first.

    scope "leads": groups that hold at least one lead, so a lead's clean-looking
    second account shows up with it; "all": every group."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    if links is None:
        links = find_links(store, threshold=threshold, max_shared=max_shared)
    uf = _UnionFind()
    for link in links:
        uf.union(link.a, link.b)
    groups: dict[SellerKey, set[SellerKey]] = defaultdict(set)
    for key in list(uf.parent):
        groups[uf.find(key)].add(key)
    leads = lead_keys(store)
    if scope == "leads":
        groups = {root: keys for root, keys in groups.items() if keys & leads}
    members = _members(store, (k for keys in groups.values() for k in keys))
    by_root: dict[SellerKey, list[Link]] = defaultdict(list)
    for link in links:
        by_root[uf.find(link.a)].append(link)
    clusters = []
    for root, keys in groups.items():
        if len(keys) < 2:
            continue
        group = sorted((members[k] for k in keys), key=lambda m: (-m.lead_score, not m.is_lead, m.key))
        score = round(sum(m.lead_score for m in group), 4)
        clusters.append(Cluster(0, group, sorted(by_root[root]), score))
    clusters.sort(key=lambda c: (-c.score, min(m.key for m in c.members)))
    for number, cluster in enumerate(clusters, 1):
        cluster.id = number
    return clusters


# Derived data, rebuilt from listings on every run and never evidence in itself, so
# these tables are dropped and recreated here rather than added as store migrations.
_SCHEMA = (
    """CREATE TABLE clusters (
        cluster_id INTEGER PRIMARY KEY,
        size INTEGER NOT NULL,
        score REAL NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE cluster_members (
        cluster_id INTEGER NOT NULL REFERENCES clusters(cluster_id),
        marketplace TEXT NOT NULL,
        seller_id TEXT NOT NULL,
        PRIMARY KEY (cluster_id, marketplace, seller_id)
    )""",
    "CREATE INDEX cluster_members_seller ON cluster_members(marketplace, seller_id)",
    """CREATE TABLE cluster_links (
        cluster_id INTEGER NOT NULL REFERENCES clusters(cluster_id),
        marketplace_a TEXT NOT NULL,
        seller_a TEXT NOT NULL,
        marketplace_b TEXT NOT NULL,
        seller_b TEXT NOT NULL,
        kind TEXT NOT NULL,
        evidence TEXT NOT NULL,
        similarity REAL
    )""",
)


def save_clusters(store, clusters: list[Cluster]) -> None:
    """Replace the cluster tables with `clusters` in one transaction: readers see the old set or the new."""
    now = utc_now()
    with store.db.atomic():
        for table in ("cluster_links", "cluster_members", "clusters"):
            store.db.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in _SCHEMA:
            store.db.execute(statement)
        for cluster in clusters:
            store.db.execute("INSERT INTO clusters VALUES (?, ?, ?, ?)", [cluster.id, cluster.size, cluster.score, now])
            for m in cluster.members:
                store.db.execute("INSERT INTO cluster_members VALUES (?, ?, ?)", [cluster.id, m.marketplace, m.seller_id])
            for link in cluster.links:
                store.db.execute(
                    "INSERT INTO cluster_links VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [cluster.id, *link.a, *link.b, link.kind, link.evidence, link.similarity],
                )
