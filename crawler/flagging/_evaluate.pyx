# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
# distutils: language = c++
"""Compiled rule evaluation: the C mirror of engine.ListingCues + engine.evaluate, with the same results.

Public API
----------
CompiledEngine(rules: list[Rule], words: EngineWords)
    Compiles every rule once: cue labels become small ints, each distinct label tuple a step or
    condition asks for becomes a tuple id, steps/conditions become C arrays (tuple id, gap, scope).
    `words` is copied (its four hash sets become C hash tables); later changes to it are not seen.
    A rule given to evaluate() that was not among `rules` is compiled on first use.

CompiledEngine.cues(doc, field_starts, field_is_tag, raw, text) -> CompiledCues
    Same arguments, in the same order, as ListingCues(doc, field_starts, field_is_tag, raw, words, text)
    without `words`: raw is the list of (cue name, start, end) CueMatcher.find gives, or the same cues as
    CueMatcher.found gives them from the compiled matchers (bytes of packed records: name hash uint64, start
    and end int32, native order; a hash is turned into its name through doc.vocab.strings once per engine and
    kept in a C table), text is doc.text.
    Tokens are read from spaCy's TokenC structs (idx, lex.length, lex.lower, NORM = norm or lex.norm),
    so the module must run against the spaCy it was built with (BUILT_WITH_SPACY). The CompiledCues
    keeps `doc` and reads token offsets from it when asked (span_chars): do not retokenize the Doc
    while its cues are in use. A raw span must be non-empty and inside the Doc (else IndexError; the
    cue matcher gives no other).

CompiledCues.evaluate(rules, diagnostics=None) -> list[RuleHit]
    engine.evaluate(cues, rules, diagnostics): the same RuleHit objects (the given Rule objects, field,
    start, end, platform, support tuple), in the same order; near misses appended to `diagnostics`
    (a list, or None for none) with the same strings, in the same order.
CompiledCues.span_chars(start, end) -> (int, int); .span_text(start, end) -> str; .labels_seen() -> set[str]
    As ListingCues's.
CompiledCues.cue_table() -> dict[str, list[tuple]]
    For tests: per label, in ListingCues.by_label order, (label, start, end, field, clause_lo, clause_hi,
    chunk_lo, chunk_hi, negated, platform) -- the fields of engine.Cue.
boundaries(text, with_re=False) -> (clause_bounds, chunk_bounds)
    For tests: ListingCues's clause_bounds and chunk_bounds lists for `text` (with_re: by the `re`
    fallback instead of the C scan).

SPACY_VERSION_BUILT / BUILT_WITH_SPACY: the spaCy version this module was compiled against.

Equivalence notes
-----------------
* The clause and chunk boundary regexes of engine.py are scanned in C (they were a fifth of the Python
  engine's time): Python's `re` rules are followed exactly (\\w = str.isalnum() or "_", \\d = decimal,
  \\s = str.isspace(), \\b and the fixed-width look-behind read the whole text, finditer's matches do not
  overlap). Should engine.py's patterns ever change, the module notices at import (pattern text and
  flags are compared) and falls back to `re` for them.
* Per-label cue lists are sorted by (start, end) keeping raw order among equals, as list.sort does.
* "c is not last" (object identity) becomes a comparison of cue indices; get(labels) lists are the
  concatenation, in label order, of the non-negated cues of each label, duplicates included.
* Every min() keeps the first minimal element, every sort of candidates is stable, like Python's.
* field_is_tag is read with Python's indexing rules (a field of -1 reads the last entry).
* Labels are interned per engine as they come (a raw cue under a label no rule names still counts in
  labels_seen()); a CompiledCues only knows the labels interned when it was made, which are all its cues'.
"""
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_SIZE
from libcpp.algorithm cimport sort as std_sort
from libcpp.pair cimport pair
from libcpp.vector cimport vector
from cpython.unicode cimport (Py_UNICODE_ISALNUM, Py_UNICODE_ISDECIMAL, Py_UNICODE_ISSPACE, PyUnicode_DATA,
                              PyUnicode_KIND)
from spacy.structs cimport TokenC
from spacy.tokens.doc cimport Doc
from ._packed cimport Packed

import re

from .engine import (_CHUNK_BOUNDARY, _CLAUSE_BOUNDARY, NEGATABLE, NEGATION_WINDOW, OFFICIAL_NEGATION_WINDOW,
                     RuleHit)

SPACY_VERSION_BUILT = BUILT_WITH_SPACY
globals()["BUILT_WITH_SPACY"] = SPACY_VERSION_BUILT

# The patterns the C scanner implements; any other pattern in engine.py is run with `re` instead.
_CLAUSE_PATTERN = r"(?<!\b[^\W\d_]\.[^\W\d_])[.!?;…]+(?=\s|$)|\n|[•✔✓➤►▪|●○◦➜→✅☑]"
_CHUNK_PATTERN = r",|\(|\)|\s[-–—]\s"
cdef bint _C_SCAN = (_CLAUSE_BOUNDARY.pattern == _CLAUSE_PATTERN and _CLAUSE_BOUNDARY.flags == re.UNICODE
                     and _CHUNK_BOUNDARY.pattern == _CHUNK_PATTERN and _CHUNK_BOUNDARY.flags == re.UNICODE)

cdef enum:
    SCOPE_LISTING = 0
    SCOPE_FIELD = 1
    SCOPE_CLAUSE = 2
    SCOPE_CHUNK = 3

cdef int64_t GAP_LIMIT = (<int64_t>1) << 62


cdef struct CueC:
    int label
    int start
    int end
    int field
    int clause_lo
    int clause_hi
    int chunk_lo
    int chunk_hi
    int platform  # index into CompiledEngine._platform_names, -1 for None
    bint negated


cdef struct StepC:
    int tup  # label tuple id
    int64_t gap


cdef struct PatC:
    int step_lo
    int step_hi


cdef struct CondC:
    int tup
    int scope


