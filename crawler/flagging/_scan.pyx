# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
# distutils: language = c++
"""The flagger's per-document pre-checks, read straight from spaCy's token structs.

Each class mirrors Python code and returns exactly what it returns (tests/test_compiled_scan.py):

- CompiledReader(CompiledLanguage(guesser, strings), CompiledGate(gate)).read(doc)
  == (guesser.keyed(strings.add)(<the doc's LOWER ids>), gate.rules_that_may_fire(set(<the doc's NORM ids>))),
  in one pass over the tokens (one look-up for both where a token's NORM is its LOWER); CompiledLanguage and
  CompiledGate hold the two tables and the code that reads them
- CompiledMergeCheck(normalizer, vocab).may_merge(doc) is True exactly when normalizer._merge(doc, canon)
  would merge tokens (find_merges finds a spelled-out or split word), and .merges(doc) is the list of merges
  it makes; see the class for its other checks.

A constructor raises ValueError where the C structures cannot hold the Python data (a label or rule bit
beyond 64, a lexeme attribute computed differently than assumed); the caller then keeps the Python code.
"""
cimport cython
from cython.operator cimport dereference as deref
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.string cimport memset
from libcpp.string cimport string as cstring
from libcpp.unordered_map cimport unordered_map
from libcpp.unordered_set cimport unordered_set
from libcpp.utility cimport pair
from libcpp.vector cimport vector
from murmurhash.mrmr cimport hash64
from spacy.lexeme cimport EMPTY_LEXEME
from spacy.structs cimport LexemeC, TokenC
from spacy.tokens.doc cimport Doc
from spacy.typedefs cimport attr_t, flags_t
from spacy.vocab cimport Vocab

import spacy.lang.lex_attrs as _lex_attrs
import spacy.symbols as _symbols
from spacy.attrs import IS_ALPHA, IS_ASCII, LENGTH
from spacy.strings import get_string_id, hash_string

from .normalize import _LEET, SEPARATOR_TOKENS

SPACY_VERSION_BUILT = BUILT_WITH_SPACY
globals()["BUILT_WITH_SPACY"] = SPACY_VERSION_BUILT

cdef uint64_t _MAX64 = 0xFFFFFFFFFFFFFFFF
cdef size_t _CACHE_LIMIT = 1_000_000  # entries per look-up cache; cleared (not evicted) beyond: costs only time


cdef inline attr_t _token_norm(const TokenC* t) noexcept nogil:
    # Token NORM as spaCy reads it (Token.get_struct_attr): the token's own, else the lexeme's.
    return t.norm if t.norm != 0 else t.lex.norm


cdef uint64_t _mask(value, what) except? 0:
    if not isinstance(value, int) or value < 0 or value > _MAX64:
        raise ValueError(f"{what} {value!r} does not fit a 64-bit mask")
    return <uint64_t>value


# --------------------------------------------------------------------------------------------------------
# 0. Open-addressed tables over 64-bit ids: the reader's id table, the merge check's cache of two-piece joins
# --------------------------------------------------------------------------------------------------------

cdef inline uint64_t _mix(uint64_t key) noexcept nogil:
    return key * <uint64_t>0x9E3779B97F4A7C15


cdef struct _PairSlot:
    uint64_t a
    uint64_t b
    int value
    int used


@cython.final
cdef class _PairMap:
    """A cache (a, b) -> int >= 0 of 64-bit id pairs, open addressing; cleared (not evicted) past `limit` pairs."""
    cdef vector[_PairSlot] slots
    cdef uint64_t mask
    cdef int shift
    cdef size_t count, limit

    def __init__(self, size_t limit):
        self.limit = limit
        self._reset(1 << 12)

    cdef int _reset(self, size_t cap) except -1:
        cdef _PairSlot empty
        cdef int bits = 0
        empty.a = empty.b = 0
        empty.value = empty.used = 0
        self.slots.assign(cap, empty)
        while (<size_t>1 << bits) < cap:
            bits += 1
        self.mask = cap - 1
        self.shift = 64 - bits
        self.count = 0
        return 0

    cdef inline size_t _home(self, uint64_t a, uint64_t b) noexcept nogil:
        return _mix(a ^ _mix(b + <uint64_t>0x632BE59BD9B4E019)) >> self.shift

    cdef inline int get(self, uint64_t a, uint64_t b) noexcept nogil:
        """The value of (a, b), -1 when absent."""
        cdef size_t h = self._home(a, b)
        cdef const _PairSlot* s
        while True:
            s = &self.slots[h]
            if not s.used:
                return -1
            if s.a == a and s.b == b:
                return s.value
            h = (h + 1) & self.mask

    cdef int put(self, uint64_t a, uint64_t b, int value) except -1:
        """(a, b) not present: add it (growing, or clearing past the limit)."""
        cdef vector[_PairSlot] old
        cdef size_t k, h
        if 2 * (self.count + 1) > self.slots.size():
            if self.count >= self.limit:
                self._reset(self.slots.size())
            else:
                old.swap(self.slots)
                self._reset(2 * old.size())
                for k in range(old.size()):
                    if old[k].used:
                        self.put(old[k].a, old[k].b, old[k].value)
        h = self._home(a, b)
        while self.slots[h].used:
            h = (h + 1) & self.mask
        self.slots[h].a = a
        self.slots[h].b = b
        self.slots[h].value = value
        self.slots[h].used = 1
        self.count += 1
        return 0


cdef struct _DualSlot:
    uint64_t key
    int gate  # -2: an empty slot; else the gate's index of the id, -1 when the gate does not know it
    int lang  # the guesser's row of the id, -1 when it has none


