"""Undo seller obfuscation: map token text to a canonical form and re-join split words, keeping original offsets."""
from __future__ import annotations

import re
import unicodedata
from typing import Callable, Iterable

# Latin look-alikes from Cyrillic and Greek (lower and upper case).
_HOMOGLYPHS = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ɡ": "g", "ո": "n",
    "ս": "u", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J",
    "α": "a", "ο": "o", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}
# Cyrillic letters that sound unlike the Latin letter they look like: a seller mixing scripts may write
# "рeviews" for reviews (р says r) as well as "gооgle" (о looks like o). Tried only on mixed-script words
# whose look-alike reading is no known word.
_CYRILLIC_SOUNDS = str.maketrans({
    "р": "r", "в": "v", "н": "n", "у": "u", "с": "s", "х": "h", "г": "g", "и": "i", "л": "l", "д": "d",
    "п": "p", "з": "z", "б": "b", "ф": "f",
    "Р": "R", "В": "V", "Н": "N", "У": "U", "С": "S", "Х": "H", "Г": "G", "И": "I", "Л": "L", "Д": "D",
    "П": "P", "З": "Z", "Б": "B", "Ф": "F",
})
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
STAR = "★"
_STAR_GLYPHS = "★☆✰✩✪✫✬✭✮✯⭐🌟✡"
_CHAR_MAP = str.maketrans(
    {**_HOMOGLYPHS, **{c: "" for c in _ZERO_WIDTH}, **{c: STAR for c in _STAR_GLYPHS}, "\ufe0f": ""}
)
# Digits and symbols used for letters; tried only when the result is a known word.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                       "!": "i", "|": "l", "8": "b", "9": "g"})
_LEET_ALT = str.maketrans({"1": "l", "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                           "$": "s", "!": "i", "|": "i"})
_LEET_CHARS = set("0134578@$!|9")
_SEPARATORS = re.compile(r"[._\-·•*'’`~^+]")
_ELISION = re.compile(r"^(?:l|d|j|qu|n|s|c|m|t|dell|all|dall|nell|sull|un)['’](?=\w)")
_MULTI_MASK = re.compile(r"[^\W\d_]*(?:(?:\*+|#+)[^\W\d_]+){2,}(?:\*+|#+)?|[^\W\d_]+(?:\*+|#+)[^\W\d_]+(?:\*+|#+)")
SEPARATOR_TOKENS = frozenset({"-", ".", "_", "·", "•", "/", "|", "*", "~", "+"})


def _fold(word: str) -> str:
    """The word without diacritics ("avaliações" -> "avaliacoes")."""
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


class Canonicalizer:
    """Maps one token's text to its canonical form (cached).

    `vocab` holds every canonical word the lexicons know, so digit, mask and
    separator repairs are accepted only when they produce a word that matters;
    `lemma` is the English lookup lemma table from spacy-lookups-data;
    `aliases` maps misspellings and slang to the word they stand for;
    `compound_heads` lets German/Dutch compounds read as their head noun.
    """

    def __init__(self, vocab: Iterable[str], lemma: dict[str, str], aliases: dict[str, str],
                 compound_heads: Iterable[str] = ()):
        self.lemma = lemma
        self.aliases = aliases
        self.vocab: set[str] = set()
        self.compound_heads = tuple(sorted(set(compound_heads), key=len, reverse=True))
        self._by_shape: dict[tuple[str, str], list[str]] = {}
        self.cache: dict[str, str] = {}
        self.add_vocab(vocab)

    def add_vocab(self, words: Iterable[str]) -> None:
        for w in words:
            if w and " " not in w:
                self.vocab.add(w)
        self._by_shape.clear()
        self.cache.clear()
        # Accent-folded vocabulary: "avaliaçoes", "resenas", "valoracion" typed without (or with other) accents.
        self._folded: dict[str, str] = {}
        for w in sorted(self.vocab):
            f = _fold(w)
            if f != w:
                self._folded.setdefault(f, w)

    def _known(self, low: str) -> str | None:
        # A word the lexicons list as written stays as written, so canon() is idempotent on them.
        if low in self.aliases:
            return self.aliases[low]
        if low in self.vocab:
            return low
        lem = self.lemma.get(low, low)
        lem = self.aliases.get(lem, lem)
        if lem in self.vocab:
            return lem
        if not self._folded or (low.isascii() and (len(low) < 5 or self.lemma.get(low) is not None)):
            return None  # an English word ("reels", "verifies") is not a foreign word without its accents
        return self._folded.get(_fold(low))

    def _unmask(self, low: str) -> str | None:
        # "r**views": letters around a mask; find the one known word that fits.
        m = re.fullmatch(r"([^\W\d_]*)(\*+|#+)([^\W\d_]*)", low)
        if not m:
            return self._unmask_many(low)
        if len(m.group(1)) + len(m.group(3)) < 3:
            return None
        pre, stars, suf = m.groups()
        hits = [w for w in self.vocab
                if w.startswith(pre) and w.endswith(suf)
                and len(pre) + len(suf) + 1 <= len(w) <= len(pre) + len(suf) + len(stars) + 1]
        if not hits:
            return None
        hits.sort(key=lambda w: (abs(len(w) - len(low)), w))
        return self._known(hits[0])

    def _unmask_many(self, low: str) -> str | None:
        # "r*v*e*w*s", "r*v**ws": several masks; each run of k stands for up to k + 1 hidden letters, or
        # for nothing when it is only a separator. Needs 4 visible letters, at least half of the word.
        if not _MULTI_MASK.fullmatch(low):
            return None
        visible = sum(c.isalpha() for c in low)
        if visible < 4:
            return None
        parts = re.findall(r"\*+|#+|[^\W\d_]+", low)
        rx = re.compile("".join(f"([^\\W\\d_]{{0,{len(p) + 1}}})" if p[0] in "*#" else re.escape(p) for p in parts))
        masks = [len(p) for p in parts if p[0] in "*#"]
        best = None
        for w in self.vocab:
            if not w.isalpha() or visible * 2 + 2 < len(w):
                continue
            for form in (w, w + "s"):  # the vocab holds English lemmas: "t*st*m*n**ls" is a plural
                m = rx.fullmatch(form) if visible * 2 >= len(form) else None
                if m:
                    # each run of k masks most likely hides k letters: "re*ie*s" is reviews, not replies
                    key = (sum(abs(len(g) - k) for g, k in zip(m.groups(), masks)), len(form), form != w, w)
                    if best is None or key < best:
                        best = key
        if best is None:
            return None
        return self._known(best[3])

    def canon(self, text: str) -> str:
        hit = self.cache.get(text)
        if hit is not None:
            return hit
        out = self._canon(text)
        if len(self.cache) < 500_000:
            self.cache[text] = out
        return out

    def repair(self, text: str) -> str | None:
        """The known word `text` stands for (look-alikes, digits, masks, separators undone), else None."""
        c = self._canon(text, compounds=False)
        return c if c in self.vocab else None

    def _canon(self, text: str, compounds: bool = True) -> str:
        t = text
        if not t.isascii():
            t = t.translate(_CHAR_MAP)
            if not t.isascii():
                t = unicodedata.normalize("NFKC", t).translate(_CHAR_MAP)
            if t and set(t) == {STAR}:
                return STAR
        low = t.lower()
        if not low:
            return text.lower()
        # An elided article first ("d'avis" -> avis): a lexicon phrase such as "échange d'avis" must not
        # make the elided form a word of its own.
        el = _ELISION.sub("", low)
        if el != low:
            known = self._known(el)
            if known is not None:
                return known
        known = self._known(low)
        if known is not None:
            return known
        if not text.isascii() and _LATIN_LETTER.search(text):
            sounded = text.translate(_CYRILLIC_SOUNDS).translate(_CHAR_MAP).lower()
            if sounded != low and (known := self._known(sounded)) is not None:
                return known
        has_alpha = sum(c.isalpha() for c in low) >= 2
        if has_alpha and _LEET_CHARS.intersection(low):
            for table in (_LEET, _LEET_ALT):
                cand = low.translate(table)
                known = self._known(cand) or self._known(_SEPARATORS.sub("", cand))
                if known is not None:
                    return known
        if has_alpha and ("*" in low or "#" in low):
            known = self._unmask(low)
            if known is None and _LEET_CHARS.intersection(low):  # "r3v**ws"
                known = self._unmask(low.translate(_LEET))
            if known is not None:
                return known
        if has_alpha and _SEPARATORS.search(low):
            stripped = _SEPARATORS.sub("", low)
            known = self._known(stripped) or self._known(stripped.translate(_LEET))
            if known is not None:
                return known
        for head in self.compound_heads if compounds else ():
            if low.endswith(head) and len(low) > len(head) + 2:
                return self.lemma.get(head, head)
        lem = self.lemma.get(low)
        return lem if lem is not None else low


def find_merges(words: list[tuple[str, str, bool]], joinable: Callable[[str], str | None]) -> list[tuple[int, int, str]]:
    """Find runs of tokens that spell one word: "r e v i e w s", "R-e-m-o-v-a-l", "trust pilot", "re-views".

    `words` is one (text, canonical, followed_by_single_space) triple per token;
    `joinable` returns the canonical word a joined string stands for, or None.
    Returns (start, end, canonical) token ranges, non-overlapping.
    """
    out: list[tuple[int, int, str]] = []
    n = len(words)
    i = 0
    while i < n:
        text, canon, _ = words[i]
        # Spelled-out letters separated by spaces or separator tokens.
        if len(text) == 1 and text.isalpha():
            j, letters = i, []
            while j < n:
                t, c, sp = words[j]
                if len(t) == 1 and (t.isalpha() or t in "013457@$!"):
                    letters.append(c if len(c) == 1 and c.isalpha() else t.translate(_LEET).lower())
                    j += 1
                    if j < n and words[j][0] in SEPARATOR_TOKENS and not sp:
                        j += 1
                        continue
                    if sp:
                        continue
                break
            end = j
            while end > i and words[end - 1][0] in SEPARATOR_TOKENS:
                end -= 1
            if len(letters) >= 3:
                joined = "".join(letters)
                found = joinable(joined)
                if found is None and len(letters) >= 4 and letters[0] in "ai":
                    found_rest = joinable(joined[1:])
                    if found_rest is not None:
                        k = i + 1
                        while k < end and words[k][0] in SEPARATOR_TOKENS:
                            k += 1
                        out.append((k, end, found_rest))
                        i = end
                        continue
                if found is not None:
                    out.append((i, end, found))
                    i = end
                    continue
                split = _split_run(words, i, end, joined, joinable)
                if split:
                    out.extend(split)
                    i = end
                    continue
        # Two pieces of one word: "trust pilot", "feed back", "re-views".
        if i + 1 < n and text.isalpha():
            nxt = i + 1
            if words[nxt][0] in ("-", "_", ".") and not words[i][2] and nxt + 1 < n:
                nxt += 1
            nt = words[nxt][0]
            if nt.isalpha() and (nxt == i + 1 and words[i][2] or nxt == i + 2 and not words[i + 1][2]):
                found = joinable((text + nt).lower())
                if found is not None:
                    out.append((i, nxt + 1, found))
                    i = nxt + 1
                    continue
        i += 1
    return out


def _split_run(words, i: int, end: int, joined: str, joinable) -> list[tuple[int, int, str]]:
    """Two spelled-out words in a row ("t r u s t p i l o t r e v i e w s"): split where both halves are known."""
    letter_tokens = [k for k in range(i, end) if words[k][0] not in SEPARATOR_TOKENS]
    if len(letter_tokens) != len(joined):
        return []
    for p in range(3, len(joined) - 2):
        a, b = joinable(joined[:p]), joinable(joined[p:])
        if a is not None and b is not None:
            k = letter_tokens[p]
            first_end = letter_tokens[p - 1] + 1
            return [(i, first_end, a), (k, end, b)]
    return []