cdef struct RuleC:
    int pat_lo
    int pat_hi
    int req_lo
    int req_hi
    int unl_lo
    int unl_hi
    bint all_fields
    bint cross_clause


cdef struct CandC:
    int off  # into the chain pool
    int n


# --- the boundary regexes, in C -------------------------------------------------------------------

cdef inline bint _is_word(Py_UCS4 ch) noexcept:
    return Py_UNICODE_ISALNUM(ch) or ch == 95  # "_"


cdef inline bint _is_letter(Py_UCS4 ch) noexcept:  # [^\W\d_]
    return Py_UNICODE_ISALNUM(ch) and not Py_UNICODE_ISDECIMAL(ch)


cdef inline bint _is_stop(Py_UCS4 ch) noexcept:  # [.!?;…]
    return ch == 0x2e or ch == 0x21 or ch == 0x3f or ch == 0x3b or ch == 0x2026


cdef inline bint _is_bullet(Py_UCS4 ch) noexcept:  # [•✔✓➤►▪|●○◦➜→✅☑]
    return (ch == 0x2022 or ch == 0x2714 or ch == 0x2713 or ch == 0x27a4 or ch == 0x25ba or ch == 0x25aa
            or ch == 0x7c or ch == 0x25cf or ch == 0x25cb or ch == 0x25e6 or ch == 0x279c or ch == 0x2192
            or ch == 0x2705 or ch == 0x2611)


cdef inline bint _is_dash(Py_UCS4 ch) noexcept:  # [-–—]
    return ch == 0x2d or ch == 0x2013 or ch == 0x2014


cdef enum:  # character classes, with a table for ASCII
    K_STOP = 1  # [.!?;…]
    K_SPACE = 2  # \s
    K_WORD = 4  # \w
    K_LETTER = 8  # [^\W\d_]
    K_CHUNK = 16  # , ( )
    K_CLAUSE = 32  # \n and the bullets
    K_DASH = 64  # [-–—]

cdef unsigned char _ASCII[128]


cdef unsigned char _classes(Py_UCS4 ch) noexcept:
    cdef unsigned char k = 0
    if _is_stop(ch):
        k |= K_STOP
    if Py_UNICODE_ISSPACE(ch):
        k |= K_SPACE
    if _is_word(ch):
        k |= K_WORD
    if _is_letter(ch):
        k |= K_LETTER
    if ch == 0x2c or ch == 0x28 or ch == 0x29:
        k |= K_CHUNK
    if ch == 10 or _is_bullet(ch):
        k |= K_CLAUSE
    if _is_dash(ch):
        k |= K_DASH
    return k


cdef Py_UCS4 _c
for _c in range(128):
    _ASCII[_c] = _classes(_c)


cdef inline bint _space(Py_UCS4 ch) noexcept:
    return (_ASCII[ch] & K_SPACE) if ch < 128 else Py_UNICODE_ISSPACE(ch)


ctypedef fused uchar_t:  # the three str kinds
    uint8_t
    uint16_t
    uint32_t


cdef void _scan(const uchar_t* t, Py_ssize_t n, vector[int]& clause, vector[int]& chunk,
                vector[int]& own) noexcept:
    """clause = starts of _CLAUSE_BOUNDARY.finditer(text); chunk = sorted(clause + _CHUNK_BOUNDARY starts).

    One pass for both patterns (their characters are distinct: stops, newline and bullets for the clause one;
    , ( ) and dashes for the chunk one). \\s[-–—]\\s is looked for from its dash (spaces are many, dashes
    few): a dash at p with a space on either side is a match at p - 1 unless p - 1 is inside the previous
    match (finditer's matches do not overlap). , ( ) cannot be inside one, nor a match start at a , ( ):
    `own` comes out ascending."""
    cdef Py_ssize_t p = 0, q
    cdef Py_ssize_t resume = 0  # the first position the next \s[-–—]\s match may start at
    cdef Py_UCS4 ch
    while p < n:
        ch = t[p]
        if ch < 128:
            if not (_ASCII[ch] & (K_STOP | K_CLAUSE | K_CHUNK | K_DASH)):
                p += 1
                continue
        elif ch < 0x2013 or ch > 0x27a4:  # every other character either pattern starts with is in between
            p += 1
            continue
        if _is_stop(ch):
            q = p + 1
            while q < n and _is_stop(t[q]):
                q += 1
            # (?=\s|$): a shorter run is followed by a stop, so only the whole run can match, from any of
            # its positions; the look-behind can only refuse its first position (a later one is preceded
            # by a stop, not a letter). A stop is none of the chunk pattern's characters.
            if q < n and not _space(t[q]):
                p = q
                continue
            if (p >= 3 and t[p - 2] == 0x2e and _is_letter(t[p - 1]) and _is_letter(t[p - 3])
                    and (p == 3 or not _is_word(t[p - 4]))):
                p += 1  # (?<!\b[^\W\d_]\.[^\W\d_]) refuses p; p + 1 is tried next, as finditer does
                continue
            clause.push_back(<int>p)
            p = q
            continue
        if ch == 10 or _is_bullet(ch):
            clause.push_back(<int>p)
        elif ch == 0x2c or ch == 0x28 or ch == 0x29:  # , ( )
            own.push_back(<int>p)
        elif _is_dash(ch) and p - 1 >= resume and p + 1 < n and _space(t[p - 1]) and _space(t[p + 1]):
            own.push_back(<int>(p - 1))
            resume = p + 2
        p += 1
    _merge(clause, own, chunk)