@cython.final
cdef class _DualMap:
    """One table for the gate's ids and the guesser's words: a token whose NORM is its LOWER (most are) is
    looked up once for both. find(key): its slot, NULL when neither knows the key.

    Linear probing at load <= 1/2 (the slot from the top bits of key * golden ratio); before any probe, a bit of
    a 2^15-bit array (4 KB, from bits 25-39 of the same product) says whether the key can be present at all."""
    cdef vector[_DualSlot] slots
    cdef uint64_t mask
    cdef int shift
    cdef uint64_t bloom[512]

    def __init__(self, CompiledGate gate, CompiledLanguage language):
        cdef size_t cap = 16, r
        cdef int bits = 4, k
        cdef _DualSlot empty
        cdef size_t expected = gate.id_of.size() + language.row_key.size()
        while cap < 2 * expected + 2:
            cap <<= 1
            bits += 1
        empty.key = 0
        empty.gate = -2
        empty.lang = -1
        self.slots.assign(cap, empty)
        self.mask = cap - 1
        self.shift = 64 - bits
        for k in range(512):
            self.bloom[k] = 0
        for k in range(<int>gate.id_of.size()):
            self._slot(gate.id_of[k]).gate = k
        for r in range(language.row_key.size()):
            self._slot(language.row_key[r]).lang = <int>r

    cdef _DualSlot* _slot(self, uint64_t key) noexcept:
        """key's slot, made (known to neither) if new."""
        cdef uint64_t m = _mix(key)
        cdef uint64_t h = m >> self.shift
        while self.slots[h].gate != -2:
            if self.slots[h].key == key:
                return &self.slots[h]
            h = (h + 1) & self.mask
        self.slots[h].key = key
        self.slots[h].gate = -1
        self.slots[h].lang = -1
        self.bloom[(m >> 31) & 511] |= (<uint64_t>1) << ((m >> 25) & 63)
        return &self.slots[h]

    cdef inline const _DualSlot* find(self, uint64_t key) noexcept nogil:
        cdef uint64_t m = _mix(key)
        cdef uint64_t h
        cdef const _DualSlot* s
        if not (self.bloom[(m >> 31) & 511] >> ((m >> 25) & 63)) & 1:
            return NULL
        h = m >> self.shift
        while True:
            s = &self.slots[h]
            if s.gate == -2:
                return NULL
            if s.key == key:
                return s
            h = (h + 1) & self.mask


def _maps_selftest(list pairs, size_t limit) -> tuple:
    """For the tests: _PairMap over `pairs` with `limit`, read back for every pair and its reverse:
    ([get(a, b) before its put], [get(a, b) after all puts])."""
    cdef _PairMap cache = _PairMap(limit)
    before = []
    for v, (a, b) in enumerate(pairs):
        got = cache.get(<uint64_t>a, <uint64_t>b)
        before.append(got)
        if got < 0:
            cache.put(<uint64_t>a, <uint64_t>b, v)
    after = [cache.get(<uint64_t>a, <uint64_t>b) for a, b in pairs + [(b, a) for a, b in pairs]]
    return before, after


# --------------------------------------------------------------------------------------------------------
# 1. The rule gate (gate.RuleGate.rules_that_may_fire over the doc's set of NORM ids), read by CompiledReader
# --------------------------------------------------------------------------------------------------------

cdef int _index_of(unordered_map[uint64_t, int]& index, i) except -1:
    cdef unordered_map[uint64_t, int].iterator it = index.find(<uint64_t>i)
    if it == index.end():
        raise ValueError(f"id {i} is used by the gate but not in its vocab_ids")
    return deref(it).second


