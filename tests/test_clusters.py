"""Seller linking: near-duplicate text, shared contacts and images join accounts; unrelated ones stay apart."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from crawler.cluster_commands import clusters as clusters_command
from crawler.clusters import Link, build_clusters, find_links, image_key, save_clusters, shingles
from crawler.items import Listing, Seller
from crawler.store import Store

FLAG = {
    "rule_id": "fab.offer_reviews", "rule_version": 1, "category": "review_fabrication", "field": "title",
    "start": 0, "end": 10, "text": "reviews", "score": 0.9, "legal": [], "platform": "google",
    "explanation": "offers to post reviews",
}

REVIEWS_TEXT = (
    "I will post genuine looking five star reviews on your business profile from aged local accounts. "
    "Every review is written by hand, dripped slowly over two weeks so nothing gets filtered, and comes "
    "with photos when you need them. Bulk packages are available for agencies, and replacements are "
    "free for thirty days if anything drops. Send me your profile link and the wording you like."
)
# The same offer reworded: case, punctuation, spacing and two words changed.
REVIEWS_REWORDED = (
    "i will POST genuine-looking five star reviews on your business profile from aged local accounts!! "
    "Every review is written by hand, dripped slowly over three weeks so nothing gets filtered, and comes "
    "with pictures when you need them.   Bulk packages are available for agencies, and replacements are "
    "free for thirty days if anything drops. Send me your profile link and the wording you like."
)
LOGO_TEXT = (
    "Professional minimalist logo design for startups and small brands. You get three initial concepts, "
    "unlimited revisions on the chosen direction, vector source files, a colour palette and a short brand "
    "guide explaining typography and spacing rules for print and screen."
)
TRANSLATION_TEXT = (
    "Native German translator with ten years of experience in legal and medical documents. I translate "
    "contracts, patient leaflets and certificates from English into German, keep your formatting intact, "
    "and deliver a proofread file together with a glossary of the key terminology."
)
VOICE_TEXT = (
    "Warm British male voice over for explainer videos, podcasts, audiobooks and phone systems. Recorded in "
    "a treated home studio with a condenser microphone, edited and mastered, delivered as WAV and MP3 with "
    "one free retake if the script changes slightly."
)
CODE_TEXT = (
    "I fix bugs in Django and Flask web applications, write tests with pytest, set up continuous integration "
    "pipelines and migrate old projects to modern Python versions with type hints and clean dependency pins."
)


def put(store: Store, marketplace: str, seller: str, listing_id: str, title: str, description: str, *,
        flagged: bool = False, images: tuple[str, ...] = (), faq: list[dict] | None = None,
        display_name: str | None = None) -> None:
    store.save_seller(Seller(marketplace, seller, f"https://www.{marketplace}.com/{seller}", display_name=display_name))
    store.save_listing(Listing(
        marketplace=marketplace, listing_id=listing_id, url=f"https://www.{marketplace}.com/{seller}/{listing_id}",
        seller_id=seller, title=title, description=description, image_urls=list(images), faq=faq or [],
        score=0.9 if flagged else 0.0, sells_reviews=flagged, flags=[FLAG] if flagged else [],
    ))


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "t.db") as s:
        yield s


def links_between(links: list[Link], a: tuple[str, str], b: tuple[str, str]) -> list[Link]:
    return [link for link in links if {link.a, link.b} == {a, b}]


def cluster_of(clusters, key):
    return next((c for c in clusters if key in {m.key for m in c.members}), None)


def test_same_seller_on_two_marketplaces_is_one_cluster(store):
    put(store, "fiverr", "starboost", "1", "I will post google reviews", REVIEWS_TEXT, flagged=True)
    put(store, "upwork", "star_boost_agency", "u9", "Google reviews for your business", REVIEWS_TEXT)
    put(store, "fiverr", "logo_lena", "2", "I will design a minimalist logo", LOGO_TEXT)
    store.refresh_leads()

    clusters = build_clusters(store)

    assert len(clusters) == 1
    members = {m.key: m for m in clusters[0].members}
    assert set(members) == {("fiverr", "starboost"), ("upwork", "star_boost_agency")}
    assert members[("fiverr", "starboost")].is_lead and not members[("upwork", "star_boost_agency")].is_lead
    (link,) = clusters[0].links
    assert link.kind == "text" and 0.8 < link.similarity < 1.0  # the titles differ
    assert link.reason.startswith("near-duplicate listing text: ")
    assert "fiverr:starboost listing 1 “I will post google reviews”" in link.reason
    assert "upwork:star_boost_agency listing u9 “Google reviews for your business”" in link.reason
    assert f"estimated Jaccard {link.similarity:.2f}" in link.reason
    assert clusters[0].score == pytest.approx(members[("fiverr", "starboost")].lead_score)


def test_shared_whatsapp_links_sellers_with_different_text(store):
    put(store, "fiverr", "alice_reviews", "1", "I will post reviews", LOGO_TEXT + " WhatsApp: +1 (555) 010-9999",
        flagged=True)
    put(store, "fiverr", "carol_design", "2", "I will translate", TRANSLATION_TEXT,
        faq=[{"question": "Can I reach you outside?", "answer": "message me on wa.me/15550109999"}])
    store.refresh_leads()

    links = find_links(store)

    (link,) = links_between(links, ("fiverr", "alice_reviews"), ("fiverr", "carol_design"))
    assert link.kind == "phone"
    assert link.reason.startswith("same phone / WhatsApp number: +15550109999")
    assert "“+1 (555) 010-9999”" in link.reason and "“wa.me/15550109999”" in link.reason
    assert not [lk for lk in links if lk.kind == "text"]
    assert {m.key for m in build_clusters(store)[0].members} == {("fiverr", "alice_reviews"), ("fiverr", "carol_design")}


def test_reworded_near_duplicate_links_with_its_similarity(store):
    put(store, "fiverr", "boost_one", "1", "I will post reviews", REVIEWS_TEXT, flagged=True)
    put(store, "fiverr", "boost_two", "2", "I will add reviews", REVIEWS_REWORDED)
    store.refresh_leads()

    (link,) = links_between(find_links(store), ("fiverr", "boost_one"), ("fiverr", "boost_two"))
    assert link.kind == "text"
    assert 0.7 <= link.similarity < 1.0
    assert f"estimated Jaccard {link.similarity:.2f}" in link.evidence
    # The threshold is a parameter: demand near-identity and the reworded copy no longer links.
    assert not links_between(find_links(store, threshold=0.97), ("fiverr", "boost_one"), ("fiverr", "boost_two"))


def test_unrelated_sellers_do_not_link(store):
    for i, (seller, text) in enumerate([("logo_lena", LOGO_TEXT), ("translator_tom", TRANSLATION_TEXT),
                                        ("voice_vic", VOICE_TEXT), ("coder_cy", CODE_TEXT)]):
        put(store, "fiverr", seller, str(i), "I will help you", text, flagged=(i == 0),
            images=(f"https://cdn.example/gigs/{seller}/cover.jpg",))
    # Short titles alone are common to many honest sellers and say nothing.
    put(store, "fiverr", "other_one", "10", "I will post google reviews", "")
    put(store, "fiverr", "other_two", "11", "I will post google reviews", "")
    store.refresh_leads()

    assert find_links(store) == []
    assert build_clusters(store, scope="all") == []


def test_common_review_targets_do_not_link(store):
    target = ("Reviews on google.com/maps, www.trustpilot.com, amazon.com and amazon.de, facebook.com/pages, "
              "youtube.com and yelp.com. See my other gigs on fiverr.com/me. ")
    put(store, "fiverr", "target_a", "1", "I will post reviews", target + LOGO_TEXT, flagged=True)
    put(store, "fiverr", "target_b", "2", "I will post reviews", target + VOICE_TEXT, flagged=True)
    put(store, "upwork", "target_c", "3", "Reviews", target + CODE_TEXT, flagged=True)
    store.refresh_leads()

    assert find_links(store) == []


def test_own_site_and_obfuscated_email_link(store):
    put(store, "fiverr", "site_a", "1", "Reviews", LOGO_TEXT + " Order at https://www.ReviewBoost.io/order", flagged=True)
    put(store, "upwork", "site_b", "2", "Reviews", VOICE_TEXT + " see shop.reviewboost.io")
    put(store, "fiverr", "mail_a", "3", "Reviews", TRANSLATION_TEXT + " mail: boss [at] gmail [dot] com", flagged=True)
    put(store, "fiverr", "mail_b", "4", "Reviews", CODE_TEXT + " B.O.S.S@GMAIL.COM")
    store.refresh_leads()

    links = find_links(store)
    (site,) = links_between(links, ("fiverr", "site_a"), ("upwork", "site_b"))
    assert site.kind == "domain" and site.reason.startswith("same outside website: reviewboost.io")
    (mail,) = links_between(links, ("fiverr", "mail_a"), ("fiverr", "mail_b"))
    assert mail.kind == "email" and "boss@gmail.com" in mail.reason


def test_same_image_path_on_other_host_and_size_links(store):
    put(store, "fiverr", "img_a", "1", "Reviews", LOGO_TEXT, flagged=True,
        images=("https://fiverr-res.cloudinary.com/images/t_main1,q_auto,f_auto/gigs/991/original/abc.jpg",))
    put(store, "fiverr", "img_b", "2", "Reviews", VOICE_TEXT,
        images=("https://cdn2.example.net/images/t_smartwm/gigs/991/original/abc.jpg?v=2",))
    store.refresh_leads()

    (link,) = links_between(find_links(store), ("fiverr", "img_a"), ("fiverr", "img_b"))
    assert link.kind == "image"
    assert link.reason == "same gig image: /images/gigs/991/original/abc.jpg in fiverr:img_a listing 1 and fiverr:img_b listing 2"


@pytest.mark.parametrize(("url", "key"), [
    ("https://a.example/gigs/1/x.jpg", "/gigs/1/x.jpg"),
    ("https://b.example/gigs/1/x.jpg?w=300#f", "/gigs/1/x.jpg"),
    ("https://c.example/images/t_main1,q_auto/gigs/1/x.jpg", "/images/gigs/1/x.jpg"),
    ("https://c.example/images/my_photo.jpg", "/images/my_photo.jpg"),
    ("sha256:" + "ab" * 32, "sha256:" + "ab" * 32),
    ("https://a.example/", None),
    ("", None),
])
def test_image_key(url, key):
    assert image_key(url) == key


def test_widely_shared_key_is_not_one_operation(store):
    for i, text in enumerate([LOGO_TEXT, VOICE_TEXT, CODE_TEXT]):
        put(store, "fiverr", f"s{i}", str(i), "Reviews", text + " whatsapp +1 555 010 9999", flagged=True)
    store.refresh_leads()
    assert len(find_links(store)) == 3
    assert find_links(store, max_shared=2) == []


def test_scope_leads_keeps_sock_puppets_and_drops_lead_free_clusters(store):
    put(store, "fiverr", "lead_x", "1", "Reviews", REVIEWS_TEXT, flagged=True)
    put(store, "fiverr", "puppet_x", "2", "Reviews", LOGO_TEXT + " telegram: @xboost_ops")
    put(store, "fiverr", "puppet_y", "3", "Reviews", VOICE_TEXT + " t.me/xboost_ops")
    put(store, "upwork", "lead_copy", "4", "Reviews", REVIEWS_REWORDED)
    put(store, "fiverr", "clean_1", "5", "Logos", CODE_TEXT + " https://pixelmint.studio")
    put(store, "fiverr", "clean_2", "6", "Logos", TRANSLATION_TEXT + " www.pixelmint.studio")
    store.refresh_leads()

    leads_only = build_clusters(store)
    assert [sorted(m.key for m in c.members) for c in leads_only] == [
        [("fiverr", "lead_x"), ("upwork", "lead_copy")]]
    everything = build_clusters(store, scope="all")
    assert len(everything) == 3
    puppets = cluster_of(everything, ("fiverr", "puppet_x"))
    assert {m.key for m in puppets.members} == {("fiverr", "puppet_x"), ("fiverr", "puppet_y")}
    assert puppets.links[0].kind == "handle" and "@xboost_ops" in puppets.links[0].reason
    with pytest.raises(ValueError):
        build_clusters(store, scope="some")


def test_lead_linked_through_a_puppet_chain(store):
    put(store, "fiverr", "lead_z", "1", "Reviews", LOGO_TEXT + " skype: live:.cid.77aa", flagged=True)
    put(store, "fiverr", "mid_z", "2", "Voice", VOICE_TEXT + " Skype: live:.cid.77aa, wa.me/447700900123")
    put(store, "upwork", "far_z", "3", "Code", CODE_TEXT + " WhatsApp +44 7700 900123")
    store.refresh_leads()

    (cluster,) = build_clusters(store)
    assert [m.seller_id for m in cluster.members] == ["lead_z", "mid_z", "far_z"]  # the lead first
    assert sorted(link.kind for link in cluster.links) == ["phone", "skype"]


def test_numbering_is_by_score_then_smallest_member_and_stable(store):
    put(store, "fiverr", "b_lead", "1", "Reviews", REVIEWS_TEXT, flagged=True)
    put(store, "fiverr", "b_copy", "2", "Reviews", REVIEWS_TEXT)
    put(store, "fiverr", "a_lead", "3", "Reviews", LOGO_TEXT + " wa.me/15550101111", flagged=True)
    put(store, "fiverr", "a_copy", "4", "Reviews", VOICE_TEXT + " whatsapp: +1 555 010 1111")
    put(store, "fiverr", "c_lead", "5", "Reviews", CODE_TEXT + " boss@topreviews.shop", flagged=True)
    put(store, "fiverr", "c_lead2", "6", "Reviews", TRANSLATION_TEXT + " see topreviews.shop", flagged=True)
    store.refresh_leads()

    first = build_clusters(store)
    assert [c.id for c in first] == [1, 2, 3]
    assert min(m.key for m in first[0].members) == ("fiverr", "c_lead")  # two leads: highest score
    assert min(m.key for m in first[1].members) == ("fiverr", "a_copy")  # equal scores: smallest member
    assert min(m.key for m in first[2].members) == ("fiverr", "b_copy")
    assert first[0].score > first[1].score == first[2].score
    again = build_clusters(store)
    assert [c.as_dict() for c in again] == [c.as_dict() for c in first]


def test_save_clusters_replaces_tables(store):
    put(store, "fiverr", "starboost", "1", "Reviews", REVIEWS_TEXT, flagged=True)
    put(store, "upwork", "star_boost_agency", "u9", "Reviews", REVIEWS_TEXT)
    store.refresh_leads()

    for _ in range(2):
        save_clusters(store, build_clusters(store))
    rows = list(store.db.query("SELECT cluster_id, size, score, created_at FROM clusters"))
    assert [(r["cluster_id"], r["size"]) for r in rows] == [(1, 2)] and rows[0]["created_at"]
    assert {(r["marketplace"], r["seller_id"]) for r in store.db.query("SELECT * FROM cluster_members")} == {
        ("fiverr", "starboost"), ("upwork", "star_boost_agency")}
    (link,) = store.db.query("SELECT * FROM cluster_links")
    assert (link["marketplace_a"], link["seller_a"], link["marketplace_b"], link["seller_b"], link["kind"]) == (
        "fiverr", "starboost", "upwork", "star_boost_agency", "text")
    assert link["similarity"] == pytest.approx(1.0) and "estimated Jaccard" in link["evidence"]
    # Derived data: not a recorded migration.
    assert not list(store.db.query("SELECT * FROM _sqlite_migrations WHERE name LIKE '%cluster%'"))

    save_clusters(store, [])
    assert store.db["clusters"].count == store.db["cluster_links"].count == 0


def test_shingles_ignore_case_and_punctuation():
    assert shingles("I will POST, reviews!") == shingles("i  will post reviews") == {"i will post", "will post reviews"}
    assert shingles("") == set()


# --- CLI -------------------------------------------------------------------------------


@pytest.fixture
def db_with_cluster(tmp_path):
    path = tmp_path / "t.db"
    with Store(path) as s:
        put(s, "fiverr", "star\x1b[2Jboost", "1", "Reviews", REVIEWS_TEXT, flagged=True, display_name="Star\u202eBoost")
        put(s, "upwork", "star_boost_agency", "u9", "Reviews", REVIEWS_TEXT + " wa.me/15550109999")
        put(s, "fiverr", "other", "2", "Reviews", LOGO_TEXT + " whatsapp +1 555 010 9999")
        s.refresh_leads()
    return path


def test_cli_table_lists_members_status_and_reasons(db_with_cluster):
    result = CliRunner().invoke(clusters_command, ["--db", str(db_with_cluster)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Cluster 1" in out and "3 sellers" in out
    from crawler.leads import lead_score

    expected = lead_score([0.9], {"review_fabrication"}, {"google"})
    assert f"lead new {expected:.2f}" in out and "not a lead" in out
    assert "near-duplicate listing text" in out and "same phone / WhatsApp number: +15550109999" in out
    assert "\x1b" not in out and "\u202e" not in out and "\\u001b" in out
    with Store(db_with_cluster) as s:
        assert s.db["clusters"].count == 1


def test_cli_json_and_options(db_with_cluster):
    result = CliRunner().invoke(clusters_command, ["--db", str(db_with_cluster), "--format", "json",
                                                   "--scope", "all", "--threshold", "0.8"])
    assert result.exit_code == 0, result.output
    assert "\u202e" not in result.output
    (cluster,) = json.loads(result.output)
    assert cluster["cluster_id"] == 1 and cluster["size"] == 3
    assert {m["seller_id"] for m in cluster["members"]} == {"star\x1b[2Jboost", "star_boost_agency", "other"}
    assert any(m["display_name"] == "Star\u202eBoost" for m in cluster["members"])
    assert all(link["reason"] for link in cluster["links"])


@pytest.mark.parametrize("args", [["--threshold", "0"], ["--threshold", "1.5"], ["--scope", "everyone"]])
def test_cli_rejects_bad_options(db_with_cluster, args):
    assert CliRunner().invoke(clusters_command, ["--db", str(db_with_cluster), *args]).exit_code == 2


def test_cli_without_database(tmp_path):
    result = CliRunner().invoke(clusters_command, ["--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1 and "no database" in result.output
    assert not (tmp_path / "none.db").exists()
