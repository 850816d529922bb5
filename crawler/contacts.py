"""Find contact handles and outside sites in seller text, normalised so two listings can be compared."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Every quantifier below is bounded and every repeated group starts with a
# fixed separator, so no pattern can backtrack catastrophically: the work per
# start position is capped by a constant and a scan stays linear in the text.

# Marketplaces: a link to one is where the seller sells, not how to reach them off-platform.
MARKETPLACE_DOMAINS = {
    "fiverr.com", "upwork.com", "freelancer.com", "peopleperhour.com", "legiit.com", "seoclerks.com",
    "guru.com", "toptal.com", "workana.com", "kwork.com", "kwork.ru", "microworkers.com",
}

# Places sellers name as review TARGETS (or universal services), never as their own contact:
# a shared mention of one says nothing about who runs two accounts.
COMMON_DOMAINS = {
    "google.com", "goo.gl", "g.page", "g.co", "gmail.com", "googlemail.com", "youtube.com", "youtu.be",
    "amazon.com", "trustpilot.com", "facebook.com", "fb.com", "fb.me", "instagram.com", "twitter.com",
    "x.com", "tiktok.com", "linkedin.com", "pinterest.com", "reddit.com", "yelp.com", "tripadvisor.com",
    "apple.com", "play.google.com", "bing.com", "yahoo.com", "outlook.com", "hotmail.com", "live.com",
    "msn.com", "microsoft.com", "icloud.com", "aol.com", "proton.me", "protonmail.com", "gmx.com",
    "yandex.com", "yandex.ru", "mail.ru", "zoho.com", "wikipedia.org", "glassdoor.com", "g2.com",
    "capterra.com", "sitejabber.com", "booking.com", "airbnb.com", "etsy.com", "ebay.com", "shopify.com",
    "wordpress.com", "wordpress.org", "blogspot.com", "medium.com", "github.com", "whatsapp.com", "wa.me",
    "t.me", "telegram.me", "telegram.org", "skype.com", "bit.ly", "tinyurl.com", "trustedshops.com",
    "feefo.com", "reviews.io", "bbb.org", "indeed.com", "spotify.com", "soundcloud.com", "twitch.tv",
    "discord.com", "discord.gg", "paypal.com", "stripe.com", "payoneer.com", "wise.com", "binance.com",
    "example.com", "example.org", "example.net", "imdb.com", "goodreads.com", "zillow.com", "houzz.com",
    "angi.com", "thumbtack.com", "foursquare.com", "opentable.com", "doordash.com", "ubereats.com",
}
# The same brands under country domains (amazon.de, google.co.uk, trustpilot.dk ...).
COMMON_BRANDS = {
    "google", "amazon", "trustpilot", "facebook", "youtube", "tripadvisor", "yelp", "apple", "ebay",
    "booking", "instagram", "twitter", "tiktok", "linkedin", "yahoo", "bing", "microsoft", "etsy",
    "glassdoor", "indeed", "airbnb", "fiverr", "upwork", "freelancer", "peopleperhour",
}
# Email providers anyone can sign up to: the address is a contact, the domain is not.
EMAIL_PROVIDERS = {
    "gmail", "googlemail", "yahoo", "outlook", "hotmail", "live", "msn", "icloud", "aol", "proton",
    "protonmail", "gmx", "yandex", "mail", "zoho", "qq", "163", "rediffmail",
}
# Second-level labels under which a country TLD hands out names (example.co.uk).
_SECOND_LEVEL = {"co", "com", "net", "org", "ac", "gov", "edu", "ltd", "plc", "biz"}
# A bare "name.tld" with no scheme or www. counts as a site only under these TLDs:
# "e.g", "file.txt" or "2.5" must not become domains.
BARE_TLDS = {
    "com", "net", "org", "io", "co", "biz", "info", "shop", "store", "online", "site", "xyz", "me",
    "us", "uk", "ca", "au", "in", "pk", "bd", "ng", "de", "fr", "es", "it", "nl", "ru", "br", "top",
    "agency", "digital", "marketing", "pro", "app", "dev", "ai", "tech", "club", "live", "reviews",
    "review", "services", "solutions", "media", "social", "ly", "to", "cc", "tv", "vip", "link",
}

PHONE_MIN_DIGITS = 8
PHONE_MAX_DIGITS = 15  # E.164


@dataclass(frozen=True, order=True)
class Contact:
    """One way to reach a seller: `kind` as shown (whatsapp, phone, email, telegram, handle,
    skype, domain), `value` normalised, `raw` as written (after de-obfuscation)."""

    kind: str
    value: str
    raw: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """What two sellers must share to be linked: a WhatsApp number is a phone number,
        a Telegram @name is an @name."""
        group = {"whatsapp": "phone", "telegram": "handle"}.get(self.kind, self.kind)
        return group, self.value


# --- de-obfuscation -----------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"))
_AT = re.compile(r"\s{0,3}(?:\[\s{0,2}(?:at|@)\s{0,2}\]|\(\s{0,2}(?:at|@)\s{0,2}\)|\{\s{0,2}(?:at|@)\s{0,2}\}|<\s{0,2}at\s{0,2}>)\s{0,3}")
_DOT = re.compile(r"\s{0,3}(?:\[\s{0,2}(?:dot|\.)\s{0,2}\]|\(\s{0,2}(?:dot|\.)\s{0,2}\)|\{\s{0,2}(?:dot|\.)\s{0,2}\}|<\s{0,2}dot\s{0,2}>)\s{0,3}")
# "name at gmail dot com": spelled out without brackets only counts before a known
# mail provider, so "find me at mysite.com" does not become an address.
_SPELLED_DOT = re.compile(r"(?<=[a-z0-9])\s{1,3}dot\s{1,3}(?=[a-z]{2,24}\b)")
_SPELLED_AT = re.compile(
    r"(?<![\w.+-])([a-z0-9][a-z0-9._+-]{0,63})\s{1,3}at\s{1,3}((?:" + "|".join(sorted(EMAIL_PROVIDERS)) + r")\.[a-z]{2,6})\b"
)
_SPACED_AT = re.compile(r"(?<=[a-z0-9])\s{1,3}@\s{1,3}(?=[a-z0-9])")


def normalise(text: str) -> str:
    """Text as a seller means it: compatibility forms folded (＠ → @, full-width digits),
    invisible characters dropped, casefolded, "[at]"/"(dot)" and friends undone."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).casefold()
    text = _AT.sub("@", text)
    text = _DOT.sub(".", text)
    text = _SPELLED_DOT.sub(".", text)
    text = _SPELLED_AT.sub(r"\1@\2", text)
    return _SPACED_AT.sub("@", text)