@cython.final
cdef class CompiledGate:
    """RuleGate.rules_that_may_fire over a doc's NORM ids, with the gate's tables as C arrays.

    Every id the gate knows (`vocab_ids`) gets an index (id_of: index -> id); CompiledReader finds each token's
    index with one look-up and hands it to _see_index, which collects the doc's distinct known ids with a
    per-call stamp (so "is id k in the doc" is one array read); _finish then gives the bitmask."""
    cdef vector[uint64_t] word_bits  # per index: RuleGate.word_bits
    cdef vector[uint64_t] first_bits  # per index: RuleGate.first_bits
    cdef vector[int] group_start  # per index + 1: its (bit, rests) groups in by_first, as [start, end)
    cdef vector[uint64_t] group_bit
    cdef vector[int] group_rest_start  # per group + 1: its rests
    cdef vector[int] rest_test_start  # per rest + 1: its tests in rest_tests
    cdef vector[int] rest_tests  # test numbers; a test is a set of ids, any of which will do (distinct sets)
    cdef vector[int] id_test_start  # per index + 1: the tests its id is in, in id_tests
    cdef vector[int] id_tests
    cdef vector[uint32_t] test_stamp  # per test: the generation of the last doc that has one of its ids
    cdef uint64_t always_bits
    cdef vector[uint64_t] derived_bit
    cdef vector[uint64_t] derived_sources
    cdef vector[int] combo_start  # per combo + 1: its masks in combo_masks
    cdef vector[uint64_t] combo_masks
    cdef vector[uint64_t] rule_bit
    cdef vector[int] rule_pattern_start  # per rule + 1: its patterns
    cdef vector[int] pattern_step_start  # per pattern + 1: its step masks in step_masks
    cdef vector[uint64_t] step_masks
    cdef vector[uint64_t] id_of  # index -> its id
    cdef vector[uint32_t] stamp
    cdef uint32_t generation
    cdef vector[int] seen  # the current doc's distinct known ids (indices): seen[:n_seen]
    # Memos of two pure functions of a label mask (direct-mapped, 256 entries; a slot is valid when memo_set):
    # _can_fire(x) = _satisfied(_derive(x)) and _fire(x) = the rules that may fire given labels x.
    cdef uint64_t can_key[256]
    cdef uint64_t fire_key[256]
    cdef uint64_t fire_val[256]
    cdef bint can_val[256]
    cdef bint can_set[256]
    cdef bint fire_set[256]
    cdef int n_seen

    def __init__(self, gate):
        cdef unordered_map[uint64_t, int] index  # NORM id -> index into the per-id arrays
        ids = sorted(gate.vocab_ids)
        for k, i in enumerate(ids):
            index[<uint64_t>i] = k
        self.word_bits.resize(len(ids), 0)
        self.first_bits.resize(len(ids), 0)
        for i, b in gate.word_bits.items():
            self.word_bits[_index_of(index, i)] = _mask(b, "label bits")
        for i, b in gate.first_bits.items():
            self.first_bits[_index_of(index, i)] = _mask(b, "label bits")
        self.group_start.push_back(0)
        self.group_rest_start.push_back(0)
        self.rest_test_start.push_back(0)
        tests = {}  # a test's set of id indices -> its number
        id_tests = [[] for _ in ids]
        for i in ids:
            for b, rests in gate.by_first.get(i, ()):
                self.group_bit.push_back(_mask(b, "label bit"))
                for rest in rests:
                    for t in rest:
                        key = frozenset([_index_of(index, x) for x in t])
                        number = tests.get(key)
                        if number is None:
                            number = tests[key] = len(tests)
                            for x in key:
                                id_tests[x].append(number)
                        self.rest_tests.push_back(number)
                    self.rest_test_start.push_back(self.rest_tests.size())
                self.group_rest_start.push_back(self.rest_test_start.size() - 1)
            self.group_start.push_back(self.group_bit.size())
        self.id_test_start.push_back(0)
        for numbers in id_tests:
            for number in numbers:
                self.id_tests.push_back(number)
            self.id_test_start.push_back(self.id_tests.size())
        self.test_stamp.resize(len(tests), 0)
        self.always_bits = _mask(gate.always_bits, "label bits")
        for b, sources in gate.derived:
            self.derived_bit.push_back(_mask(b, "label bit"))
            self.derived_sources.push_back(_mask(sources, "label bits"))
        self.combo_start.push_back(0)
        for combo in gate.combos:
            for m in combo:
                self.combo_masks.push_back(_mask(m, "label bits"))
            self.combo_start.push_back(self.combo_masks.size())
        self.rule_pattern_start.push_back(0)
        self.pattern_step_start.push_back(0)
        for b, patterns in gate.rule_steps:
            self.rule_bit.push_back(_mask(b, "rule bit"))
            for steps in patterns:
                for m in steps:
                    self.step_masks.push_back(_mask(m, "label bits"))
                self.pattern_step_start.push_back(self.step_masks.size())
            self.rule_pattern_start.push_back(self.pattern_step_start.size() - 1)
        for i in ids:
            self.id_of.push_back(<uint64_t>i)
        self.stamp.resize(len(ids), 0)
        self.seen.resize(len(ids), 0)
        self.n_seen = 0
        self.generation = 0
        for k in range(256):
            self.can_set[k] = self.fire_set[k] = False

    cdef inline uint64_t _derive(self, uint64_t present) noexcept nogil:
        cdef size_t k
        for k in range(self.derived_bit.size()):
            if present & self.derived_sources[k]:
                present |= self.derived_bit[k]
        return present

    cdef inline bint _satisfied(self, uint64_t present) noexcept nogil:
        cdef size_t c
        cdef int j
        cdef bint ok
        for c in range(self.combo_start.size() - 1):
            ok = True
            for j in range(self.combo_start[c], self.combo_start[c + 1]):
                if not present & self.combo_masks[j]:
                    ok = False
                    break
            if ok:
                return True
        return False

    cdef inline bint _test_present(self, int t) noexcept nogil:
        # some id of the test is in the doc: _see_index stamped the tests of each id it met
        return self.test_stamp[t] == self.generation

    cdef inline void _begin(self) noexcept nogil:
        cdef size_t k
        self.generation += 1
        if self.generation == 0:  # wrapped: forget every stamp
            for k in range(self.stamp.size()):
                self.stamp[k] = 0
            for k in range(self.test_stamp.size()):
                self.test_stamp[k] = 0
            self.generation = 1
        self.n_seen = 0

    cdef inline void _see_index(self, int k) noexcept nogil:
        """A token's NORM id as its index (-1: an id the gate does not know); a doc's distinct known ids end up
        in seen[:n_seen], at most one each."""
        cdef int j
        if k >= 0 and self.stamp[k] != self.generation:
            self.stamp[k] = self.generation
            self.seen[self.n_seen] = k
            self.n_seen += 1
            for j in range(self.id_test_start[k], self.id_test_start[k + 1]):
                self.test_stamp[self.id_tests[j]] = self.generation

    cdef uint64_t _finish(self) noexcept nogil:
        """0 when no rule can fire; else a bitmask (bit k: rule k) of the rules whose steps can all occur."""
        cdef int i, k, g, r, t
        cdef uint64_t present, maybe, b
        cdef bint ok
        present = self.always_bits
        maybe = 0
        for i in range(self.n_seen):
            k = self.seen[i]
            present |= self.word_bits[k]
            maybe |= self.first_bits[k]
        if not self._can_fire(present | maybe):
            return 0
        # A label begun by a multi-word alternative's rarest word is present when the rest of it occurs.
        # (Labels only get added, so the order the doc's ids are tried in does not change the result.)
        for i in range(self.n_seen):
            k = self.seen[i]
            for g in range(self.group_start[k], self.group_start[k + 1]):
                b = self.group_bit[g]
                if not (b & maybe) or (b & present):
                    continue
                for r in range(self.group_rest_start[g], self.group_rest_start[g + 1]):
                    ok = True
                    for t in range(self.rest_test_start[r], self.rest_test_start[r + 1]):
                        if not self._test_present(self.rest_tests[t]):
                            ok = False
                            break
                    if ok:
                        present |= b
                        break
        return self._fire(present)

    cdef inline bint _can_fire(self, uint64_t labels) noexcept nogil:
        """_satisfied(_derive(labels)), memoised."""
        cdef int h = <int>(_mix(labels) >> 56)
        if not self.can_set[h] or self.can_key[h] != labels:
            self.can_key[h] = labels
            self.can_val[h] = self._satisfied(self._derive(labels))
            self.can_set[h] = True
        return self.can_val[h]

    cdef inline uint64_t _fire(self, uint64_t labels) noexcept nogil:
        """_fire_now(labels), memoised."""
        cdef int h = <int>(_mix(labels) >> 56)
        if not self.fire_set[h] or self.fire_key[h] != labels:
            self.fire_key[h] = labels
            self.fire_val[h] = self._fire_now(labels)
            self.fire_set[h] = True
        return self.fire_val[h]

    cdef uint64_t _fire_now(self, uint64_t present) noexcept nogil:
        """The rules whose steps all occur among labels `present` (derived ones added), 0 unless satisfied."""
        cdef int r, p, j
        cdef bint ok
        cdef uint64_t out
        present = self._derive(present)
        if not self._satisfied(present):
            return 0
        out = 0
        for r in range(<int>self.rule_bit.size()):
            for p in range(self.rule_pattern_start[r], self.rule_pattern_start[r + 1]):
                ok = True
                for j in range(self.pattern_step_start[p], self.pattern_step_start[p + 1]):
                    if not present & self.step_masks[j]:
                        ok = False
                        break
                if ok:
                    out |= self.rule_bit[r]
                    break
        return out


