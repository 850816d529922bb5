# cython: language_level=3, boundscheck=False, wraparound=False
"""Compiled lexicon look-up: CueMatcher's two PhraseMatchers, without a Python tuple and a string
look-up per match before the label filter. Same matches, same order as the Python path:
the NORM matcher's, then the LOWER matcher's, each in spaCy's order, kept when their label is wanted.
"""
from libcpp.vector cimport vector
from libcpp.unordered_map cimport unordered_map
from spacy.matcher.phrasematcher cimport PhraseMatcher
from spacy.structs cimport SpanC
from spacy.tokens.doc cimport Doc
from spacy.typedefs cimport attr_t

from .rules import cue_label

SPACY_VERSION_BUILT = BUILT_WITH_SPACY
globals()["BUILT_WITH_SPACY"] = SPACY_VERSION_BUILT


cdef class CompiledPhrases:
    cdef PhraseMatcher by_norm
    cdef PhraseMatcher by_lower
    cdef unordered_map[attr_t, int] index  # match id (the cue name's hash) -> position in names
    cdef list names
    cdef list labels_of  # position -> cue label
    cdef dict wanted_for  # labels (frozenset) -> bytes, 1 where the cue at that position is wanted

    def __init__(self, by_norm, by_lower, names):
        """`names`: every cue name the two matchers were given."""
        self.by_norm = by_norm
        self.by_lower = by_lower
        self.names = list(dict.fromkeys(names))
        self.labels_of = [cue_label(n) for n in self.names]
        strings = by_norm.vocab.strings
        for i, name in enumerate(self.names):
            self.index[strings.add(name)] = i
        self.wanted_for = {}

    cdef bytes _wanted(self, labels):
        wanted = self.wanted_for.get(labels)
        if wanted is None:
            wanted = self.wanted_for[labels] = bytes(
                1 if labels is None or label in labels else 0 for label in self.labels_of)
        return wanted

    def find(self, Doc doc, labels=None):
        """(cue name, start, end) for every lexicon match whose label is in `labels` (all when None)."""
        cdef list out = []
        if doc.length == 0:
            return out
        cdef const unsigned char[:] wanted = self._wanted(labels)
        cdef vector[SpanC] matches
        cdef PhraseMatcher matcher
        cdef size_t k
        cdef int i
        for matcher in (self.by_norm, self.by_lower):
            matches.clear()
            matcher.find_matches(doc, 0, doc.length, &matches)
            for k in range(matches.size()):
                i = self.index.at(matches[k].label)
                if wanted[i]:
                    out.append((self.names[i], matches[k].start, matches[k].end))
        return out
