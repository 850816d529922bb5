"""Tests for the demo marketplace: page shapes, safe embedding, data invariants and truth scoring."""

import json
import re
import socket
import urllib.error
import urllib.request
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler
from urllib.parse import quote, urlsplit

import pytest

from crawler.demo import DemoMarketplace, GroundTruth, load_catalog, load_truth
from crawler.demo.content import PAGE_SIZE, words
from crawler.demo.generate import SEARCH_WORDS, USERNAME_RE, Builder
from crawler.demo.httpserver import DemoHTTPServer
from crawler.demo.server import _Server as DemoServer
from crawler.demo.shapes.server import _Server as ShapeServer

REVIEW_CATEGORIES = {"review_fabrication", "incentivized_reviews", "review_suppression"}
ITEM_KEYS = {"gigId", "gig_id", "pos", "type", "title", "cached_slug", "gig_url", "seller_name",
             "seller_display_name", "seller_id", "sellerId", "seller_country", "seller_level", "seller_url",
             "seller_rating", "buying_review_rating", "buying_review_rating_count", "price_i", "packages",
             "category_id", "sub_category_id", "is_pro", "assets", "gigQueryParams", "impressionId"}


class _PropsParser(HTMLParser):
    """Collects the text of <script id="perseus-initial-props"> the way a browser tokenizes it."""

    def __init__(self):
        super().__init__()
        self.scripts = []
        self._inside = False

    def handle_starttag(self, tag, attrs):
        if tag == "script" and dict(attrs).get("id") == "perseus-initial-props":
            self._inside = True
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._inside = False

    def handle_data(self, data):
        if self._inside:
            self.scripts[-1] += data


class _TextParser(HTMLParser):
    """Description HTML back to plain text: <p> blocks joined by blank lines, <br> as newline."""

    def __init__(self):
        super().__init__()
        self.paras = []

    def handle_starttag(self, tag, attrs):
        if tag == "p":
            self.paras.append("")
        elif tag == "br":
            self.paras[-1] += "\n"

    def handle_data(self, data):
        self.paras[-1] += data


def props_of(html_text):
    parser = _PropsParser()
    parser.feed(html_text)
    parser.close()
    assert len(parser.scripts) == 1
    return json.loads(parser.scripts[0])


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers, resp.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode("utf-8")