# --- patterns -----------------------------------------------------------------

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(r"(?<![\w.+%-])([a-z0-9][a-z0-9._%+-]{0,63})@([a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){1,6})")
_URL = re.compile(
    r"(?<![\w@.-])(?:(https?://)(?:[a-z0-9._~%!$&'*+,;=:-]{1,64}@)?|(www\.))"
    r"([a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,8})"
    r"((?:[/?#][^\s<>\"'()\[\]{}]{0,512})?)"
)
_BARE_DOMAIN = re.compile(r"(?<![\w@./:-])([a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){1,4})(?![\w@-])(/[^\s<>\"'()\[\]{}]{0,512})?")
_WHATSAPP_LINK = re.compile(r"(?:wa\.me/|whatsapp\.com/send/?\?(?:[a-z_]{1,16}=[^&\s]{0,64}&){0,4}phone=)\+?(\d{6,16})")
_TELEGRAM_LINK = re.compile(r"(?<![\w.-])(?:t|telegram)\.me/((?:joinchat/|\+)?[a-z0-9_-]{3,64})")
# One flat character class, no nested repeats: a run of phone-ish characters, trimmed in code.
_PHONE = re.compile(r"(?<![\w+(.\-/])(\+?\(?\d[\d ().\-/]{6,24})")
_NOT_PHONE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}|(?:19|20)\d\d ?[-/] ?(?:19|20)\d\d")
_HANDLE = re.compile(r"(?<![\w@.+-])@([a-z][a-z0-9_]{4,31})(?![\w@-]|\.[a-z])")
_TELEGRAM_NAMED = re.compile(r"\b(?:telegram|tg)\b[^\n:@]{0,16}:\s{0,3}@?([a-z][a-z0-9_]{4,31})\b")
_SKYPE_LIVE = re.compile(r"(?<![\w])live:(\.?[a-z0-9][a-z0-9._-]{1,63})")
_SKYPE_NAMED = re.compile(r"\bskype\b[^\n:@]{0,16}[:=]\s{0,3}((?:live:)?[a-z][a-z0-9._-]{4,63})")
_PHONE_CONTEXT = re.compile(r"\b(?:whats\s?app|wa|phone|tel|call|text|sms|mobile|cell|viber|signal|imo|number|contact)\b")
_WHATSAPP_CONTEXT = re.compile(r"\b(?:whats\s?app|wa)\b")
_TELEGRAM_CONTEXT = re.compile(r"\b(?:telegram|tg)\b")
# How far back a keyword ("WhatsApp:", "Telegram") still describes what follows it.
CONTEXT_CHARS = 30


def registered_domain(host: str) -> str:
    """`shop.example.co.uk` → `example.co.uk`: the name someone bought. A heuristic, not the
    public suffix list, good enough to see two hosts of one site as one."""
    labels = host.strip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _valid_host(host: str, *, bare: bool) -> bool:
    labels = host.split(".")
    if len(labels) < 2 or not all(re.fullmatch(_LABEL, label) for label in labels):
        return False
    tld = labels[-1]
    if not tld.isalpha() or not 2 <= len(tld) <= 24:
        return False
    return tld in BARE_TLDS if bare else True


