"""Contact extraction: plain, obfuscated and hostile text → normalised contacts, and review targets ignored."""

from __future__ import annotations

import re

import pytest

from crawler import contacts
from crawler.contacts import Contact, extract_contacts, is_common_domain, listing_texts, normalise, registered_domain


def found(text: str, **kw) -> set[tuple[str, str]]:
    return {(c.kind, c.value) for c in extract_contacts(text, **kw)}


@pytest.mark.parametrize(("text", "expected"), [
    # phones and WhatsApp: digits only, however they are written
    ("WhatsApp: +1 (555) 010-9999", {("whatsapp", "15550109999")}),
    ("whatsapp me +1.555.010.9999 anytime", {("whatsapp", "15550109999")}),
    ("Whats App 00923001234567", {("whatsapp", "00923001234567")}),
    ("https://wa.me/15550109999", {("whatsapp", "15550109999")}),
    ("wa.me/+15550109999?text=hi", {("whatsapp", "15550109999")}),
    ("https://api.whatsapp.com/send?phone=15550109999&text=hello", {("whatsapp", "15550109999")}),
    ("Call +44 7700 900123 now", {("phone", "447700900123")}),
    ("phone: 0300-1234567", {("phone", "03001234567")}),
    ("＋１ ５５５ ０１０ ９９９９", {("phone", "15550109999")}),  # full-width digits
    # emails: lowercased, de-obfuscated, sub-addressing and Gmail dots folded
    ("mail me: Name@Gmail.com", {("email", "name@gmail.com")}),
    ("name [at] gmail [dot] com", {("email", "name@gmail.com")}),
    ("name(at)gmail(dot)com", {("email", "name@gmail.com")}),
    ("name { at } yahoo { dot } com", {("email", "name@yahoo.com")}),
    ("name <at> outlook <dot> com", {("email", "name@outlook.com")}),
    ("name [@] gmail [.] com", {("email", "name@gmail.com")}),
    ("john at gmail dot com", {("email", "john@gmail.com")}),
    ("john @ gmail.com", {("email", "john@gmail.com")}),
    ("j.o.h.n+fiverr@gmail.com", {("email", "john@gmail.com")}),
    ("ｊｏｈｎ＠ｇｍａｉｌ．ｃｏｍ", {("email", "john@gmail.com")}),
    ("jo\u200bhn@gm\u200dail.com", {("email", "john@gmail.com")}),
    ("JOHN.SMITH@Example-Shop.CO.UK", {("email", "john.smith@example-shop.co.uk"), ("domain", "example-shop.co.uk")}),
    ("sales@reviewboost.com.", {("email", "sales@reviewboost.com"), ("domain", "reviewboost.com")}),
    # Telegram, handles, Skype
    ("telegram: @bob_reviews", {("telegram", "bob_reviews")}),
    ("Telegram ID: bob_reviews", {("telegram", "bob_reviews")}),
    ("DM me on Telegram @Bob_Reviews", {("telegram", "bob_reviews")}),
    ("t.me/bob_reviews", {("telegram", "bob_reviews")}),
    ("https://telegram.me/Bob_Reviews.", {("telegram", "bob_reviews")}),
    ("join t.me/+AbCdEf123", {("telegram", "+abcdef123")}),
    ("follow @bob_reviews for offers", {("handle", "bob_reviews")}),
    ("skype: live:.cid.3f2a9c", {("skype", "live:.cid.3f2a9c")}),
    ("my live:bob_smith_1 id", {("skype", "live:bob_smith_1")}),
    ("Skype ID: bob.smith99,", {("skype", "bob.smith99")}),
    # outside sites: registered domain, www. stripped
    ("visit https://www.ReviewBoost.io/order?x=1", {("domain", "reviewboost.io")}),
    ("www.reviewboost.io", {("domain", "reviewboost.io")}),
    ("see reviewboost.com for bulk", {("domain", "reviewboost.com")}),
    ("shop.reviewboost.co.uk/pricing", {("domain", "reviewboost.co.uk")}),
    ("reviewboost [dot] com", {("domain", "reviewboost.com")}),
    ("contact me at mysite.com", {("domain", "mysite.com")}),  # a site, not an address
])
def test_contacts_found(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize("text", [
    "",
    "I will post 100 google reviews on google.com/maps",
    "trustpilot.com, amazon.de, play.google.com, maps.google.co.uk, yelp.com, www.facebook.com/page",
    "https://youtube.com/watch?v=x youtu.be/abc tripadvisor.co.uk g.page/r/xyz",
    "find me on fiverr.com/bob_reviews or www.upwork.com/freelancers/~01",
    "send to my paypal.com account, bit.ly/3xYz",
    "Order 2024-2025, call 100 reviews",
    "contact us 2024/01/05",
    "I have 10000000 followers and +11111111 likes",
    "order id 123456789 delivered",  # a long number with nothing saying it is a phone
    "e.g. this file.txt i.e. version 2.5 and v1.2.3",
    "rated 4.9 (1,234 reviews) since 2019",
    "reach me at my inbox",
    "polka dot dress, connect the dots",
    "email me for details",
    "@here @all",  # too short to be a handle
    "192.168.0.1 and 10.0.0.1:8080",
])
def test_nothing_that_is_not_a_contact(text):
    assert found(text) == set()


def test_email_at_a_webmail_provider_is_not_a_site():
    assert found("info@gmail.com, x@hotmail.co.uk, y@yahoo.fr") == {
        ("email", "info@gmail.com"), ("email", "x@hotmail.co.uk"), ("email", "y@yahoo.fr")}


def test_marketplace_own_domain_can_be_ignored():
    assert found("see demo-market.shop/bob") == {("domain", "demo-market.shop")}
    assert found("see demo-market.shop/bob", ignore_domains=["www.demo-market.shop"]) == set()


def test_whatsapp_and_phone_share_a_key():
    a = Contact("whatsapp", "15550109999")
    b = Contact("phone", "15550109999")
    assert a.key == b.key == ("phone", "15550109999")
    assert Contact("telegram", "bob_reviews").key == Contact("handle", "bob_reviews").key


@pytest.mark.parametrize(("host", "domain"), [
    ("reviewboost.com", "reviewboost.com"),
    ("shop.reviewboost.com", "reviewboost.com"),
    ("a.b.reviewboost.co.uk", "reviewboost.co.uk"),
    ("reviewboost.com.au", "reviewboost.com.au"),
])
def test_registered_domain(host, domain):
    assert registered_domain(host) == domain


@pytest.mark.parametrize(("host", "common"), [
    ("google.com", True), ("maps.google.com", True), ("www.google.co.uk", True), ("amazon.de", True),
    ("trustpilot.com", True), ("uk.trustpilot.com", True), ("fiverr.com", True), ("gmail.com", True),
    ("reviewboost.com", False), ("googlereviews-fast.com", False),
])
def test_common_domains(host, common):
    assert is_common_domain(host) is common


def test_normalise_undoes_obfuscation():
    assert normalise("Bob [AT] Mail-Box (DOT) NET") == "bob@mail-box.net"


HOSTILE = [
    "\x1b[31m@bob_reviews\x1b[0m",
    "\u202ebob@evil.com\u202c",
    "wa.me/1555\x000109999",
    "t.me/bob\u0000reviews",
    "skype: live:\u202e.cid.1",
    "<script>alert(1)</script>@bob_reviews https://evil.io/\x1b]0;x\x07",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_gives_printable_values(text):
    for contact in extract_contacts(text):
        assert re.fullmatch(r"[\x21-\x7e]+", contact.value), contact


def test_listing_texts_reads_packages_and_faq():
    row = {
        "title": "t", "description": "d",
        "packages": '[{"title": "Basic", "description": "pkg text"}]',
        "faq": '[{"question": "How?", "answer": "wa.me/15550109999"}, "stray"]',
    }
    assert list(listing_texts(row)) == ["t", "d", "Basic", "pkg text", "How?", "wa.me/15550109999", "stray"]
    assert list(listing_texts({"title": "t", "packages": "not json", "faq": None})) == ["t"]


# --- no catastrophic backtracking -----------------------------------------------------

def _patterns():
    return [(name, value) for name, value in vars(contacts).items() if isinstance(value, re.Pattern)]


def _unbounded(tree) -> list:
    import re._constants as c
    import re._parser as p

    bad = []
    for op, arg in tree:
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, high, sub = arg
            if high == c.MAXREPEAT:
                bad.append((op, low))
            bad += _unbounded(sub)
        elif op == c.SUBPATTERN:
            bad += _unbounded(arg[-1])
        elif op == c.BRANCH:
            for sub in arg[1]:
                bad += _unbounded(sub)
        elif op in (c.ASSERT, c.ASSERT_NOT):
            bad += _unbounded(arg[1])
        elif isinstance(arg, p.SubPattern):
            bad += _unbounded(arg)
    return bad


@pytest.mark.parametrize(("name", "pattern"), _patterns(), ids=[n for n, _ in _patterns()])
def test_every_quantifier_is_bounded(name, pattern):
    re_parser = pytest.importorskip("re._parser")
    assert not _unbounded(re_parser.parse(pattern.pattern, pattern.flags)), f"{name} has an unbounded repeat"


MB = 1_000_000
BIG = {
    "letters": "a" * MB,
    "digits": "1" * MB,
    "spaced digits": "1 " * (MB // 2),
    "at runs": "a@" * (MB // 2),
    "dotted": "a." * (MB // 2),
    "bracket at": "[at]" * (MB // 4),
    "spelled": "a dot b at " * (MB // 11),
    "plus paren": "+(" * (MB // 2),
    "long handle": "@" + "a" * MB,
    "keywords": "whatsapp telegram skype: live: " * (MB // 31),
    "url prefixes": "http://www." * (MB // 11),
    "wa links": "wa.me/" * (MB // 6),
    "emails": "x.y+z@a-b.c-d.co.uk " * (MB // 21),
    "phones": "call +1 (555) 010-9999 " * (MB // 23),
    "many distinct": "".join(f"u{i}@site{i}.com @user{i:06d} " for i in range(MB // 32)),
}


@pytest.mark.parametrize("name", list(BIG))
def test_one_megabyte_of_hostile_text_finishes(name):
    # No timing assertion: a catastrophic pattern would hang here instead of returning.
    result = extract_contacts(BIG[name])
    assert isinstance(result, list)
    if name == "phones":
        assert found("call +1 (555) 010-9999") == {(c.kind, c.value) for c in result}
