"""Guess a listing's language (en, es, de, fr, pt, it, nl) from stopword counts: cheap, no model."""
from __future__ import annotations

from collections.abc import Mapping

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
    """Scores languages from a {lowercase word: count} mapping; ties and silence go to English."""

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

    def guess(self, counts: Mapping[str, int]) -> str:
        scores = dict.fromkeys(LANGUAGES, 0.0)
        for word, n in counts.items():
            langs = self.word_langs.get(word)
            if langs:
                share = n / len(langs)
                for lang in langs:
                    scores[lang] += share
            lang = self.lexicon_langs.get(word)
            if lang:
                scores[lang] += 2 * n
        best = max(LANGUAGES, key=lambda lang: (scores[lang], lang == "en"))
        return best if scores[best] > scores["en"] else "en"