@pytest.fixture(scope="module")
def demo():
    with DemoMarketplace(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def search_url(demo, query, page=None):
    url = f"{demo.base_url}/search/gigs?query={quote(query)}&source=top-bar&search_in=everywhere"
    return url + (f"&page={page}" if page else "")


def test_search_page_has_the_real_keys_and_a_full_page(demo):
    status, headers, text = fetch(search_url(demo, "reviews"))
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    props = props_of(text)
    assert props["listingQuery"] == "reviews"
    items = props["items"]
    assert len(items) == PAGE_SIZE
    assert props["listings"][0]["gigs"] == items
    for pos, item in enumerate(items):
        assert ITEM_KEYS <= set(item)
        assert item["gigId"] == item["gig_id"] and item["pos"] == pos
        assert item["type"] in (None, "promoted_gigs")
        assert not item["title"].startswith("I will ")
        assert item["gig_url"] == f"/{item['seller_name']}/{item['cached_slug']}"
        assert item["seller_url"] == f"/{item['seller_name']}"
        assert isinstance(item["seller_id"], int) and item["sellerId"] == str(item["seller_id"])
        assert item["packages"]["recommended"]["price"] == item["price_i"]
        assert item["assets"][0]["type"] == "ImageAsset"
        assert set(item["gigQueryParams"]) == {"context_type", "funnel", "ref"}
    raw = props["rawListingData"]
    assert [g["pk_i"] for g in raw["gigs"]] == [i["gigId"] for i in items]
    assert {"pk_i", "uuid", "position", "type", "packages", "seller_id"} <= set(raw["gigs"][0])
    assert raw["has_more"] is True and raw["num_found"] == props["appData"]["pagination"]["total"]
    assert props["appData"]["pagination"] == {"page": 1, "offset": 0, "page_size": 48, "total": raw["num_found"]}
    assert props["appData"]["searchApiPath"] == "search"
    assert props["tracking"]["numberOfResults"] == raw["num_found"] and props["tracking"]["page"] == 1
    # Cards link to gigs with tracking parameters, as the real site does.
    assert re.search(r'href="/[a-z0-9_]+/[a-z0-9-]+\?context_referrer=search_gigs&amp;[^"]*pos=0&amp;[^"]*imp_id=', text)


def test_search_pagination_walks_every_hit_once(demo, catalog):
    expected = [g["gig_id"] for g in catalog.search("reviews")]
    assert len(expected) > 2 * PAGE_SIZE
    seen, page = [], 1
    while True:
        props = props_of(fetch(search_url(demo, "reviews", page if page > 1 else None))[2])
        assert props["appData"]["pagination"]["page"] == page
        seen += [i["gig_id"] for i in props["items"]]
        if not props["rawListingData"]["has_more"]:
            break
        page += 1
    assert seen == expected
    beyond = props_of(fetch(search_url(demo, "reviews", page + 1))[2])
    assert beyond["items"] == [] and beyond["rawListingData"]["has_more"] is False


def test_search_folds_case_accents_and_plurals(demo, catalog):
    assert catalog.search("RESENAS") == catalog.search("reseñas") != []
    assert catalog.search("review") == catalog.search("Reviews")
    assert props_of(fetch(search_url(demo, ""))[2])["items"] == []
    # Title or tag hits come before description-only hits.
    hits = catalog.search("feedback")
    head = [any("feedback" in words(t) or "feedback" in words(g["title"]) for t in g["tags"]) for g in hits]
    assert head == sorted(head, reverse=True)


def test_gig_page_round_trips_every_field(demo, catalog):
    picks = [g for g in catalog.gigs if g["sells_reviews"]][:3] + [catalog.gigs[0], catalog.gigs[-1]]
    picks += [g for g in catalog.gigs if g["seller"] in ("sam_builds_pages", "unicode_arts")]
    for gig in picks:
        url = f"{demo.base_url}/{gig['seller']}/{gig['slug']}?context_referrer=search_gigs&pos=3&imp_id=x"
        status, _, text = fetch(url)
        assert status == 200
        props = props_of(text)
        assert props["general"]["gigId"] == gig["gig_id"]
        assert props["general"]["gigTitle"] == gig["title"]
        assert props["seller"]["user"]["name"] == gig["seller"]
        assert [t["name"] for t in props["tags"]["tagsGigList"]] == gig["tags"]
        assert [p["price"] for p in props["packages"]["packageList"]] == [p["price"] * 100 for p in gig["packages"]]
        assert [p["description"] for p in props["packages"]["packageList"]] == [p["description"] for p in gig["packages"]]
        assert props["faq"]["questionsAndAnswers"] == gig["faq"]
        assert props["reviews"] == {"average_valuation": gig["rating"]["score"], "total_count": gig["rating"]["count"], "reviews": []}
        parser = _TextParser()
        parser.feed(props["description"]["content"])
        assert "\n\n".join(parser.paras) == gig["description"]


def test_seller_page_lists_all_gigs(demo, catalog):
    for username in ("amz_rank_pros", "sam_builds_pages", catalog.gigs[5]["seller"]):
        status, _, text = fetch(f"{demo.base_url}/{username}")
        assert status == 200
        props = props_of(text)
        seller = catalog.sellers[username]
        assert props["seller"]["user"]["name"] == username
        assert props["seller"]["user"]["displayName"] == seller["display_name"]
        assert props["seller"]["description"] == seller["description"]
        listed = {g["gig_id"]: g for g in props["gigs"]["gigs"]}
        assert set(listed) == {g["gig_id"] for g in catalog.by_seller[username]}
        for g in catalog.by_seller[username]:
            assert listed[g["gig_id"]]["gig_url"] == f"/{username}/{g['slug']}"
            assert "I will " + listed[g["gig_id"]]["title"] == g["title"]


def test_script_close_tag_in_seller_text_cannot_break_out(demo, catalog):
    gig = catalog.by_seller["sam_builds_pages"][0]
    assert "</script>" in gig["title"] and "</script>" in catalog.sellers["sam_builds_pages"]["display_name"]
    for path in (f"/sam_builds_pages/{gig['slug']}", "/sam_builds_pages", "/search/gigs?query=alert+google+reviews"):
        text = fetch(demo.base_url + path)[2]
        assert text.count("</script>") == 1 and text.count("<script") == 1
        props = props_of(text)
        blob = json.dumps(props, ensure_ascii=False)
        assert "</script>" in blob  # the hostile text survives, only escaped on the wire
    props = props_of(fetch(f"{demo.base_url}/sam_builds_pages/{gig['slug']}")[2])
    assert props["general"]["gigTitle"] == gig["title"]
    assert props["seller"]["user"]["displayName"] == catalog.sellers["sam_builds_pages"]["display_name"]
    assert gig["description"].startswith('=HYPERLINK("http://evil.example/x","click")')


def test_weird_characters_survive_exactly(demo, catalog):
    gig = catalog.by_seller["unicode_arts"][0]
    for ch in ('"', "&", "\U0001F680", "\u0634", "\x07", "\u2028", "\u202e"):
        assert ch in gig["title"] + gig["description"]
    props = props_of(fetch(f"{demo.base_url}/unicode_arts/{gig['slug']}")[2])
    assert props["general"]["gigTitle"] == gig["title"]
    assert props["tags"]["tagsGigList"][0]["name"] == gig["tags"][0]


def test_robots_images_and_not_found(demo):
    status, headers, text = fetch(demo.base_url + "/robots.txt")
    assert status == 200 and "User-agent: *" in text and "Disallow: /users/" in text
    assert not re.search(r"Disallow: /(search|\s*$)", text, re.M)
    with urllib.request.urlopen(demo.base_url + "/images/gigs/1/main.png") as resp:
        assert resp.headers["Content-Type"] == "image/png" and resp.read().startswith(b"\x89PNG")
    for path in ("/no_such_seller", "/amz_rank_pros/no-such-gig", "/users/amz_rank_pros/portfolio", "/a/b/c"):
        status, headers, text = fetch(demo.base_url + path)
        assert status == 404 and headers["Content-Type"].startswith("text/html") and "404" in text


def test_data_invariants(catalog):
    gigs, sellers = catalog.gigs, catalog.sellers
    assert len(gigs) >= 400 and len(sellers) >= 150
    assert len({g["gig_id"] for g in gigs}) == len(gigs)
    assert len({g["slug"] for g in gigs}) == len(gigs)
    assert all(g["title"].startswith("I will ") for g in gigs)
    assert all(USERNAME_RE.match(u) for u in sellers)
    assert all(3 <= len(g["tags"]) <= 5 and 1 <= len(g["packages"]) <= 3 for g in gigs)
    assert all(g["category"] in REVIEW_CATEGORIES | {"fake_engagement", "none"} for g in gigs)
    assert all(g["sells_reviews"] == (g["category"] in REVIEW_CATEGORIES) for g in gigs)
    assert all(g["seller"] in sellers and g["price"] == min(p["price"] for p in g["packages"]) for g in gigs)
    review_gigs = [g for g in gigs if g["sells_reviews"]]
    review_sellers = {g["seller"] for g in review_gigs}
    assert 0.10 <= len(review_gigs) / len(gigs) <= 0.20
    assert 0.10 <= len(review_sellers) / len(sellers) <= 0.20
    assert {u for u, s in sellers.items() if s["sells_reviews"]} == review_sellers
    assert {g["category"] for g in review_gigs} == REVIEW_CATEGORIES
    assert any(g["category"] == "fake_engagement" for g in gigs)
    assert len({g["lang"] for g in review_gigs}) >= 7  # English plus six other languages
    # Every review seller can be found by one of the plain search words.
    search_words = {w for sw in SEARCH_WORDS for w in words(sw)}
    for username in review_sellers:
        assert any(search_words & set(words(" ".join([g["title"], g["description"], *g["tags"]])))
                   for g in catalog.by_seller[username]), username
    reachable = {g["seller"] for w in SEARCH_WORDS for g in catalog.search(w)}
    assert review_sellers <= reachable


def test_committed_data_matches_the_generator(catalog):
    sellers, gigs = Builder().build()
    assert json.loads(json.dumps(gigs)) == catalog.gigs
    assert {s["username"]: json.loads(json.dumps(s)) for s in sellers} == catalog.sellers


def test_truth_score_arithmetic():
    truth = GroundTruth(review_sellers={"a", "b", "c", "d"}, all_sellers={"a", "b", "c", "d", "x", "y"},
                        gig_labels={"1": 1, "2": 0}, gig_category={"1": "review_fabrication", "2": "none"})
    assert truth.score(["a", "b", "x", "a"]) == {
        "review_sellers": 4, "found": 2, "recall": 0.5, "leads": 3, "innocent_leads": 1,
        "innocent_share": 1 / 3, "missed": ["c", "d"], "innocent": ["x"]}
    assert truth.score([]) == {"review_sellers": 4, "found": 0, "recall": 0.0, "leads": 0, "innocent_leads": 0,
                               "innocent_share": 0.0, "missed": ["a", "b", "c", "d"], "innocent": []}


def test_load_truth_matches_the_server(demo):
    truth = load_truth()
    assert truth.review_sellers == demo.truth.review_sellers
    assert truth.score(truth.review_sellers)["recall"] == 1.0
    assert truth.score(truth.all_sellers)["innocent_leads"] == len(truth.all_sellers) - len(truth.review_sellers)
    assert set(truth.gig_labels) == set(truth.gig_category) and all(isinstance(k, str) for k in truth.gig_labels)
    assert urlsplit(demo.base_url).hostname == "127.0.0.1"


def test_the_demo_sites_take_a_crawls_burst_of_connections_without_dropping_any():
    """A crawl opens its CONCURRENT_REQUESTS connections at once. With socketserver's backlog of 5 the
    kernel dropped the rest, and each waited out a 1 s SYN retransmission: a slow demo, a wrong benchmark."""
    assert issubclass(DemoServer, DemoHTTPServer) and issubclass(ShapeServer, DemoHTTPServer)
    # Nothing accepts: every connection must wait in the listen backlog, which the kernel fills on its own.
    listener = DemoHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    clients = []
    try:
        for _ in range(32):
            # With a full backlog the kernel drops this SYN and every retry of it, and the connect times out.
            clients.append(socket.create_connection(listener.server_address, timeout=5))
        assert len(clients) == 32
    finally:
        for client in clients:
            client.close()
        listener.server_close()


def test_the_demo_sites_send_without_waiting_for_acks():
    """http.server writes headers and body separately; with Nagle's algorithm the body waited for a delayed
    ACK, which held a client that does little per page (the benchmark's bare Scrapy) to half its speed."""
    listener = DemoHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    client = socket.create_connection(listener.server_address, timeout=5)
    try:
        conn, _ = listener.get_request()  # the connection as every handler receives it
        try:
            assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            conn.close()
    finally:
        client.close()
        listener.server_close()