def is_common_domain(host: str, extra: Iterable[str] = ()) -> bool:
    """A marketplace, a review target or a universal service: not a seller's own site."""
    host = host.removeprefix("www.")
    domain = registered_domain(host)
    ignored = MARKETPLACE_DOMAINS | COMMON_DOMAINS | set(extra)
    if host in ignored or domain in ignored:
        return True
    brand = domain.split(".")[0]
    return brand in COMMON_BRANDS or brand in EMAIL_PROVIDERS


def _before(text: str, start: int) -> str:
    return text[max(0, start - CONTEXT_CHARS):start]


def _email(local: str, domain: str) -> str:
    # Sub-addressing reaches the same inbox; Gmail also ignores dots.
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def _phone_digits(raw: str) -> str | None:
    digits = re.sub(r"\D", "", raw)
    if not PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS:
        return None
    # 10000000 or 11111111 is a count or filler, not a number someone answers.
    if len(set(digits)) <= 2:
        return None
    return digits


def extract_contacts(text: str, *, ignore_domains: Iterable[str] = ()) -> list[Contact]:
    """Every contact in `text`, de-obfuscated and normalised, sorted and without repeats.

    `ignore_domains` adds sites that are not contacts here (the marketplace's own domain)."""
    if not text:
        return []
    text = normalise(text)
    ignore = {d.removeprefix("www.") for d in ignore_domains}
    found: set[Contact] = set()
    # Characters already read as something more specific; a mask keeps the overlap
    # test proportional to the match, not to the number of earlier matches.
    taken = bytearray(len(text))

    def take(span: tuple[int, int]) -> None:
        taken[span[0]:span[1]] = b"\x01" * (span[1] - span[0])

    def add(kind: str, value: str, raw: str, span: tuple[int, int] | None = None) -> None:
        found.add(Contact(kind, value, raw.strip()))
        if span:
            take(span)

    def free(start: int, end: int) -> bool:
        return not any(taken[start:end])

    for m in _EMAIL.finditer(text):
        local, domain = m.group(1).rstrip("."), m.group(2).rstrip(".-")
        if not _valid_host(domain, bare=False):
            continue
        add("email", _email(local, domain), m.group(0), m.span())
        if not is_common_domain(domain, ignore):
            add("domain", registered_domain(domain), domain)
    for m in _WHATSAPP_LINK.finditer(text):
        digits = _phone_digits(m.group(1))
        if digits:
            add("whatsapp", digits, m.group(0), m.span())
    for m in _TELEGRAM_LINK.finditer(text):
        add("telegram", m.group(1).rstrip("._-"), m.group(0), m.span())
    for m in _SKYPE_LIVE.finditer(text):
        add("skype", "live:" + m.group(1).rstrip("._-"), m.group(0), m.span())
    for m in _SKYPE_NAMED.finditer(text):
        if free(*m.span(1)):
            add("skype", m.group(1).rstrip("._-"), m.group(0), m.span())
    for m in _URL.finditer(text):
        host = m.group(3).rstrip(".-")
        if free(*m.span()) and _valid_host(host, bare=False) and not is_common_domain(host, ignore):
            add("domain", registered_domain(host.removeprefix("www.")), m.group(0).rstrip(".,;:!?"))
        take(m.span())
    for m in _BARE_DOMAIN.finditer(text):
        host = m.group(1).rstrip(".-")
        if free(*m.span()) and _valid_host(host, bare=True) and not is_common_domain(host, ignore):
            add("domain", registered_domain(host.removeprefix("www.")), m.group(0).rstrip(".,;:!?"))
    for m in _TELEGRAM_NAMED.finditer(text):
        if free(*m.span(1)):
            add("telegram", m.group(1), m.group(0), m.span())
    for m in _HANDLE.finditer(text):
        if free(*m.span()):
            kind = "telegram" if _TELEGRAM_CONTEXT.search(_before(text, m.start())) else "handle"
            add(kind, m.group(1), m.group(0), m.span())
    for m in _PHONE.finditer(text):
        raw = m.group(1).rstrip(" ().-/")
        if not free(m.start(), m.start() + len(raw)) or _NOT_PHONE.fullmatch(raw):
            continue
        digits = _phone_digits(raw)
        if not digits:
            continue
        before = _before(text, m.start())
        # A long number alone is an order count or a date range; a phone is written
        # with "+" or next to a word that says so.
        if not (raw.startswith("+") or _PHONE_CONTEXT.search(before)):
            continue
        add("whatsapp" if _WHATSAPP_CONTEXT.search(before) else "phone", digits, raw)
    return sorted(found)


def listing_texts(listing: dict) -> Iterator[str]:
    """The free text of a stored listing row where a seller could leave a contact."""
    import json

    for field in ("title", "description"):
        if listing.get(field):
            yield str(listing[field])
    for field, keys in (("packages", ("title", "description")), ("faq", ("question", "answer"))):
        raw = listing.get(field)
        try:
            items = json.loads(raw) if isinstance(raw, str) else (raw or [])
        except ValueError:
            continue
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                yield from (str(item[k]) for k in keys if item.get(k))
            elif isinstance(item, str):
                yield item
