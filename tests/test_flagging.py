"""The flagger: expected rules per text (near misses too), offsets, obfuscation, scores, CLI and the dev evaluation."""
import json
import random

import pytest
from click.testing import CliRunner

from crawler.flagging import Flag, Flagger, Judgement, get_flagger, listing_fields, seller_lead_score
from crawler.flagging.commands import flag, rules
from crawler.flagging.evaluate import EvaluationError, default_dev_path, evaluate_file, evaluate_rows
from crawler.flagging.obfuscate import obfuscate_listing


@pytest.fixture(scope="module")
def flagger() -> Flagger:
    return get_flagger()


def rule_ids(flagger, title, description=""):
    return {f.rule_id for f in flagger.judge({"title": title, "description": description}).flags}


# text -> rule ids that must fire (subset); empty set = nothing in the review categories may fire
CASES = [
    ("I will post 15 positive Trustpilot reviews for your company", {"FAB-OFFER-REVIEWS"}),
    ("I will write 10 Google Maps reviews from local guide accounts", {"FAB-OFFER-REVIEWS"}),
    ("Buy 20 five star Yelp reviews - drip feed, non drop", {"FAB-PLATFORM-REVIEWS"}),
    ("I will leave 5 star ratings on your Etsy shop from aged buyer accounts", {"FAB-OFFER-REVIEWS"}),
    ("Escribo 10 reseñas positivas en Google para tu negocio desde cuentas diferentes", {"FAB-OFFER-REVIEWS"}),
    ("Ich schreibe 20 Bewertungen mit 5 Sternen auf Trustpilot für Ihren Shop", {"FAB-OFFER-REVIEWS"}),
    ("Je publie des avis 5 étoiles sur votre fiche Google", {"FAB-OFFER-REVIEWS"}),
    ("Vou deixar 10 avaliações 5 estrelas no seu perfil do Google", {"FAB-OFFER-REVIEWS"}),
    ("Scriverò 10 recensioni a 5 stelle su TripAdvisor per il tuo hotel", {"FAB-OFFER-REVIEWS"}),
    ("Wij plaatsen 10 recensies met 5 sterren op uw Google profiel", {"FAB-OFFER-REVIEWS"}),
    ("Our testers buy your product and get a full refund after they post a review on Amazon", {"INC-REWARD-FOR-REVIEW"}),
    ("Join our review exchange group for KDP authors", {"INC-REVIEW-EXCHANGE"}),
    ("I will delete negative reviews from your Trustpilot page, pay per removal", {"SUP-REMOVE-REVIEWS"}),
    ("We post fake 1 star reviews on your competitor's Yelp page", {"SUP-NEGATIVE-FAKES"}),
    ("I will add ⭐⭐⭐⭐⭐ ratings to your app on the play store", {"FAB-STAR-RATINGS"}),
    ("I will post g00gle r3vi3ws on your business pr0file", {"FAB-OFFER-REVIEWS"}),
    ("I will leave r e v i e w s on your t r u s t p i l o t page", {"FAB-OFFER-REVIEWS"}),
    # Cyrillic letters for what they sound like (р = r, н = n), not only for what they look like
    ("I will write 10 Тrustрilot рeviews for your shoр", {"FAB-OFFER-REVIEWS"}),
    ("I will post amazon revіews, genuine buyers, fast delivery, 5 stars", {"FAB-OFFER-REVIEWS"}),
    # near misses and hard negatives
    ("I will reply to your Trustpilot reviews within 24 hours", set()),
    ("I will write amazon product review articles for your affiliate blog", set()),
    ("I will review your resume and give detailed feedback", set()),
    ("I will scrape Google Maps reviews into a CSV file", set()),
    ("I will install the Judge.me review widget on your Shopify store", set()),
    ("Over 900 five-star reviews on Fiverr, check my reviews before ordering", set()),
    ("I will set up an email campaign asking your customers for Google reviews", set()),
    ("I will dispute fake reviews through Google's official process, no guarantee of removal", set()),
    ("I will add 1000 instagram followers, no reviews included", set()),
    ("I will test your app and send you a private bug report", set()),
    ("UGC video ad with a testimonial-style script for your TikTok ads", set()),
    ("I will design a рoster and a flyer for your shop", set()),
]


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_text_to_rule_ids(flagger, text, expected):
    j = flagger.judge({"title": text})
    ids = {f.rule_id for f in j.flags if f.category != "fake_engagement"}
    if expected:
        assert expected <= ids, (text, ids, j.diagnostics)
        assert j.sells_reviews
    else:
        assert ids == set(), (text, [f.to_dict() for f in j.flags])
        assert not j.sells_reviews