# --------------------------------------------------------------------------------------------------------
# 2. The language guess (LanguageGuesser.keyed over the doc's LOWER ids), read by CompiledReader
# --------------------------------------------------------------------------------------------------------

@cython.final
cdef class CompiledLanguage:
    """LanguageGuesser.keyed(key) over a doc's LOWER ids: the same integer weights, summed in C.

    `strings` is the vocab's StringStore (keys are `strings.add(word)`, as the Flagger's) or a key function.
    CompiledReader finds each token's row with one look-up and hands it to _add_row; _pick gives the language."""
    cdef vector[uint64_t] row_key  # row r -> its LOWER id
    cdef vector[int] row_end  # row r: entries [row_end[r - 1] (0 for r = 0), row_end[r]) of lang/weight
    cdef vector[int] lang
    cdef vector[int64_t] weight
    cdef int n_lang
    cdef int en
    cdef tuple languages

    def __init__(self, guesser, strings):
        key = strings.add if hasattr(strings, "add") else strings
        weights, languages = guesser.weight_table(key)
        self.languages = tuple(languages)
        self.n_lang = len(self.languages)
        if not 0 < self.n_lang <= 64 or "en" not in self.languages:
            raise ValueError(f"{self.n_lang} languages (1 to 64, English among them) expected")
        self.en = self.languages.index("en")
        for k, pairs in weights.items():
            if not pairs:
                continue  # Python skips an empty weight tuple too
            if not isinstance(k, int) or not 0 <= k <= _MAX64:
                raise ValueError(f"language key {k!r} is no 64-bit id")
            self.row_key.push_back(<uint64_t>k)
            for i, x in pairs:
                if not 0 <= i < self.n_lang or not isinstance(x, int) or not -(1 << 40) < x < (1 << 40):
                    raise ValueError(f"language weight {(i, x)!r} out of range")
                self.lang.push_back(i)
                self.weight.push_back(x)
            self.row_end.push_back(self.lang.size())

    cdef inline void _add_row(self, int64_t* scores, int r) noexcept nogil:
        """A token's LOWER id as its row (-1: a word without weights): its weights added to scores[:n_lang]."""
        cdef int j
        if r >= 0:
            for j in range(self.row_end[r - 1] if r else 0, self.row_end[r]):
                scores[self.lang[j]] += self.weight[j]

    cdef str _pick(self, const int64_t* scores):
        # max(range(n), key=lambda i: (scores[i], i == en)): the first of the best, English winning ties
        cdef int i, best = 0
        for i in range(1, self.n_lang):
            if scores[i] > scores[best] or (scores[i] == scores[best] and i == self.en and best != self.en):
                best = i
        return self.languages[best] if scores[best] > scores[self.en] else "en"


@cython.final
cdef class CompiledReader:
    """(guesser.keyed(key)(LOWER ids), gate.rules_that_may_fire(set(NORM ids))) in one pass over the doc's tokens.

    read(doc) -> (language code, may-fire bitmask): per token its LOWER id (the lexeme's) goes to the guesser
    and its NORM id (the token's own if set, else the lexeme's) to the gate, with the same tables and the same
    code as the two calls."""
    cdef readonly CompiledLanguage language
    cdef readonly CompiledGate gate
    cdef _DualMap ids  # both tables in one

    def __init__(self, CompiledLanguage language not None, CompiledGate gate not None):
        self.language = language
        self.gate = gate
        self.ids = _DualMap(gate, language)

    def read(self, Doc doc) -> tuple:
        cdef int64_t scores[64]
        cdef int i
        cdef const TokenC* t
        cdef const _DualSlot* s
        cdef attr_t lower, norm
        cdef CompiledLanguage language = self.language
        cdef CompiledGate gate = self.gate
        cdef _DualMap ids = self.ids
        for i in range(language.n_lang):
            scores[i] = 0
        gate._begin()
        for i in range(doc.length):
            t = &doc.c[i]
            lower = t.lex.lower
            norm = _token_norm(t)
            s = ids.find(lower)
            if s != NULL:
                language._add_row(scores, s.lang)
                if norm == lower:
                    gate._see_index(s.gate)
                    continue
            elif norm == lower:
                continue  # an id neither knows
            s = ids.find(norm)
            if s != NULL:
                gate._see_index(s.gate)
        return language._pick(scores), gate._finish()

    def __call__(self, Doc doc) -> tuple:
        return self.read(doc)


# --------------------------------------------------------------------------------------------------------
# 3. The merge pre-check (Normalizer._merge / find_merges)
# --------------------------------------------------------------------------------------------------------

_RUN_CHARS = "013457@$!"  # find_merges: a one-character token that may stand for a letter in a run
_PIECE_SEPARATORS = ("-", "_", ".")  # find_merges: what may stand between two pieces of a word