cdef int _scan_bounds(str text, vector[int]& clause, vector[int]& chunk) except -1:
    cdef Py_ssize_t n = len(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef vector[int] own
    clause.clear()
    chunk.clear()
    clause.reserve(64)  # one allocation for most listings, not one per doubling
    own.reserve(64)
    if kind == 1:
        _scan(<const uint8_t*>data, n, clause, chunk, own)
    elif kind == 2:
        _scan(<const uint16_t*>data, n, clause, chunk, own)
    elif kind == 4:
        _scan(<const uint32_t*>data, n, clause, chunk, own)
    else:
        _regex_bounds(text, clause, chunk)
    return 0


cdef void _merge(vector[int]& a, vector[int]& b, vector[int]& out) noexcept:
    cdef size_t i = 0, j = 0
    out.reserve(a.size() + b.size())
    while i < a.size() and j < b.size():
        if b[j] < a[i]:
            out.push_back(b[j])
            j += 1
        else:
            out.push_back(a[i])
            i += 1
    while i < a.size():
        out.push_back(a[i])
        i += 1
    while j < b.size():
        out.push_back(b[j])
        j += 1


cdef int _regex_bounds(str text, vector[int]& clause, vector[int]& chunk) except -1:
    """The same with Python's re (when engine.py's patterns are not the ones _scan_bounds implements)."""
    cdef list cl = [m.start() for m in _CLAUSE_BOUNDARY.finditer(text)]
    cdef list ch = sorted(cl + [m.start() for m in _CHUNK_BOUNDARY.finditer(text)])
    clause.clear()
    chunk.clear()
    for x in cl:
        clause.push_back(x)
    for x in ch:
        chunk.push_back(x)
    return 0


ctypedef fused bounds_t:  # what _bisect_right searches: character offsets, field starts
    vector[int]
    vector[int64_t]


cdef inline int _bisect_right(const bounds_t& a, int64_t x) noexcept nogil:
    """bisect.bisect_right(a, x) for a sorted `a`, without a branch on the data (a predictable loop)."""
    cdef size_t n = a.size(), half, base = 0
    if n == 0:
        return 0
    while n > 1:  # a[:base] <= x, and the answer is in [base, base + n]
        half = n >> 1
        base += half * <size_t>(a[base + half] <= x)
        n -= half
    return <int>(base + <size_t>(a[base] <= x))


def boundaries(str text, bint with_re=False):
    """(clause_bounds, chunk_bounds) as ListingCues computes them for `text` (with `re` if with_re)."""
    cdef vector[int] clause, chunk
    if _C_SCAN and not with_re:
        _scan_bounds(text, clause, chunk)
    else:
        _regex_bounds(text, clause, chunk)
    return list(clause), list(chunk)


# --- word sets: string hashes (uniformly spread 64-bit values) in an open-addressing table -----------

cdef vector[uint64_t] _word_table(words) except *:
    """A table for _has(): power-of-two slots (0 = empty), then one slot saying whether 0 is a member."""
    keys = {int(w) for w in words}
    cdef size_t size = 8
    while size < 4 * len(keys):
        size *= 2
    cdef vector[uint64_t] table
    table.assign(size + 1, 0)
    cdef uint64_t key
    cdef size_t i
    for w in keys:
        key = w
        if key == 0:
            table[size] = 1
            continue
        i = (key ^ (key >> 29)) & (size - 1)
        while table[i] != 0:
            i = (i + 1) & (size - 1)
        table[i] = key
    return table


cdef inline bint _has(const vector[uint64_t]& table, uint64_t key) noexcept:
    cdef size_t size = table.size() - 1, i
    if key == 0:
        return table[size] != 0
    i = (key ^ (key >> 29)) & (size - 1)
    while table[i] != 0:
        if table[i] == key:
            return True
        i = (i + 1) & (size - 1)
    return False


cdef inline uint64_t _norm(const TokenC* tok) noexcept:
    """The token's NORM as Doc.to_array reads it (spacy.tokens.doc.get_token_attr)."""
    return tok.norm if tok.norm != 0 else tok.lex.norm


cdef inline size_t _hash_home(uint64_t key, size_t mask) noexcept nogil:
    """A cue name hash's first slot in CompiledEngine's table of hashes (`mask`: its size - 1)."""
    return (key ^ (key >> 29)) & mask


# --- the engine -----------------------------------------------------------------------------------

cdef class CompiledEngine:
    """Rules and engine words compiled to C arrays; makes CompiledCues for one listing's Doc."""
    cdef dict _label_ids  # label -> int
    cdef list _label_names
    cdef vector[int] _window  # per label: the negation window looked back over (0: never negated)
    cdef dict _raw_codes  # raw cue name -> label | (platform + 1) << 24
    # the same by the name's string hash (packed raw cues): open addressing, key 0 = empty slot, filled as
    # hashes come (the name read from the Doc's vocab.strings); _zero_code: the code of hash 0, -1 unknown
    cdef vector[uint64_t] _hash_keys
    cdef vector[int64_t] _hash_codes
    cdef size_t _hash_count
    cdef int64_t _zero_code
    # evaluate()'s scratch, lent to one CompiledCues.evaluate at a time (swapped in and out), so that its
    # vectors keep their capacity from listing to listing instead of growing anew in every CompiledCues
    cdef bint _scratch_busy
    cdef vector[int] _s_pool, _s_partial, _s_grown, _s_support, _s_ulabels, _s_memo_off, _s_memo_len, _s_memo_pool
    cdef vector[CandC] _s_cands
    cdef vector[pair[pair[int, int], int]] _s_order
    cdef vector[pair[int, int]] _s_taken
    cdef dict _platform_ids
    cdef list _platform_names
    cdef dict _tuple_ids  # label tuple -> int
    cdef vector[vector[int]] _tuples
    cdef vector[RuleC] _rules
    cdef vector[PatC] _pats
    cdef vector[StepC] _steps
    cdef vector[CondC] _conds
    cdef list _rule_objs
    cdef list _rule_prefix  # f"{rule.id}: saw “"
    cdef list _cond_suffix  # f"” but no {'/'.join(cond.cues)} in the same {cond.scope}"
    cdef dict _rule_index  # id(rule) -> index (the rule is kept in _rule_objs, so its id stays its own)
    cdef vector[uint64_t] _modifier_heads, _verb_objects, _negation, _review_nouns
    cdef int _l_review, _l_review_count, _l_review_modifier, _l_official_process, _l_official_bypass
    cdef int _l_platform, _t_platform

    def __init__(self, rules, words):
        self._label_ids = {}
        self._label_names = []
        self._raw_codes = {}
        self._hash_keys.assign(64, 0)
        self._hash_codes.assign(64, 0)
        self._hash_count = 0
        self._zero_code = -1
        self._platform_ids = {}
        self._platform_names = []
        self._tuple_ids = {}
        self._rule_objs = []
        self._rule_prefix = []
        self._cond_suffix = []
        self._rule_index = {}
        self._modifier_heads = _word_table(words.modifier_heads)
        self._verb_objects = _word_table(words.verb_objects)
        self._negation = _word_table(words.negation)
        self._review_nouns = _word_table(words.review_nouns)
        self._l_review = self._label("review")
        self._l_review_count = self._label("review_count")
        self._l_review_modifier = self._label("review_modifier")
        self._l_official_process = self._label("official_process")
        self._l_official_bypass = self._label("official_bypass")
        self._l_platform = self._label("platform")
        self._t_platform = self._tuple(("platform",))
        for rule in rules:
            self._rule_id(rule)

    cdef int _label(self, str name) except -1:
        cdef object got = self._label_ids.get(name)
        if got is not None:
            return got
        cdef int k = len(self._label_names)
        self._label_ids[name] = k
        self._label_names.append(name)
        if name == "official_process":
            self._window.push_back(OFFICIAL_NEGATION_WINDOW)
        elif name in NEGATABLE:
            self._window.push_back(NEGATION_WINDOW)
        else:
            self._window.push_back(0)
        return k

    cdef int64_t _raw_code(self, str name) except -1:
        cdef int64_t platform = -1
        label = name
        if name.startswith("platform:"):
            pname = name[9:]
            got = self._platform_ids.get(pname)
            if got is None:
                got = self._platform_ids[pname] = len(self._platform_names)
                self._platform_names.append(pname)
            platform = got
            label = "platform"
        cdef int64_t code = self._label(label) | ((platform + 1) << 24)
        self._raw_codes[name] = code
        return code

    cdef int _tuple(self, tuple labels) except -1:
        got = self._tuple_ids.get(labels)
        if got is not None:
            return got
        cdef vector[int] ids
        for name in labels:
            ids.push_back(self._label(name))
        cdef int k = self._tuples.size()
        self._tuples.push_back(ids)
        self._tuple_ids[labels] = k
        return k

    cdef int _cond(self, cond) except -1:
        cdef CondC c
        c.tup = self._tuple(tuple(cond.cues))
        scope = cond.scope
        c.scope = (SCOPE_LISTING if scope == "listing" else SCOPE_FIELD if scope == "field"
                   else SCOPE_CLAUSE if scope == "clause" else SCOPE_CHUNK)
        self._conds.push_back(c)
        self._cond_suffix.append(f"” but no {'/'.join(cond.cues)} in the same {cond.scope}")
        return 0

    cdef int _rule_id(self, rule) except -1:
        got = self._rule_index.get(id(rule))
        if got is not None:
            return got
        cdef RuleC r
        cdef PatC p
        cdef StepC s
        r.pat_lo = self._pats.size()
        for steps in rule.patterns:
            p.step_lo = self._steps.size()
            for st in steps:
                s.tup = self._tuple(tuple(st.cues))
                gap = st.gap
                s.gap = GAP_LIMIT if gap > GAP_LIMIT else -GAP_LIMIT if gap < -GAP_LIMIT else gap
                self._steps.push_back(s)
            p.step_hi = self._steps.size()
            self._pats.push_back(p)
        r.pat_hi = self._pats.size()
        r.req_lo = self._conds.size()
        for cond in rule.requires:
            self._cond(cond)
        r.req_hi = self._conds.size()
        r.unl_lo = self._conds.size()
        for cond in rule.unless:
            self._cond(cond)
        r.unl_hi = self._conds.size()
        r.all_fields = not (rule.fields != "all")
        r.cross_clause = bool(rule.cross_clause)
        cdef int k = self._rules.size()
        self._rules.push_back(r)
        self._rule_objs.append(rule)
        self._rule_prefix.append(f"{rule.id}: saw “")
        self._rule_index[id(rule)] = k
        return k

    cdef inline int64_t _code_of_hash(self, uint64_t key, Doc doc) except -1:
        """The raw code of the cue whose name hashes to `key` (the name read from doc.vocab.strings once)."""
        cdef size_t mask = self._hash_keys.size() - 1
        cdef size_t i
        if key == 0:
            if self._zero_code >= 0:
                return self._zero_code
        else:
            i = _hash_home(key, mask)
            while self._hash_keys[i] != 0:
                if self._hash_keys[i] == key:
                    return self._hash_codes[i]
                i = (i + 1) & mask
        return self._learn_hash(key, doc)

    cdef int64_t _learn_hash(self, uint64_t key, Doc doc) except -1:
        name = doc.vocab.strings[key]
        got = self._raw_codes.get(name)
        cdef int64_t code = self._raw_code(name) if got is None else got
        if key == 0:
            self._zero_code = code
            return code
        cdef size_t j
        cdef vector[uint64_t] old_keys
        cdef vector[int64_t] old_codes
        if 2 * (self._hash_count + 1) > self._hash_keys.size():  # load under 1/2: twice the size, every key again
            old_keys.swap(self._hash_keys)
            old_codes.swap(self._hash_codes)
            self._hash_keys.assign(2 * old_keys.size(), 0)
            self._hash_codes.assign(2 * old_keys.size(), 0)
            for j in range(old_keys.size()):
                if old_keys[j] != 0:
                    self._hash_put(old_keys[j], old_codes[j])
        self._hash_put(key, code)
        self._hash_count += 1
        return code

    cdef inline void _hash_put(self, uint64_t key, int64_t code) noexcept:
        """Put a key that is not there (and not 0) into the table, which has a free slot."""
        cdef size_t mask = self._hash_keys.size() - 1
        cdef size_t i = _hash_home(key, mask)
        while self._hash_keys[i] != 0:
            i = (i + 1) & mask
        self._hash_keys[i] = key
        self._hash_codes[i] = code

    def cues(self, Doc doc not None, field_starts, field_is_tag, raw, str text not None):
        """The cues of one listing's Doc (ListingCues's arguments without `words`).

        `raw`: the (cue name, start, end) list CueMatcher.find gives, or the same cues as CueMatcher.found
        gives them from the compiled matchers: bytes of packed (name hash, start, end) records (see
        _cues.CompiledPhrases.packed), the names' hashes from doc.vocab.strings.

        The CompiledCues keeps `doc` and reads its tokens when asked for offsets: do not retokenize it."""
        cdef CompiledCues cc = CompiledCues.__new__(CompiledCues)
        cc._engine = self
        cc._doc = doc
        cc._text = text
        cdef int n = doc.length, s, e
        cdef int64_t code
        cdef char tag
        if type(field_starts) is list:
            cc._field_starts.reserve(PyList_GET_SIZE(field_starts))
        for x in field_starts:
            cc._field_starts.push_back(x)
        if type(field_is_tag) is list:
            cc._field_is_tag.reserve(PyList_GET_SIZE(field_is_tag))
        for x in field_is_tag:
            tag = 1 if x else 0  # (a conditional expression straight into push_back compiles wrong)
            cc._field_is_tag.push_back(tag)
        if _C_SCAN:
            _scan_bounds(text, cc._clause, cc._chunk)
        else:
            _regex_bounds(text, cc._clause, cc._chunk)
        cdef const char* data
        cdef Py_ssize_t k, count
        cdef Packed rec
        if type(raw) is bytes:
            count = PyBytes_GET_SIZE(raw)
            if count % sizeof(Packed):
                raise ValueError(f"packed cues: {count} bytes is not a whole number of {sizeof(Packed)}-byte records")
            count //= sizeof(Packed)
            data = PyBytes_AS_STRING(raw)
            cc._cues.reserve(count)
            for k in range(count):
                memcpy(&rec, data + k * sizeof(Packed), sizeof(Packed))
                code = self._code_of_hash(rec.key, doc)
                s = rec.start
                e = rec.end
                if s < 0 or e > n or s >= e:
                    raise IndexError(f"cue {doc.vocab.strings[rec.key]!r} [{s}, {e}) outside the Doc's {n} tokens")
                self._add_cue(cc, code, s, e)
        else:
            cc._cues.reserve(len(raw))
            for item in raw:
                name, s, e = item
                got = self._raw_codes.get(name)
                code = self._raw_code(name) if got is None else got
                if s < 0 or e > n or s >= e:
                    raise IndexError(f"cue {name!r} [{s}, {e}) outside the Doc's {n} tokens")
                self._add_cue(cc, code, s, e)
        cc._index()
        return cc

    cdef inline void _add_cue(self, CompiledCues cc, int64_t code, int s, int e) noexcept:
        """ListingCues's treatment of one raw cue, tokens s..e (inside the Doc) of the cue with raw code `code`."""
        cdef const TokenC* toks = cc._doc.c
        cdef int n = cc._doc.length, k, label, window, clo, chi
        cdef int64_t c0, c1, clause_start
        cdef uint64_t nxt
        cdef CueC cue
        label = <int>(code & 0xFFFFFF)
        if (label == self._l_review or label == self._l_review_count) and e < n:
            nxt = toks[e].lex.lower
            if _has(self._modifier_heads, nxt):
                label = self._l_review_modifier
            elif (label == self._l_review and e - s == 1 and _has(self._review_nouns, _norm(&toks[e - 1]))
                    and _has(self._verb_objects, nxt)):
                return  # "review your logo": a verb, not a review on offer
        c0 = toks[s].idx
        c1 = toks[e - 1].idx + <int64_t>toks[e - 1].lex.length - 1
        # c0 <= c1, so bisect_right(a, c1) is bisect_right(a, c0) unless a boundary lies in (c0, c1]
        clo = _bisect_right(cc._clause, c0)
        chi = clo
        if <size_t>clo < cc._clause.size() and cc._clause[clo] <= c1:
            chi = _bisect_right(cc._clause, c1)
        if clo != chi and e - s > 1:
            return  # a composite cue's wildcard ran over a sentence or field boundary
        cue.label = label
        cue.start = s
        cue.end = e
        cue.field = _bisect_right(cc._field_starts, c0) - 1
        cue.clause_lo = clo
        cue.clause_hi = chi
        cue.chunk_lo = _bisect_right(cc._chunk, c0)
        cue.chunk_hi = cue.chunk_lo
        if <size_t>cue.chunk_lo < cc._chunk.size() and cc._chunk[cue.chunk_lo] <= c1:
            cue.chunk_hi = _bisect_right(cc._chunk, c1)
        cue.negated = False
        cue.platform = <int>(code >> 24) - 1
        window = self._window[label]
        if window > 0:
            # a token k < s starts at or before c0: bisect_right(clause, its idx) <= clo, and == clo unless a
            # boundary lies between it and c0
            clause_start = cc._clause[clo - 1] if clo > 0 else -1
            k = s - window if s > window else 0
            while k < s:
                if _has(self._negation, _norm(&toks[k])) and toks[k].idx >= clause_start:
                    cue.negated = True
                    break
                k += 1
            if cue.negated and label == self._l_official_process:
                cue.label = self._l_official_bypass
                cue.negated = False
        cc._cues.push_back(cue)


cdef class CompiledCues:
    """One listing's cues in C arrays, indexed by label (ListingCues's counterpart)."""
    cdef CompiledEngine _engine
    cdef Doc _doc
    cdef str _text
    cdef vector[int64_t] _field_starts
    cdef vector[char] _field_is_tag
    cdef vector[int] _clause, _chunk
    cdef vector[CueC] _cues
    cdef int _nlabels  # labels known when the cues were made; later ones have no cue
    cdef vector[int] _lab_off  # the cues of label L: _lab_cues[_lab_off[L]:_lab_off[L + 1]], sorted
    cdef vector[int] _lab_cues
    cdef vector[char] _seen  # per label: has a cue that is not negated
    cdef vector[int] _memo_off  # per label tuple: get(labels) is _memo_pool[off:off + len], off -1 until asked
    cdef vector[int] _memo_len
    cdef vector[int] _memo_pool
    # scratch, reused across rules
    cdef vector[int] _pool, _partial, _grown, _support, _ulabels
    cdef vector[CandC] _cands
    cdef vector[pair[pair[int, int], int]] _order
    cdef vector[pair[int, int]] _taken

    def __init__(self):
        raise TypeError("CompiledCues are made by CompiledEngine.cues()")

    cdef void _index(self) noexcept:
        """by_label: the cues of each label in raw order, then sorted by (start, end) like list.sort."""
        cdef int i, j, lab, lo, hi, k
        cdef int ncues = self._cues.size()
        cdef CueC* cues = self._cues.data()
        cdef vector[pair[pair[int, int], int]] keyed
        cdef bint ordered
        self._nlabels = len(self._engine._label_names)
        self._lab_off.assign(self._nlabels + 1, 0)
        self._seen.assign(self._nlabels, 0)
        for i in range(ncues):
            self._lab_off[cues[i].label + 1] += 1
            if not cues[i].negated:
                self._seen[cues[i].label] = 1
        for lab in range(self._nlabels):
            self._lab_off[lab + 1] += self._lab_off[lab]
        self._lab_cues.resize(ncues)
        cdef int* off = self._lab_off.data()
        for i in range(ncues):  # off[lab] as the cursor: it ends at the label's end, the next label's start
            lab = cues[i].label
            self._lab_cues[off[lab]] = i
            off[lab] += 1
        for lab in range(self._nlabels, 0, -1):
            off[lab] = off[lab - 1]
        off[0] = 0
        for lab in range(self._nlabels):
            lo, hi = self._lab_off[lab], self._lab_off[lab + 1]
            ordered = True
            for k in range(lo + 1, hi):
                i, j = self._lab_cues[k - 1], self._lab_cues[k]
                if cues[j].start < cues[i].start or (cues[j].start == cues[i].start and cues[j].end < cues[i].end):
                    ordered = False
                    break
            if ordered:
                continue
            # (start, end, raw position) orders as the stable sort on (start, end) does
            keyed.clear()
            for k in range(lo, hi):
                i = self._lab_cues[k]
                keyed.push_back(pair[pair[int, int], int](pair[int, int](cues[i].start, cues[i].end), i))
            std_sort(keyed.begin(), keyed.end())
            for k in range(lo, hi):
                self._lab_cues[k] = keyed[k - lo].second

    cdef int _get(self, int tup) noexcept:
        """ListingCues.get: the non-negated cues of each label of the tuple, in label order, as an offset into
        _memo_pool (_memo_len[tup] long). Filling a new tuple may move _memo_pool."""
        cdef int off = self._memo_off[tup], lab, c, k
        cdef size_t a
        cdef vector[int]* labels
        if off >= 0:
            return off
        off = self._memo_pool.size()
        labels = &self._engine._tuples[tup]
        for a in range(labels.size()):
            lab = labels[0][a]
            if lab < self._nlabels:
                for k in range(self._lab_off[lab], self._lab_off[lab + 1]):
                    c = self._lab_cues[k]
                    if not self._cues[c].negated:
                        self._memo_pool.push_back(c)
        self._memo_off[tup] = off
        self._memo_len[tup] = self._memo_pool.size() - off
        return off

    cdef inline int _is_tag(self, int field) except -1:
        """field_is_tag[field] with Python's indexing (-1 is the last)."""
        cdef int n = self._field_is_tag.size()
        if field < 0:
            field += n
        if field < 0 or field >= n:
            raise IndexError("list index out of range")
        return self._field_is_tag[field]

    cdef inline int _tok(self, int i) except -1:
        """Token i, with Python's indexing, of the Doc."""
        cdef int n = self._doc.length
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError("list index out of range")
        return i

    def span_chars(self, int start, int end):
        """Character offsets of tokens start..end in the listing text."""
        cdef int a = self._tok(start), b = self._tok(end - 1)
        return self._doc.c[a].idx, self._doc.c[b].idx + <int64_t>self._doc.c[b].lex.length

    def span_text(self, int start, int end):
        cdef int a = self._tok(start), b = self._tok(end - 1)
        return self._text[self._doc.c[a].idx:self._doc.c[b].idx + <int64_t>self._doc.c[b].lex.length]

    cdef str _span(self, int start, int end):
        return self.span_text(start, end)

    def labels_seen(self):
        names = self._engine._label_names
        return {names[lab] for lab in range(self._nlabels) if self._seen[lab]}

    def cue_table(self):
        """For tests: {label: [(label, start, end, field, clause_lo, clause_hi, chunk_lo, chunk_hi, negated,
        platform), ...]} in ListingCues.by_label's order."""
        names = self._engine._label_names
        plats = self._engine._platform_names
        out = {}
        cdef CueC c
        for lab in range(self._nlabels):
            if self._lab_off[lab + 1] > self._lab_off[lab]:
                rows = out[names[lab]] = []
                for k in range(self._lab_off[lab], self._lab_off[lab + 1]):
                    c = self._cues[self._lab_cues[k]]
                    rows.append((names[c.label], c.start, c.end, c.field, c.clause_lo, c.clause_hi, c.chunk_lo,
                                 c.chunk_hi, bool(c.negated), plats[c.platform] if c.platform >= 0 else None))
        return out

    def evaluate(self, rules, diagnostics=None):
        """engine.evaluate(cues, rules, diagnostics): every rule hit; near misses go to `diagnostics`."""
        cdef CompiledEngine eng = self._engine
        cdef list hits = []
        cdef int ri
        # the engine's scratch when no other evaluate() has it (rules or diagnostics may run Python code, so
        # another thread's evaluate() may start before this one ends): the memo starts empty in it
        cdef bint borrowed = not eng._scratch_busy
        if borrowed:
            eng._scratch_busy = True
            self._swap_scratch(eng)
            self._memo_off.assign(eng._tuples.size(), -1)
            self._memo_len.assign(eng._tuples.size(), 0)
            self._memo_pool.clear()
        try:
            for rule in rules:
                ri = eng._rule_id(rule)  # a rule the engine was not made with is compiled now
                if self._memo_off.size() < eng._tuples.size():
                    self._memo_off.resize(eng._tuples.size(), -1)
                    self._memo_len.resize(eng._tuples.size(), 0)
                self._evaluate_rule(ri, rule, hits, diagnostics)
        finally:
            if borrowed:
                self._swap_scratch(eng)  # this CompiledCues's own (memo) vectors back, as they were
                eng._scratch_busy = False
        return hits

    cdef void _swap_scratch(self, CompiledEngine eng) noexcept:
        self._pool.swap(eng._s_pool)
        self._partial.swap(eng._s_partial)
        self._grown.swap(eng._s_grown)
        self._support.swap(eng._s_support)
        self._ulabels.swap(eng._s_ulabels)
        self._memo_off.swap(eng._s_memo_off)
        self._memo_len.swap(eng._s_memo_len)
        self._memo_pool.swap(eng._s_memo_pool)
        self._cands.swap(eng._s_cands)
        self._order.swap(eng._s_order)
        self._taken.swap(eng._s_taken)

    cdef int _chains(self, RuleC* r, PatC* pat) except -1:
        """engine._chains: per first cue, the shortest chain of the pattern's steps, onto _pool/_cands."""
        cdef CompiledEngine eng = self._engine
        cdef StepC* steps = eng._steps.data()
        cdef CueC* cues = self._cues.data()
        cdef const int* firsts
        cdef const int* lst
        cdef CueC* f
        cdef CueC* last
        cdef CueC* c
        cdef size_t ch, nch, t, width, best
        cdef int fi, nfirst, j, nlst, first, li, ci, k, bestspan, span, clause0
        cdef int64_t gap
        cdef bint cross = r.cross_clause
        cdef CandC cand
        for k in range(pat.step_lo, pat.step_hi):
            self._get(steps[k].tup)  # every list first: the pool does not move below
        firsts = self._memo_pool.data() + self._memo_off[steps[pat.step_lo].tup]
        nfirst = self._memo_len[steps[pat.step_lo].tup]
        for fi in range(nfirst):
            first = firsts[fi]
            f = &cues[first]
            if not r.all_fields and self._is_tag(f.field):
                continue
            clause0 = f.clause_lo
            self._partial.clear()
            self._partial.push_back(first)
            width = 1
            for k in range(pat.step_lo + 1, pat.step_hi):
                lst = self._memo_pool.data() + self._memo_off[steps[k].tup]
                nlst = self._memo_len[steps[k].tup]
                gap = steps[k].gap
                self._grown.clear()
                nch = self._partial.size() // width
                for ch in range(nch):
                    li = self._partial[ch * width + width - 1]
                    last = &cues[li]
                    for j in range(nlst):
                        ci = lst[j]
                        c = &cues[ci]
                        # a later cue may sit inside a composite one ("push negative feedback down")
                        if (ci != li and c.field == last.field and c.start >= last.start and c.end > last.start
                                and <int64_t>(c.start - last.end) <= gap
                                and (cross or (c.clause_lo == clause0 and c.clause_hi == clause0))):
                            for t in range(ch * width, ch * width + width):
                                self._grown.push_back(self._partial[t])
                            self._grown.push_back(ci)
                self._partial.swap(self._grown)
                width += 1
                if self._partial.empty():
                    break
            if not self._partial.empty():
                nch = self._partial.size() // width
                best = 0
                bestspan = cues[self._partial[width - 1]].end - f.start
                for ch in range(1, nch):
                    span = cues[self._partial[ch * width + width - 1]].end - f.start
                    if span < bestspan:
                        best, bestspan = ch, span
                cand.off = self._pool.size()
                cand.n = width
                for t in range(best * width, best * width + width):
                    self._pool.push_back(self._partial[t])
                self._cands.push_back(cand)
        return 0

    cdef int _find(self, CondC* cond, int field, int clo, int chi, int klo, int khi, int own_off,
                   int own_n) noexcept:
        """engine._find: the first cue of the condition's labels in scope (-1 for none)."""
        cdef int off = self._get(cond.tup)
        cdef const int* lst = self._memo_pool.data() + off
        cdef int nlst = self._memo_len[cond.tup]
        cdef CueC* cues = self._cues.data()
        cdef CueC* c
        cdef CueC* o
        cdef int a, ci, j
        cdef int scope = cond.scope
        cdef bint inside
        for a in range(nlst):
            ci = lst[a]
            c = &cues[ci]
            if scope != SCOPE_LISTING:
                if c.field != field:
                    continue
                if scope == SCOPE_CLAUSE:
                    if not (c.clause_hi >= clo and c.clause_lo <= chi):
                        continue
                elif scope == SCOPE_CHUNK:
                    if not (c.chunk_hi >= klo and c.chunk_lo <= khi):
                        continue
            # A veto word inside one of the match's own cues ("mass-report") is part of the offer.
            inside = False
            for j in range(own_off, own_off + own_n):
                o = &cues[self._pool[j]]
                if c.field == o.field and o.start <= c.start and c.end <= o.end:
                    inside = True
                    break
            if inside:
                continue
            return ci
        return -1

    cdef object _platform_for(self, int field, int clo, int chi, int start):
        """engine._platform_for."""
        cdef int tup = self._engine._t_platform
        cdef int off = self._get(tup)
        cdef const int* plats = self._memo_pool.data() + off
        cdef int n = self._memo_len[tup]
        cdef CueC* cues = self._cues.data()
        cdef CueC* c
        cdef int a, ci, best = -1, d, bestd = 0
        if n == 0:
            return None
        for a in range(n):
            ci = plats[a]
            c = &cues[ci]
            if c.field == field and c.clause_hi >= clo and c.clause_lo <= chi:
                d = abs(c.start - start)
                if best < 0 or d < bestd:
                    best, bestd = ci, d
        if best < 0:
            for a in range(n):
                ci = plats[a]
                c = &cues[ci]
                if c.field == field:
                    d = abs(c.start - start)
                    if best < 0 or d < bestd:
                        best, bestd = ci, d
        if best < 0:
            for a in range(n):  # every one is looked up, as the Python list comprehension does
                ci = plats[a]
                if not self._is_tag(cues[ci].field) and best < 0:
                    best = ci
            if best < 0:
                best = plats[0]
        ci = self._cues[best].platform
        return self._engine._platform_names[ci] if ci >= 0 else None

    cdef int _evaluate_rule(self, int ri, rule, list hits, diagnostics) except -1:
        cdef CompiledEngine eng = self._engine
        cdef RuleC* r = &eng._rules[ri]
        cdef PatC* pat
        cdef CueC* cues
        cdef CueC* c
        cdef int p, k, lab, j, off, nc, start, end, field, clo, chi, klo, khi, found, missing, veto
        cdef size_t m, t, a
        cdef bint ok, any_seen, overlap
        cdef vector[int]* tv
        self._pool.clear()
        self._cands.clear()
        for p in range(r.pat_lo, r.pat_hi):
            pat = &eng._pats[p]
            if pat.step_hi == pat.step_lo:
                raise IndexError("tuple index out of range")  # steps[0] of an empty pattern
            # A pattern whose steps do not all have a cue in the listing has no chain: skip the search.
            ok = True
            for k in range(pat.step_lo, pat.step_hi):
                any_seen = False
                tv = &eng._tuples[eng._steps[k].tup]
                for m in range(tv.size()):
                    lab = tv[0][m]
                    if lab < self._nlabels and self._seen[lab]:
                        any_seen = True
                        break
                if not any_seen:
                    ok = False
                    break
            if ok:
                self._chains(r, pat)
        if self._cands.empty():
            return 0
        cues = self._cues.data()
        self._order.clear()
        for m in range(self._cands.size()):
            off = self._cands[m].off
            self._order.push_back(pair[pair[int, int], int](
                pair[int, int](cues[self._pool[off]].start,
                               cues[self._pool[off + self._cands[m].n - 1]].end - cues[self._pool[off]].start),
                <int>m))
        std_sort(self._order.begin(), self._order.end())  # the index makes it the stable sort
        self._taken.clear()
        for t in range(self._order.size()):
            m = self._order[t].second
            off = self._cands[m].off
            nc = self._cands[m].n
            c = &cues[self._pool[off]]
            start, end, field = c.start, c.end, c.field
            clo, chi, klo, khi = c.clause_lo, c.clause_hi, c.chunk_lo, c.chunk_hi
            for j in range(off + 1, off + nc):
                c = &cues[self._pool[j]]
                if c.end > end:
                    end = c.end
                if c.clause_lo < clo:
                    clo = c.clause_lo
                if c.clause_hi > chi:
                    chi = c.clause_hi
                if c.chunk_lo < klo:
                    klo = c.chunk_lo
                if c.chunk_hi > khi:
                    khi = c.chunk_hi
            overlap = False
            for j in range(<int>self._taken.size()):
                if self._taken[j].first < end and start < self._taken[j].second:
                    overlap = True
                    break
            if overlap:
                continue
            self._support.clear()
            missing = -1
            for k in range(r.req_lo, r.req_hi):
                found = self._find(&eng._conds[k], field, clo, chi, klo, khi, 0, 0)
                if found < 0:
                    missing = k
                    break
                self._support.push_back(found)
            if missing >= 0:
                if diagnostics is not None:
                    diagnostics.append(eng._rule_prefix[ri] + self._span(start, end) + eng._cond_suffix[missing])
                continue
            veto = -1
            for k in range(r.unl_lo, r.unl_hi):
                veto = self._find(&eng._conds[k], field, clo, chi, klo, khi, off, nc)
                if veto >= 0:
                    break
            if veto >= 0:
                if diagnostics is not None:
                    diagnostics.append(eng._rule_prefix[ri] + self._span(start, end) + "” but it reads as "
                                       + eng._label_names[cues[veto].label] + " (“"
                                       + self._span(cues[veto].start, cues[veto].end) + "”)")
                continue
            # Widen the evidence to a nearby supporting cue in the same clause and field.
            for a in range(self._support.size()):
                c = &cues[self._support[a]]
                if c.field == field and c.clause_lo >= clo and c.clause_hi <= chi and (
                        0 <= c.start - end <= 6 or 0 <= start - c.end <= 6):
                    if c.start < start:
                        start = c.start
                    if c.end > end:
                        end = c.end
            self._taken.push_back(pair[int, int](start, end))
            platform = self._platform_for(field, clo, chi, start)
            # the support labels: chain then support, each label once, in first-seen order
            self._ulabels.clear()
            for j in range(off, off + nc):
                self._add_label(cues[self._pool[j]].label)
            for a in range(self._support.size()):
                self._add_label(cues[self._support[a]].label)
            names = eng._label_names
            support = tuple([names[self._ulabels[a]] for a in range(self._ulabels.size())])
            hits.append(RuleHit(rule, field, start, end, platform, support))
        return 0

    cdef inline void _add_label(self, int lab) noexcept:
        cdef size_t a
        for a in range(self._ulabels.size()):
            if self._ulabels[a] == lab:
                return
        self._ulabels.push_back(lab)