def test_api_shapes(flagger):
    j = flagger.judge({"title": "I will post 10 Trustpilot reviews", "description": "From aged accounts.",
                       "tags": ["trustpilot", "reviews"],
                       "packages": [{"title": "Basic", "description": "5 Google reviews"}, "10 Yelp reviews from elite accounts"],
                       "faq": [{"question": "Are they safe?", "answer": "Yes, we post from different IPs."}]})
    assert isinstance(j, Judgement) and j.sells_reviews and 0 < j.score <= 1 and j.language == "en"
    assert "review_fabrication" in j.categories and "trustpilot" in j.platforms
    f = j.flags[0]
    assert isinstance(f, Flag) and f.rule_version >= 1 and f.legal and f.explanation
    d = f.to_dict()
    assert set(d) == {"rule_id", "rule_version", "category", "field", "start", "end", "text", "score", "legal",
                      "platform", "explanation"}
    assert {fl.field for fl in j.flags} >= {"title", "packages[0].description", "packages[1]"}
    with pytest.raises(Exception):
        f.score = 0  # frozen
    # The judgement's evidence cannot be edited either, whichever path (judge or judge_many) made it.
    for made in (j, *flagger.judge_many([{"title": "I will design a logo"}, {"title": "Trustpilot reviews"}])):
        assert isinstance(made.flags, tuple) and isinstance(made.diagnostics, tuple)
        assert isinstance(made.categories, frozenset) and isinstance(made.platforms, frozenset)


def test_judge_many_keeps_order(flagger):
    listings = [{"title": "I will design a logo"}, {"title": "I will post 10 Yelp reviews"}, {}]
    js = flagger.judge_many(iter(listings))
    assert [j.sells_reviews for j in js] == [False, True, False]


def test_get_flagger_is_cached():
    assert get_flagger() is get_flagger()
    assert Flagger().pipeline is get_flagger().pipeline


def test_fake_engagement_alone_is_not_a_review_seller(flagger):
    j = flagger.judge({"title": "5000 YouTube views and 200 likes"})
    assert "fake_engagement" in j.categories and not j.sells_reviews and j.score == 0
    j = flagger.judge({"title": "5000 installs + 100 five star ratings on Google Play"})
    assert j.sells_reviews


@pytest.mark.parametrize("lang,text", [
    ("es", "Voy a publicar reseñas de Google para tu negocio"),
    ("de", "Ich werde Bewertungen für Ihr Unternehmen schreiben"),
    ("fr", "Je vais publier des avis sur votre fiche Google"),
    ("pt", "Vou postar avaliações no seu Google Meu Negócio"),
    ("it", "Scriverò recensioni positive per il tuo ristorante"),
    ("nl", "Ik ga beoordelingen plaatsen op uw bedrijf"),
    ("en", "I will write reviews for your business"),
])
def test_language(flagger, lang, text):
    assert flagger.judge({"title": text}).language == lang


def _offset_listings():
    base = [
        {"title": "I will post 10 google reviews", "description": "From local guide accounts, drip feed.\nNon drop."},
        {"title": "R**fund Aftr R**view - AMZ Testers", "description": "They buy, leave 5*, get R**fund after."},
        {"title": "r e v i e w s on t r u s t p i l o t", "description": "R-e-m-o-v-a-l of 1★ Yelp R3views"},
        {"title": "Capterrа Rеviеws", "description": "𝗥𝗲𝘃𝗶𝗲𝘄𝘀 from ｒｅａｌ accounts, rev\u200biews 5⭐"},
        {"title": "Ich werde schlechte Amazon Rezensionen entfernen", "tags": ["amazon", "rezensionen"],
         "faq": [{"question": "Wie?", "answer": "Wir löschen 1-Stern Bewertungen von Ihrem Google Profil."}]},
    ]
    rng = random.Random(5)
    extra = [obfuscate_listing({"id": str(i), "title": t, "description": d}, seed=i)
             for i, (t, d) in enumerate([(c[0], "posted from aged accounts, 5 star") for c in CASES])]
    rng.shuffle(extra)
    return base + extra