@cython.final
cdef class CompiledMergeCheck:
    """Whether the Normalizer would merge tokens of a doc (made by the tokenizer, before the Normalizer).

    may_merge(doc): True exactly when `normalizer._merge(doc, canon)` retokenizes, i.e. find_merges finds a
        spelled-out or split word: merges(doc) is not empty.
    legacy_check(doc): Normalizer.__call__'s current numpy condition for calling _merge, bit for bit.
    normalizer_merges(doc): legacy_check(doc) and may_merge(doc): exactly when today's Normalizer.__call__
        changes the doc. The legacy condition misses joins that _merge makes ("set up", "non-drop",
        "trust рilot"): a pipeline gated by may_merge alone merges those too, one gated by normalizer_merges
        tokenizes exactly as today.
    merges(doc): the merges Normalizer._merge makes, `[m for m in find_merges(words, join) if m[1] - m[0] > 1]`
        with words = [(t.text, canon(t.text), t.whitespace_ == " ") for t in doc]: the same (start, end,
        canonical) tuples in the same order, found by walking the tokens as find_merges does (a merge's end is
        the next position tried); `words` is never built. At each position find_merges' own conditions (a run
        of one-character tokens starting there, else two pieces) are tested in C, and only where they hold is
        the Python join (the same `_dispatch_join`) asked whether the letters form a word. Its answers are
        cached: a run's outcome by its letter tokens' ORTH ids (run_joins); two pieces by their ORTH ids
        (piece_joins), and on a miss there, two ASCII pieces by their lower-case join (ascii_joins), which is
        first screened by its hash against every string the join could accept (vocabulary words, lemma-table
        forms of them, folded and alias forms).
    merges_if_legacy(doc): merges(doc) if legacy_check(doc) else []: what today's Normalizer.__call__ merges.
    """
    cdef object vocab
    cdef object strings
    cdef object join  # normalizer._dispatch_join
    cdef object canon
    cdef flags_t odd_bit, ai_bit, pre_bit, suf_bit, alpha_bit, ascii_bit
    cdef vector[attr_t] run_orths  # one-character non-letters that count as letters in a run
    cdef vector[attr_t] sep_orths  # SEPARATOR_TOKENS
    cdef vector[attr_t] piece_sep_orths
    cdef unordered_set[uint64_t] join_hashes  # murmur hashes of every ASCII string the join may accept
    cdef unordered_map[attr_t, cstring] lowers  # orth -> lower-case UTF-8 (ASCII tokens only)
    cdef unordered_map[cstring, int] ascii_joins  # joined ASCII pieces -> the join's answer (-1: None)
    cdef _PairMap piece_joins  # (orth, orth) of any two pieces -> the join's answer + 1 (0: None)
    cdef list found_words  # the join's answers (canonical words), indexed by ascii_joins and piece_joins
    cdef dict found_index  # canonical word -> its index in found_words
    cdef dict run_joins  # letter tokens' orths -> the run's merges as letter-token ranges (see _run_step)
    cdef unordered_map[attr_t, vector[attr_t]] piece_pairs  # legacy: prefix LOWER -> suffix LOWERs joining
    cdef vector[attr_t] legacy_pre, legacy_suf
    cdef public long python_joins  # calls into the Python join (for the report)

    def __init__(self, normalizer, vocab):
        attrs = list(normalizer.attrs)
        if len(attrs) != 5 or attrs[4] != LENGTH or not all(isinstance(f, int) and 0 <= f < 64 for f in attrs[:4]):
            raise ValueError(f"unexpected normalizer attrs {attrs!r}")
        getters = vocab.lex_attr_getters
        # find_merges tests str.isalpha() and the join's cases str.isascii(): the lexeme flags must be exactly that.
        if getters.get(IS_ALPHA) is not _lex_attrs.is_alpha or getters.get(IS_ASCII) is not _lex_attrs.is_ascii:
            raise ValueError("the vocab computes IS_ALPHA / IS_ASCII with its own getters")
        one = <flags_t>1
        self.odd_bit, self.ai_bit = one << attrs[0], one << attrs[1]
        self.pre_bit, self.suf_bit = one << attrs[2], one << attrs[3]
        self.alpha_bit, self.ascii_bit = one << IS_ALPHA, one << IS_ASCII
        self.vocab = vocab
        self.strings = vocab.strings
        self.join = normalizer._dispatch_join
        self.canon = normalizer.canonicalizer.canon
        self.run_joins = {}
        self.found_words = []
        self.found_index = {}
        self.python_joins = 0
        self.piece_joins = _PairMap(_CACHE_LIMIT)
        for c in _RUN_CHARS:
            self.run_orths.push_back(get_string_id(c))
        for c in SEPARATOR_TOKENS:
            if len(c) != 1:
                raise ValueError("separator tokens are single characters")
            self.sep_orths.push_back(get_string_id(c))
        for c in _PIECE_SEPARATORS:
            self.piece_sep_orths.push_back(get_string_id(c))
        for s in _join_candidates(normalizer):
            self.join_hashes.insert(<uint64_t>hash_string(s))
        for s in _lemma_forms(normalizer):
            if isinstance(s, str):
                self.join_hashes.insert(<uint64_t>hash_string(s))
            else:
                self.join_hashes.insert(<uint64_t>s)
        merge_vocab = normalizer.merge_vocab
        for w in merge_vocab:
            for k in range(1, len(w)):
                self.piece_pairs[get_string_id(w[:k])].push_back(get_string_id(w[k:]))

    # ---- per-token tests (flags and lengths of the lexeme; separators by their ORTH id) ----

    cdef inline bint _one_of(self, const LexemeC* lex, vector[attr_t]& orths) noexcept nogil:
        cdef size_t k
        if lex.length != 1:
            return False
        for k in range(orths.size()):
            if orths[k] == lex.orth:
                return True
        return False

    cdef inline bint _alpha(self, const LexemeC* lex) noexcept nogil:
        return (lex.flags & self.alpha_bit) != 0

    # ---- the join, asked in Python only where find_merges' structure holds ----

    cdef tuple _run_plan(self, Doc doc, int i, int end, vector[int]& letter_pos):
        """find_merges' run branch at i as ((s, e, canonical), ...) over the run's letter tokens (the
        non-separators in [i, end), whose positions go to `letter_pos`); () when the run merges nothing."""
        cdef int k
        letter_pos.clear()
        orths = []
        for k in range(i, end):
            if not self._one_of(doc.c[k].lex, self.sep_orths):
                letter_pos.push_back(k)
                orths.append(doc.c[k].lex.orth)
        key = tuple(orths)
        hit = self.run_joins.get(key)
        if hit is None:
            if len(self.run_joins) >= _CACHE_LIMIT:
                self.run_joins.clear()
            hit = self.run_joins[key] = _run_step(self, [self.strings[o] for o in key])
        return hit

    cdef int _found_id(self, found) except -2:
        """The index of the join's answer in found_words (-1 for None)."""
        if found is None:
            return -1
        k = self.found_index.get(found)
        if k is None:
            k = self.found_index[found] = len(self.found_words)
            self.found_words.append(found)
        return k

    cdef int _ascii_pieces(self, const LexemeC* a, const LexemeC* b) except -2:
        """The join of two ASCII pieces (lower case) as an index into found_words, -1 for None."""
        cdef unordered_map[cstring, int].iterator it
        cdef int found
        cdef bytes raw
        # A local copy, taken before the next look-up (which may call Python, so let another thread in).
        cdef cstring key = deref(self._lower(a))
        key.append(deref(self._lower(b)))
        if self.join_hashes.find(hash64(<void*>key.data(), <int>key.size(), 1)) == self.join_hashes.end():
            return -1
        it = self.ascii_joins.find(key)
        if it != self.ascii_joins.end():
            return deref(it).second
        self.python_joins += 1
        raw = key
        found = self._found_id(self.join(raw.decode("ascii")))
        if self.ascii_joins.size() >= _CACHE_LIMIT:
            self.ascii_joins.clear()
        self.ascii_joins[key] = found
        return found

    cdef cstring* _lower(self, const LexemeC* lex) except NULL:
        cdef unordered_map[attr_t, cstring].iterator it = self.lowers.find(lex.orth)
        cdef cstring low
        if it == self.lowers.end():
            low = self.strings[lex.orth].lower().encode("utf8")  # Python first: no thread switch from here on
            if self.lowers.size() >= _CACHE_LIMIT:
                self.lowers.clear()
            it = self.lowers.insert(pair[attr_t, cstring](lex.orth, low)).first
        # A pointer into an unordered_map stays valid as the map grows; only a clear ends it, so callers copy
        # the string before the next look-up.
        return &deref(it).second

    cdef int _other_pieces(self, const LexemeC* a, const LexemeC* b) except -2:
        """The join of two pieces, not both ASCII, as an index into found_words, -1 for None (cached by the
        caller, in piece_joins)."""
        self.python_joins += 1
        return self._found_id(self.join((self.strings[a.orth] + self.strings[b.orth]).lower()))

    def may_merge(self, Doc doc) -> bool:
        """True exactly when normalizer._merge(doc, canon) would merge tokens."""
        self._check_vocab(doc)
        return self._may_merge(doc)

    cdef bint _may_merge(self, Doc doc) except -1:
        # merges() walks every position up to its first merge, so it finds one exactly when one exists.
        return len(self._merges(doc)) > 0

    def merges(self, Doc doc) -> list:
        """Normalizer._merge's merges: [m for m in find_merges(words, join) if m[1] - m[0] > 1]."""
        self._check_vocab(doc)
        return self._merges(doc)

    def merges_if_legacy(self, Doc doc) -> list:
        """What today's Normalizer.__call__ merges: merges(doc) where legacy_check(doc) holds, else []."""
        self._check_vocab(doc)
        return self._merges(doc) if self._legacy(doc) else []

    cdef list _merges(self, Doc doc):
        # find_merges' walk: a run from i (spelled-out letters, then the leading "a"/"i" case, then a split
        # into two words), else two pieces from i; after a merge the next position is its end.
        cdef int n = doc.length
        cdef int i = 0, j, end, nxt, letters, start, stop, found
        cdef const LexemeC* lex
        cdef const LexemeC* nlex
        cdef bint sp
        cdef vector[int] letter_pos
        cdef list out = []
        while i < n:
            lex = doc.c[i].lex
            if lex.length == 1 and self._alpha(lex):
                j = i
                letters = 0
                while j < n:
                    nlex = doc.c[j].lex
                    if nlex.length == 1 and (self._alpha(nlex) or self._one_of(nlex, self.run_orths)):
                        letters += 1
                        sp = doc.c[j].spacy
                        j += 1
                        if j < n and self._one_of(doc.c[j].lex, self.sep_orths) and not sp:
                            j += 1
                            continue
                        if sp:
                            continue
                    break
                end = j
                while end > i and self._one_of(doc.c[end - 1].lex, self.sep_orths):
                    end -= 1
                if letters >= 3:
                    plan = self._run_plan(doc, i, end, letter_pos)
                    if plan:
                        # letter-token ranges to token ranges: the last letter token is end - 1
                        for s, e, canonical in plan:
                            start = letter_pos[<int>s]
                            stop = letter_pos[<int>e - 1] + 1
                            if stop - start > 1:
                                out.append((start, stop, canonical))
                        i = end
                        continue
            if i + 1 < n and self._alpha(lex):
                nxt = i + 1
                if self._one_of(doc.c[i + 1].lex, self.piece_sep_orths) and not doc.c[i].spacy and i + 2 < n:
                    nxt = i + 2
                nlex = doc.c[nxt].lex
                if self._alpha(nlex) and ((nxt == i + 1 and doc.c[i].spacy)
                                          or (nxt == i + 2 and not doc.c[i + 1].spacy)):
                    # the join of two pieces is a function of their ORTH ids: cached by them
                    found = self.piece_joins.get(lex.orth, nlex.orth) - 1
                    if found == -2:
                        if lex.flags & nlex.flags & self.ascii_bit:
                            found = self._ascii_pieces(lex, nlex)
                        else:
                            found = self._other_pieces(lex, nlex)
                        self.piece_joins.put(lex.orth, nlex.orth, found + 1)
                    if found >= 0:
                        out.append((i, nxt + 1, self.found_words[found]))  # nxt + 1 - i >= 2
                        i = nxt + 1
                        continue
            i += 1
        return out

    def legacy_check(self, Doc doc) -> bool:
        """Normalizer.__call__'s numpy condition for calling _merge (flags odd / a-i / prefix / suffix, LENGTH)."""
        self._check_vocab(doc)
        return self._legacy(doc)

    cdef bint _legacy(self, Doc doc) except -1:
        cdef int n = doc.length
        cdef int k, n_odd, n_letters
        cdef flags_t f
        cdef flags_t letter_bits = self.odd_bit | self.ai_bit
        cdef attr_t q
        cdef unordered_map[attr_t, vector[attr_t]].iterator it
        cdef bint spelled = False, near = False
        if n < 2:
            return False
        for k in range(n - 1):
            if doc.c[k].lex.flags & letter_bits and (doc.c[k + 1].lex.length == 1
                                                    or (k + 2 < n and doc.c[k + 2].lex.length == 1)):
                spelled = True
                break
        if spelled:
            n_odd = n_letters = 0
            for k in range(n):
                f = doc.c[k].lex.flags
                if f & self.odd_bit:
                    n_odd += 1
                if f & letter_bits:
                    n_letters += 1
            spelled = n_odd >= 2 or (n_odd > 0 and n_letters >= 3)
        if spelled:
            return True
        for k in range(n - 1):
            if doc.c[k].lex.flags & self.pre_bit and (doc.c[k + 1].lex.flags & self.suf_bit
                                                     or (k + 2 < n and doc.c[k + 2].lex.flags & self.suf_bit)):
                near = True
                break
        if not near:
            return False
        # any(p + q in merge_vocab) over the doc's prefix and suffix pieces (as lower-case strings)
        self.legacy_pre.clear()
        self.legacy_suf.clear()
        for k in range(n):
            f = doc.c[k].lex.flags
            if f & self.pre_bit:
                self.legacy_pre.push_back(doc.c[k].lex.lower)
            if f & self.suf_bit:
                self.legacy_suf.push_back(doc.c[k].lex.lower)
        # (by index: a for-in over a C++ vector would copy it)
        cdef const vector[attr_t]* pairs
        cdef size_t x, y, z
        for x in range(self.legacy_pre.size()):
            it = self.piece_pairs.find(self.legacy_pre[x])
            if it == self.piece_pairs.end():
                continue
            pairs = &deref(it).second
            for y in range(pairs.size()):
                q = deref(pairs)[y]
                for z in range(self.legacy_suf.size()):
                    if self.legacy_suf[z] == q:
                        return True
        return False

    def normalizer_merges(self, Doc doc) -> bool:
        """True exactly when today's Normalizer.__call__ changes the doc (its condition, then a merge)."""
        self._check_vocab(doc)
        return self._legacy(doc) and self._may_merge(doc)

    cdef int _check_vocab(self, Doc doc) except -1:
        if doc.vocab is not self.vocab:
            raise ValueError("the doc belongs to another vocab than the merge check's")
        return 0


