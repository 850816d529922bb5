"""Deterministic seller-style obfuscation of listing text (leet, masks, separators, look-alikes, emoji stars) for robustness checks."""
from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping
from typing import Any

# Words sellers disguise; other words are disguised rarely.
TRIGGERS = re.compile(
    r"^(reviews?|ratings?|testimonials?|feedback|opinions?|recommendations?|stars?|refunds?|rebates?|"
    r"cashback|remov\w*|delet\w*|google|amazon|trustpilot|yelp|tripadvisor|facebook|etsy|ebay|walmart|"
    r"glassdoor|zillow|airbnb|reseñas|resenas|opiniones|valoraciones|bewertungen|rezensionen|avis|"
    r"avaliações|recensioni|beoordelingen|recensies|comments?|post\w*|leave|write|negative|accounts?)$",
    re.IGNORECASE)
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "A": "А", "E": "Е",
             "O": "О", "P": "Р", "C": "С", "T": "Т", "H": "Н", "K": "К", "M": "М", "B": "В"}
_STAR_PHRASE = re.compile(r"\b(?:5|five)[\s-]?stars?\b|\b([1-2])[\s-]?stars?\b", re.IGNORECASE)
TRANSFORMS = ("leet", "mask", "dots", "spaces", "hyphen", "cyrillic")


def _leet(word: str, rng: random.Random) -> str:
    spots = [i for i, c in enumerate(word) if c.lower() in _LEET]
    if not spots:
        return word
    chosen = set(rng.sample(spots, min(len(spots), rng.choice((1, 2)))))
    return "".join(_LEET[c.lower()] if i in chosen else c for i, c in enumerate(word))


def _mask(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    n = rng.choice((1, 2))
    start = rng.randint(1, len(word) - n - 2)
    return word[:start] + "*" * n + word[start + n:]


def _cyrillic(word: str, rng: random.Random) -> str:
    spots = [i for i, c in enumerate(word) if c in _CYRILLIC]
    if not spots:
        return word
    chosen = set(rng.sample(spots, min(len(spots), rng.choice((1, 2, 3)))))
    return "".join(_CYRILLIC[c] if i in chosen else c for i, c in enumerate(word))


def obfuscate_word(word: str, rng: random.Random, transform: str | None = None) -> str:
    transform = transform or rng.choice(TRANSFORMS)
    if transform == "leet":
        return _leet(word, rng)
    if transform == "mask":
        return _mask(word, rng)
    if transform == "dots":
        return ".".join(word)
    if transform == "spaces":
        return " ".join(word)
    if transform == "hyphen" and len(word) >= 5:
        cut = rng.randint(2, len(word) - 2)
        return word[:cut] + "-" + word[cut:]
    return _cyrillic(word, rng)


def obfuscate_text(text: str, rng: random.Random, rate: float = 0.7, other_rate: float = 0.05) -> str:
    """Disguise trigger words with probability `rate`, other words with `other_rate`; star phrases become glyphs."""
    def stars(m: re.Match) -> str:
        if m.group(1):
            return m.group(1) + rng.choice(("★", "⭐"))
        return rng.choice(("★★★★★", "⭐⭐⭐⭐⭐", "✰✰✰✰✰", "5⭐", "5*"))

    text = _STAR_PHRASE.sub(stars, text)

    def word(m: re.Match) -> str:
        w = m.group(0)
        p = rate if TRIGGERS.match(w) else other_rate
        return obfuscate_word(w, rng) if len(w) >= 4 and rng.random() < p else w

    return re.sub(r"[^\W\d_]{2,}", word, text)


def obfuscate_listing(listing: Mapping[str, Any], seed: int = 13) -> dict[str, Any]:
    """Same listing with title and description disguised; the seed and the listing's id fix the result."""
    key = f"{seed}:{listing.get('id', '')}:{listing.get('title', '')}".encode()
    rng = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
    out = dict(listing)
    for name in ("title", "description"):
        if isinstance(out.get(name), str):
            out[name] = obfuscate_text(out[name], rng)
    return out