@pytest.mark.parametrize("listing", _offset_listings(), ids=lambda x: x["title"][:30])
def test_offsets_point_into_original_text(flagger, listing):
    j = flagger.judge(listing)
    fields = dict(listing_fields(listing))
    for f in j.flags:
        assert fields[f.field][f.start:f.end] == f.text
        assert f.text.strip()


OWN_POSITIVES = [
    {"title": "I will post 20 Google reviews for your local business", "description": "Local guide accounts, drip feed, non drop."},
    {"title": "Trustpilot reviews for your company", "description": "10 reviews from aged accounts with different IPs."},
    {"title": "I will write Yelp reviews for your restaurant", "description": "Elite profiles, 5 star, lifetime guarantee."},
    {"title": "Amazon product testers", "description": "Testers buy your product, leave a review and get a full refund after the review is live."},
    {"title": "I will remove negative reviews from your Google profile", "description": "Bad reviews removed in 10 days, pay per removal."},
    {"title": "Etsy reviews with photos", "description": "I will give 10 five star reviews to your Etsy listings from aged buyer accounts."},
    {"title": "App store ratings and reviews", "description": "I will add 50 ratings and 20 written reviews to your iOS app from real iPhones."},
    {"title": "Glassdoor employee reviews", "description": "I will post 15 positive employee reviews on your company page from different accounts."},
    {"title": "TripAdvisor reviews for hotels", "description": "We publish 10 TripAdvisor reviews for your hotel from traveller accounts."},
    {"title": "Facebook page recommendations", "description": "I will give 30 positive recommendations on your Facebook page from real looking profiles."},
    {"title": "Reseñas de Google para tu negocio", "description": "Publicamos 10 reseñas positivas desde cuentas diferentes."},
    {"title": "Google Bewertungen kaufen", "description": "Wir schreiben 10 positive Bewertungen mit 5 Sternen für Ihr Unternehmen."},
    {"title": "Avis Google pour votre entreprise", "description": "Nous publions 10 avis positifs 5 étoiles sur votre fiche Google."},
    {"title": "Avaliações no Google", "description": "Vamos postar 10 avaliações positivas no seu perfil do Google."},
    {"title": "Recensioni Google", "description": "Scriviamo 10 recensioni positive a 5 stelle per la tua attività su Google."},
    {"title": "Google recensies", "description": "Wij plaatsen 10 positieve recensies op uw Google profiel."},
    {"title": "Delete bad Trustpilot reviews", "description": "Any negative Trustpilot review removed within 10 days."},
    {"title": "Kindle review team", "description": "Readers get your book free and post a 5 star review on Amazon in exchange."},
    {"title": "Walmart product reviews", "description": "15 Walmart reviews with star ratings posted from separate accounts."},
    {"title": "Play store reviews", "description": "I will post 30 reviews with 5 stars on your Android app from real devices."},
    {"title": "G2 reviews for SaaS", "description": "We provide 10 G2 reviews from LinkedIn profiles that pass moderation."},
    {"title": "BBB reviews for your business", "description": "I will post 10 positive BBB reviews from different accounts."},
    {"title": "Zillow agent reviews", "description": "10 five star reviews on your Zillow profile written like real buyers."},
    {"title": "Booking.com guest reviews", "description": "Guests leave a 9-10 score review on your Booking.com property."},
    {"title": "Houzz reviews for contractors", "description": "We post 8 reviews on your Houzz profile from homeowner accounts."},
    {"title": "Google Play ratings", "description": "100 five star ratings on your Google Play app from real phones."},
    {"title": "Goodreads ratings for authors", "description": "I add 5 star ratings and reviews to your book on Goodreads from reader profiles."},
    {"title": "Sitejabber reviews", "description": "I will post 10 positive Sitejabber reviews for your store from aged accounts."},
    {"title": "Capterra reviews", "description": "We submit 10 Capterra reviews for your software under different identities."},
    {"title": "Udemy course ratings", "description": "Students enroll free with your coupon and rate your course 5 stars in exchange."},
]