def _run_step(CompiledMergeCheck check, list texts) -> tuple:
    """find_merges' run branch for letter tokens `texts` (a run of three or more): the merges it makes, as
    (s, e, canonical) over the letter tokens (s to e - 1), or () when it makes none.

    The same expressions as find_merges and _split_run, on the same join; the run's separators play no part
    in the outcome (the split needs one letter token per character, as _split_run checks). In token terms
    (the run's letter tokens at positions P, separators between them, none after the last): the whole run
    (i, end) is (P[0], P[-1] + 1); the leading a/i case's k (past i and its separator) is P[1]; the split at
    p is (i, P[p - 1] + 1) and (P[p], end)."""
    canon, joinable = check.canon, check.join
    letters = []
    for t in texts:
        c = canon(t)
        letters.append(c if len(c) == 1 and c.isalpha() else t.translate(_LEET).lower())
    n = len(letters)
    joined = "".join(letters)
    check.python_joins += 1
    found = joinable(joined)
    if found is None and n >= 4 and letters[0] in "ai":
        found_rest = joinable(joined[1:])
        if found_rest is not None:
            return ((1, n, found_rest),)
    if found is not None:
        return ((0, n, found),)
    if n != len(joined):
        return ()
    for p in range(3, len(joined) - 2):
        a, b = joinable(joined[:p]), joinable(joined[p:])
        if a is not None and b is not None:
            return ((0, p, a), (p, n, b))
    return ()


