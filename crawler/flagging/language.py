"""Guess a listing's language (en, es, de, fr, pt, it, nl) from stopword counts: cheap, no model."""
from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping

LANGUAGES = ("en", "es", "de", "fr", "pt", "it", "nl")

# Short, distinctive function words; words shared by several languages are left out.
STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and you your will with for from this that are our is of to my we on get it be can in "
                    "all any per up out more than only just each".split()),
    "es": frozenset("el los las del una por con para tu tus su sus es que mi nuestro nuestra desde sin muy "
                    "voy pero más este esta cada también hasta".split()),
    "de": frozenset("der die das und ich ihr ihre ihren ihrem dein deine deinen für mit von auf ist nicht "
                    "wir werde sie den dem des ein eine einen zu auch oder über".split()),
    "fr": frozenset("le la les des et je vous votre vos pour avec sur est une du au aux nous dans pas "
                    "ou sont vais ce cette qui".split()),
    "pt": frozenset("o os as do da dos das um uma com para seu sua seus suas não em no na nos nas vou "
                    "é ao pelo pela mais".split()),
    "it": frozenset("il lo gli della delle dei di che per con una tuo tua tuoi sul sulla sono non è "
                    "al alla nel nella da più".split()),
    "nl": frozenset("de het een en ik je jouw uw van voor met op is niet wij we ga zijn naar bij "
                    "ook dat aan dan".split()),
}


class LanguageGuesser:
    """Scores languages from the words of a text; ties and silence go to English."""

    def __init__(self, stopwords: Mapping[str, frozenset[str]] = STOPWORDS, lexicon_words: Mapping[str, set[str]] | None = None):
        self.word_langs: dict[str, tuple[str, ...]] = {}
        for lang, words in stopwords.items():
            for w in words:
                self.word_langs[w] = self.word_langs.get(w, ()) + (lang,)
        # Lexicon words specific to one language (reseñas, Bewertungen) are strong evidence.
        self.lexicon_langs: dict[str, str] = {}
        for lang, words in (lexicon_words or {}).items():
            for w in words:
                owners = [other for other, ws in (lexicon_words or {}).items() if w in ws]
                if len(owners) == 1:
                    self.lexicon_langs[w] = lang

    def weight_table(self, key: Callable[[str], Hashable]) -> tuple[dict[Hashable, tuple[tuple[int, int], ...]], tuple[str, ...]]:
        """Each word's key -> its nonzero (language index, integer weight) pairs, and the languages indexed.
        Weights are scaled by a common denominator, so sums are exact (the compiled guesser reuses this)."""
        denom = math.lcm(*(len(langs) for langs in self.word_langs.values()), 1)
        index = {lang: i for i, lang in enumerate(LANGUAGES)}
        weights: dict[Hashable, tuple[tuple[int, int], ...]] = {}
        for word in set(self.word_langs) | set(self.lexicon_langs):
            w = [0] * len(LANGUAGES)
            for lang in self.word_langs.get(word, ()):
                w[index[lang]] += denom // len(self.word_langs[word])
            if word in self.lexicon_langs:
                w[index[self.lexicon_langs[word]]] += 2 * denom
            weights[key(word)] = tuple((i, x) for i, x in enumerate(w) if x)
        return weights, LANGUAGES

    def keyed(self, key: Callable[[str], Hashable]) -> Callable[[Iterable[Hashable]], str]:
        """A guesser over a doc's word keys (e.g. spaCy LOWER ids), for the hot path: one dict look-up per
        word and integer scores."""
        weights, _ = self.weight_table(key)
        en = LANGUAGES.index("en")

        def guess(keys: Iterable[Hashable]) -> str:
            scores = [0] * len(LANGUAGES)
            get = weights.get
            for k in keys:
                w = get(k)
                if w:
                    for i, x in w:
                        scores[i] += x
            best = max(range(len(LANGUAGES)), key=lambda i: (scores[i], i == en))
            return LANGUAGES[best] if scores[best] > scores[en] else "en"

        return guess