def test_obfuscated_recall_on_own_listings(flagger):
    clean = sum(j.sells_reviews for j in flagger.judge_many(OWN_POSITIVES))
    total = 0
    for seed in (1, 2, 3):
        total += sum(j.sells_reviews for j in flagger.judge_many(obfuscate_listing(x, seed) for x in OWN_POSITIVES))
    n = len(OWN_POSITIVES)
    assert clean / n >= 0.95
    assert total / (3 * n) >= clean / n - 0.05


def test_obfuscation_is_deterministic():
    x = OWN_POSITIVES[0]
    assert obfuscate_listing(x, 4) == obfuscate_listing(x, 4)
    assert obfuscate_listing(x, 4) != x


def test_seller_lead_score(flagger):
    fake = flagger.judge_many([OWN_POSITIVES[0], OWN_POSITIVES[1], OWN_POSITIVES[2]])
    legit = flagger.judge_many([{"title": "I will design a logo"}])
    assert seller_lead_score(legit) == 0.0
    one = seller_lead_score(fake[:1])
    many = seller_lead_score(fake)
    assert 0 < one < many <= 1


def test_evaluate_requires_labels(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps({"title": "a", "description": "b"}) + "\n")
    with pytest.raises(EvaluationError):
        evaluate_file(p)
    result = CliRunner().invoke(rules, ["eval", str(p)])
    assert result.exit_code != 0 and "label" in result.output and "Traceback" not in result.output


def test_evaluate_rows_report(flagger):
    rows = [dict(x, label=1, id=f"p{i}") for i, x in enumerate(OWN_POSITIVES[:5])]
    rows += [{"id": "n1", "title": "I will design a logo", "description": "", "label": 0}]
    r = evaluate_rows(rows, flagger)
    assert r["overall"]["confusion"]["tp"] + r["overall"]["confusion"]["fn"] == 5
    assert "lang" in r["breakdowns"]


def test_flag_command_text_and_json():
    runner = CliRunner()
    result = runner.invoke(flag, ["I will post 10 Trustpilot reviews\nfrom aged accounts"])
    assert result.exit_code == 0, result.output
    assert "SELLS REVIEWS" in result.output and "[[" in result.output and "FTC" in result.output
    result = runner.invoke(flag, ["I will design a logo", "--format", "json"])
    assert json.loads(result.output)["sells_reviews"] is False


def test_flag_command_input_file(tmp_path):
    p = tmp_path / "l.jsonl"
    p.write_text("\n".join(json.dumps(x) for x in OWN_POSITIVES[:3]) + "\n")
    result = CliRunner().invoke(flag, ["--input", str(p), "--format", "json"])
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) == 3
    result = CliRunner().invoke(flag, ["--input", str(tmp_path / "missing.jsonl")])
    assert result.exit_code != 0 and "Traceback" not in result.output


@pytest.mark.skipif(not default_dev_path().exists(), reason="shared dev set not present")
def test_dev_eval_meets_targets(flagger):
    r = evaluate_file(default_dev_path(), flagger)
    assert r["overall"]["precision"] >= 0.97
    assert r["overall"]["recall"] >= 0.95
    for name, b in r["breakdowns"]["difficulty"].items():
        if b["positives"]:
            assert b["recall"] >= 0.90, name
    for name, b in r["breakdowns"]["lang"].items():
        if b["positives"] >= 10:
            assert b["recall"] >= 0.90, name
    assert r["fake_engagement_counted_as_reviews"] == 0