def _join_candidates(normalizer) -> set:
    """Strings (not from the lemma table) whose join an ASCII lower-case string may be accepted as: the join
    (Normalizer._dispatch_join -> Canonicalizer.repair) of an ASCII letter string s is s itself, its alias,
    its folded word, its lemma or its lemma's alias, and must be a word of vocab_all or merge_vocab."""
    cz = normalizer.canonicalizer
    words = set(normalizer.vocab_all) | set(normalizer.merge_vocab)
    out = set(words)
    out.update(s for s, a in cz.aliases.items() if a in words)
    out.update(f for f, w in getattr(cz, "_folded", {}).items() if w in words)
    return {s for s in out if isinstance(s, str)}


def _lemma_forms(normalizer) -> list:
    """The lemma table's keys whose lemma (or the lemma's alias) is a word the join accepts: strings, or the
    murmur hashes spaCy's lookup Table keys by (symbol ids are turned back into their strings)."""
    cz = normalizer.canonicalizer
    words = set(normalizer.vocab_all) | set(normalizer.merge_vocab)
    aliases = cz.aliases
    lemma = cz.lemma
    table = getattr(lemma, "_table", None)
    if table is not None:  # pipeline._TableView: value, or value[0] for a list
        items = ((k, v if isinstance(v, str) else v[0]) for k, v in table.items())
    elif isinstance(lemma, dict):
        items = lemma.items()
    else:
        raise ValueError(f"cannot enumerate the lemma table {type(lemma).__name__}")
    symbol_names = {v: k for k, v in _symbols.IDS.items()}
    out = []
    for k, v in items:
        try:
            hit = v in words or aliases.get(v, v) in words
        except TypeError:  # an unhashable value equals no word
            hit = False
        if not hit:
            continue
        if isinstance(k, str):
            out.append(k)
        elif isinstance(k, int):
            out.append(k)
            if k in symbol_names:  # a Table keys a symbol's string by the symbol id, not its hash
                out.append(symbol_names[k])
        else:
            raise ValueError(f"lemma table key {k!r}")
    return out


# --------------------------------------------------------------------------------------------------------
# Merging split words in place of spaCy's retokenizer (Normalizer._apply)
# --------------------------------------------------------------------------------------------------------

# The flags a canonical word gives its lexeme under the norm_flags last seen (a tuple of the same (fid, values)
# objects): canonical -> (bits set, bits cleared). A frozenset's answer never changes; another list, or the same
# list changed, compares unequal and empties the table.
cdef tuple _flag_source = None
cdef bint _flags_ok = False
cdef dict _flag_masks = {}