@pytest.mark.skipif(not default_dev_path().exists(), reason="shared dev set not present")
def test_dev_obfuscated_recall_within_five_points(flagger):
    rows = [json.loads(line) for line in default_dev_path().read_text(encoding="utf-8").splitlines() if line.strip()]
    pos = [r for r in rows if r["label"] == 1]
    clean = sum(j.sells_reviews for j in flagger.judge_many(pos)) / len(pos)
    obf = sum(j.sells_reviews for j in flagger.judge_many(obfuscate_listing(r, 13) for r in pos)) / len(pos)
    assert obf >= clean - 0.05


def test_huge_hostile_fields_are_read_only_up_to_a_bound(flagger):
    from crawler.flagging.flagger import FIELD_SEPARATOR, MAX_FIELD_CHARS, MAX_LISTING_CHARS, listing_fields

    offer = "I will post 5 star google reviews from local guide accounts. "
    listing = {"title": offer, "description": offer * 40_000, "tags": ["google reviews"] * 10_000}
    fields = listing_fields(listing)
    assert max(len(text) for _, text in fields) <= MAX_FIELD_CHARS and len(fields) <= 200
    assert len(FIELD_SEPARATOR.join(text for _, text in fields)) <= MAX_LISTING_CHARS
    judgement = flagger.judge(listing)
    assert judgement.sells_reviews
    for found in judgement.flags:
        text = dict(fields).get(found.field)
        assert text is not None and text[found.start:found.end] == found.text and found.end <= MAX_FIELD_CHARS


def test_a_listing_of_many_huge_fields_is_judged_not_refused(flagger):
    """200 fields of 20,000 characters joined were four times spaCy's max_length: judge() raised ValueError
    (E088) and the crawl lost the listing. The listing is read up to MAX_LISTING_CHARS."""
    from crawler.flagging.flagger import MAX_FIELD_CHARS, MAX_LISTING_CHARS

    assert MAX_LISTING_CHARS < flagger.pipeline.nlp.max_length
    filler = ("lorem ipsum dolor " * (MAX_FIELD_CHARS // 18 + 1))[:MAX_FIELD_CHARS]
    listing = {"title": "I will post 5 star google reviews on your business", "tags": [filler] * 199}
    for judgement in (flagger.judge(listing), flagger.judge_many([listing])[0]):
        assert judgement.sells_reviews and judgement.flags[0].field == "title"


def test_the_tokenizer_caches_past_line_breaks_and_still_splits_like_spacy(flagger):
    """The pipeline's tokenizer has no "\\n"/"\\t"/" " exceptions (one of them made spaCy stop caching the
    rest of a listing, see pipeline._blank_nlp), and makes the same tokens as stock spaCy."""
    import spacy
    from spacy.tokenizer import Tokenizer

    ours = flagger.pipeline.nlp.tokenizer
    assert not {"\n", "\t", " "} & set(ours.rules)
    assert "\xa0" in ours.rules and "cannot" in ours.rules  # exceptions that change something stay
    # The same tokenizer with spaCy's exceptions back, on the same vocabulary (so NORMs compare too).
    stock = Tokenizer(ours.vocab, rules=spacy.blank("en").tokenizer.rules, prefix_search=ours.prefix_search,
                      suffix_search=ours.suffix_search, infix_finditer=ours.infix_finditer,
                      token_match=ours.token_match, url_match=ours.url_match)
    assert "\n" in stock.rules
    rng = random.Random(11)
    pieces = [" ", "  ", "\n", "\n\n", "\t", " \n", "\n ", "\r\n", "\xa0", "\u2003", "\u200b", "cannot", "don't",
              "It's", ":)", "(", ")", '"', "x", "reviews", "e.g.", "5-star", "  \n  ", "—", "C++", "Trust pilot"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 30))) for _ in range(3000)]
    texts += ["Line one.\nLine two cannot wait.\n\n\tTabbed  twice-spaced (text)\n"]
    for text in texts * 2:  # the second time from the tokenizer's cache
        assert [(t.text, t.idx, t.whitespace_, t.norm) for t in ours(text)] == \
               [(t.text, t.idx, t.whitespace_, t.norm) for t in stock(text)], repr(text)