def apply_merges(Doc doc, list merges, list norm_flags) -> bool:
    """Normalizer._apply(doc, merges) for a doc with nothing but tokens: True when done, exactly as spaCy's
    retokenizer (`_merge` in spacy/tokens/_retokenize.pyx) and _apply's flag loop leave the doc, its vocab
    and its strings; False, with nothing changed, where the doc or the merges hold anything this does not
    handle (the caller then runs the Python _apply):

    - merges: (start, end, canonical str) of >= 2 tokens each, ascending and not overlapping, inside the doc;
    - norm_flags: (flag id 0-63, frozenset) tuples (the flags per canonical word are cached, see _flag_masks);
    - the doc: no tensor, span groups, user data or user hooks; a vocab without vectors; and on every token
      TAG, POS, MORPH, LEMMA, DEP, head, ENT_IOB, ENT_TYPE, SENT_START all unset (0; SENT_START 1 on the
      first token, as Doc.push_back sets it), so that the span root
      is its first token, every head stays 0 and no annotation is carried over or recomputed.

    What _merge then does, step for step: the canonical strings are added (Retokenizer.merge's
    intify_attrs), each merged token (at its start) gets norm 0 and the lemma of its empty lemmas (""
    -> 0, which it holds), the lexeme of its text (tokens' text_with_ws joined, the last one's space
    stripped: added as get_vector adds it, then `vocab.get`), the last token's `spacy`, then NORM = the
    canonical; tokens are moved down as whole structs (l_edge/r_edge/l_kids/r_kids/sent_start/idx kept: no
    DEP, so spaCy recomputes none), the freed tail zeroed with lex = &EMPTY_LEXEME, length reduced. Then
    each merged token's lexeme (the vocab's, as Token.lex gives it) gets set_flag(fid, c in values)."""
    cdef int n = doc.length
    cdef int k, start, end, prev = 0, offset, span_index, i, m
    cdef bint in_span
    cdef const TokenC* t
    cdef TokenC* tok
    cdef LexemeC* vlex
    cdef Vocab vocab = doc.vocab
    cdef flags_t one = 1, set_bits, clear_bits, bit
    cdef vector[int] starts, ends
    cdef vector[flags_t] sets, clears
    if not merges or n < 2:
        return False
    tensor = doc.tensor
    if tensor is not None and tensor.size != 0:
        return False
    if len(doc.spans) or doc.user_data or doc.user_hooks or doc.user_token_hooks or doc.user_span_hooks:
        return False
    if vocab.vectors_length > 0:
        return False
    for k in range(n):
        t = &doc.c[k]
        if (t.tag or t.pos or t.morph or t.lemma or t.dep or t.head or t.ent_iob or t.ent_type
                or (t.sent_start and not (k == 0 and t.sent_start == 1))):  # the doc's first token: 1 (push_back)
            return False
    global _flag_source, _flags_ok
    source = tuple(norm_flags)  # the same objects each call: compared by identity, element by element
    if source != _flag_source:
        _flag_masks.clear()
        _flag_source = source
        _flags_ok = all(type(f) is tuple and len(f) == 2 and type(f[0]) is int and 0 <= f[0] < 64
                        and type(f[1]) is frozenset for f in source)
    if not _flags_ok:
        return False
    canon = []
    for item in merges:
        if type(item) is not tuple or len(item) != 3:
            return False
        s, e, c = item
        if type(s) is not int or type(e) is not int or type(c) is not str:
            return False
        if s < prev or e - s < 2 or e > n:
            return False
        start, end = s, e
        prev = end
        starts.push_back(start)
        ends.push_back(end)
        canon.append(c)
    # The flags each canonical gives its lexeme (the loop's last word on a flag wins, as set_flag's does).
    for c in canon:
        masks = _flag_masks.get(c)
        if masks is None:
            set_bits = clear_bits = 0
            for fid, values in _flag_source:
                bit = one << <int>fid
                if c in values:
                    set_bits |= bit
                    clear_bits &= ~bit
                else:
                    clear_bits |= bit
                    set_bits &= ~bit
            if len(_flag_masks) >= 100_000:
                _flag_masks.clear()
            masks = _flag_masks[c] = (set_bits, clear_bits)
        sets.push_back(<flags_t>masks[0])
        clears.push_back(<flags_t>masks[1])
    # ---- from here on the doc changes ----
    strings = vocab.strings
    norms = [strings.add(c) for c in canon]  # Retokenizer.merge: intify_attrs({"NORM": c})
    m = <int>starts.size()
    for i in range(m):
        start, end = starts[i], ends[i]
        pieces = []
        for k in range(start, end):
            pieces.append(strings[doc.c[k].lex.orth])
            if k + 1 < end and doc.c[k].spacy:
                pieces.append(" ")
        new_orth = "".join(pieces)
        # vocab.get_vector(new_orth): the string (transient where allowed) and its lexeme, in the vocab
        vocab.get_by_orth(vocab.mem, strings.add(new_orth, allow_transient=True))
        tok = &doc.c[start]
        tok.norm = 0
        tok.lex = vocab.get(doc.mem, new_orth)
        tok.spacy = doc.c[end - 1].spacy
        tok.norm = <attr_t>norms[i]
    # compress, as _merge does (a move never goes up: i - offset <= i)
    offset = 0
    in_span = False
    span_index = 0
    for i in range(n):
        if in_span and i == ends[span_index]:
            in_span = False
            span_index += 1
        if span_index < m and i == starts[span_index]:
            doc.c[i - offset] = doc.c[i]
            offset += ends[span_index] - starts[span_index] - 1
            in_span = True
        if not in_span:
            doc.c[i - offset] = doc.c[i]
    for i in range(n - offset, n):
        memset(&doc.c[i], 0, sizeof(TokenC))
        doc.c[i].lex = &EMPTY_LEXEME
    doc.length = n - offset
    # _apply's flag loop: the merged token's lexeme as Token.lex gives it (vocab[orth])
    offset = 0
    for i in range(m):
        vlex = <LexemeC*>vocab.get_by_orth(vocab.mem, doc.c[starts[i] - offset].lex.orth)
        vlex.flags = (vlex.flags & ~clears[i]) | sets[i]
        offset += ends[i] - starts[i] - 1
    return True


def token_structs(Doc doc, int length) -> list:
    """Every field of doc.c[0:length] as raw values (the lexeme as its address and orth), for the tests; length
    may go past len(doc) into the zeroed tail a merge leaves (up to the allocated length)."""
    cdef int i
    cdef const TokenC* t
    if length < 0 or length > doc.max_length:
        raise IndexError(f"{length} beyond the doc's {doc.max_length} allocated tokens")
    out = []
    for i in range(length):
        t = &doc.c[i]
        out.append((<size_t>t.lex, t.lex.orth, t.morph, <int>t.pos, t.spacy, t.tag, t.idx, t.lemma, t.norm, t.head,
                    t.dep, t.l_kids, t.r_kids, t.l_edge, t.r_edge, t.sent_start, t.ent_iob, t.ent_type, t.ent_kb_id,
                    t.ent_id))
    return out
