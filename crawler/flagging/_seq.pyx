# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled twin of pipeline.SeqMatcher: the composite cue patterns matched over spaCy's token structs.

`CompiledSeqMatcher(seq_matcher)` copies a built SeqMatcher's `.patterns` into flat C arrays;
`matcher(doc, labels)` returns exactly the list `seq_matcher(doc, labels)` returns, same tuples in the
same order. Tokens are read straight from `doc.c` (token NORM, lexeme ORTH and flag word), with no
per-token Python objects; Python objects are made only for the matches found.

Which patterns are tried: each pattern is indexed under one thing the doc must have for it to match
(its least shared needed NORM/ORTH id, else its least shared needed flag bit; a pattern needing
neither is always tried). One pass over the tokens ORs their flag words, and each token's NORM and
ORTH are looked up in a table of the ids the patterns use (a multiplier giving each id its own slot
is searched for at construction, so a look is two loads and no branch; with too many ids, linear
probing). The patterns indexed under what the doc has, masked by those whose label is in `labels` (a
mask per `labels` frozenset, found by the object's address, made once per value; any other container
is asked label by label as SeqMatcher asks), are checked against all their needs exactly as
SeqMatcher checks them, then run in pattern order, so the matches come out in SeqMatcher's order.

How a pattern runs: per doc, token bitsets in rows: one per one-bit flag test's bit (made for the
bits the doc's candidate patterns test, from the tokens that have them), one per other distinct set
of tests those patterns use (ids from the table's hits), one of all tokens; each spec names its row.
The starts are the first spec's row. A pattern whose specs all have fixed counts (lo == hi) ends at
start + its length where every spec's row, shifted to its offset, has the token: all starts at once.
Otherwise SeqMatcher's `_ends` runs per start on position bitsets (spec by spec, the positions after k
tokens are those after k - 1 whose next token is in the row, shifted by one): in one 64-bit word when
the pattern spans at most 63 tokens. A pattern with a later one-bit flag spec of lo >= 1 first keeps
only the starts with a token of that flag in the window where that spec must begin.

Order: the ends of one start come out ascending (bitset order), as SeqMatcher gives them.

Duplicates: SeqMatcher emits one (cue, start, end) per cue. One pattern cannot give the same (start,
end) twice, so only patterns sharing a key with an earlier one look their matches up, and only those
sharing a key with a later one record theirs.

Flag words: SeqMatcher caches `vocab[orth].flags` per orth for the life of the instance; this reads
`lex.flags` live. They differ only if a lexeme's flags change after SeqMatcher first saw it.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.list cimport PyList_GET_ITEM, PyList_New, PyList_SET_ITEM
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memset
from libcpp.vector cimport vector

from spacy.structs cimport LexemeC, TokenC
from spacy.tokens.doc cimport Doc
from ._packed cimport Packed

SPACY_VERSION_BUILT = BUILT_WITH_SPACY
globals()["BUILT_WITH_SPACY"] = SPACY_VERSION_BUILT

_U64 = (1 << 64) - 1


cdef extern from *:
    """
    #define __pyx_seq_prefetch(p) __builtin_prefetch((const void*)(p))
    """
    void _prefetch "__pyx_seq_prefetch"(const void* p) noexcept nogil
    int __builtin_ctzll(unsigned long long) noexcept nogil
    void PyObject_GC_UnTrack(void* op)


cdef enum:
    STACK_WORDS = 2048  # per-call scratch on the C stack (docs up to some 150 tokens), else on the heap
    HIT_STACK = 128  # matches kept on the C stack, then on the heap
    TAB_STACK = 64  # slots of the table of matches remembered for later patterns (same key)
    N_INTS = 1024  # len(_INTS)
    LABEL_BITS = 11
    LABEL_SLOTS = 1 << LABEL_BITS  # `labels` objects remembered: up to half that, then the cache starts over
    COUNT_MAX = 1 << 30  # token counts are capped there
    PERFECT_MAX_BITS = 14  # the largest id table tried for a collision-free multiplier (16K slots)


cdef list _INTS = list(range(N_INTS))  # the positions of the matches, made once


cdef struct Test:
    uint64_t val
    int slot  # kind 0 with one bit: its flag slot; kind 1 / 2: the id's index; else -1
    unsigned char kind  # 0 flag bits (any set), 1 NORM ==, 2 ORTH ==
    unsigned char want


cdef struct Spec:
    int t0  # its tests [t0, t0 + tn)
    int tn
    int lo  # its count, lo..hi (both at most COUNT_MAX: no doc is that long)
    int hi
    int tset  # its tests as a distinct set
    int row  # the row of the per-doc bitsets holding the tokens passing its tests


cdef struct TSet:
    int t0
    int tn
    int direct  # -1: its bitset is computed; else one one-bit flag test wanted: that flag slot's bitset
    int row  # its row of the per-doc bitsets: a flag slot's, the valid tokens' (no test), or its own
    int cidx  # a computed set: its index among those, else -1


cdef struct Pattern:
    uint64_t bits  # flag bits the doc must have
    uint64_t fbits  # the one-bit flag tests of its specs: the flags whose tokens it may ask for
    int s0  # specs [s0, s0 + sn)
    int sn
    int kid  # its key, numbered
    int label  # its label, numbered
    # a later spec with lo >= 1 and a one-bit flag test: from start s it must begin within
    # [s + probe_lo, s + probe_hi], so a start with no token of flag slot `probe` there has no match
    int probe  # -1 none
    int probe_lo
    int probe_hi
    unsigned char fixed  # every spec has lo == hi: at most one end per start
    unsigned char window  # it spans at most 63 tokens (sum of hi): a run fits one 64-bit word of positions
    unsigned char check  # an earlier pattern has the same key
    unsigned char record  # a later pattern has the same key


cdef struct IdHits:
    int* n_pos  # the tokens whose NORM is an id (ascending), and the id
    int* n_id
    int n_count
    int* o_pos  # ... whose ORTH is
    int* o_id
    int o_count


cdef struct Hits:
    int* v  # (pattern, start, end) triples
    size_t n
    size_t cap
    int* tab  # open-addressed: index of a remembered triple, -1 empty
    size_t tsize
    size_t tcount
    bint tab_ready


cdef inline size_t _label_slot(uint64_t key) noexcept nogil:
    return ((key >> 4) * 0x9E3779B97F4A7C15ULL) >> (64 - LABEL_BITS)


cdef inline bint _one_bit(uint64_t x) noexcept nogil:
    return x != 0 and (x & (x - 1)) == 0


cdef inline uint64_t _mix(uint64_t x) noexcept nogil:
    x ^= x >> 33
    x *= 0xff51afd7ed558ccdULL
    x ^= x >> 33
    return x


cdef class CompiledSeqMatcher:
    """SeqMatcher's patterns in C arrays; call it as the SeqMatcher: `(doc, labels=None) -> [(name, s, e)]`.

    The patterns are copied at construction: a later change to `seq_matcher.patterns` is not seen.
    """

    cdef vector[Test] tests
    cdef vector[Spec] specs
    cdef vector[TSet] tsets
    cdef vector[Pattern] pats
    # per-doc token bitsets, in rows: the flag slots, then the test sets computed per doc, then the valid
    # tokens; cts: the computed sets (their indices into tsets), pat_cts: each pattern's, as a bitset
    cdef vector[int] cts
    cdef vector[uint64_t] pat_cts
    cdef int cts_words
    cdef vector[uint64_t] need_bs  # per pattern: its needed ids as a bitset over id indices (id_words words)
    cdef int id_words
    # the id table: slot (id * slot_mult) >> slot_shift holds an id's index (n_ids when empty), id_vals
    # the ids (and one more, for the dummy index n_ids); `perfect`: every id has its own slot, so one
    # look finds it, else linear probing. A token with no id gets the dummy index n_ids.
    cdef vector[int] slots
    cdef vector[uint64_t] id_vals
    cdef uint64_t slot_mult
    cdef int slot_shift
    cdef readonly bint perfect  # (readable for the tests)
    cdef int n_ids
    cdef int n_patterns
    cdef int n_words  # 64-bit words in a pattern mask
    # pattern masks: indexed by an id (n_ids rows), by a flag bit (64 rows), tried always, all valid
    cdef vector[uint64_t] id_mask
    cdef vector[uint64_t] bit_mask
    cdef uint64_t trig_bits
    cdef vector[uint64_t] always_mask
    cdef vector[uint64_t] valid_mask  # every pattern whose needs some doc can meet
    # one-bit flag tests: per doc, the tokens with each bit asked for, as bitsets (by slot)
    cdef uint64_t flag_bits
    cdef int flag_slot[64]
    cdef int n_flag_slots
    # label masks per `labels` frozenset, offsets into label_masks: by the object (label_seen, an
    # open-addressed table of object addresses, 0 empty, with label_offs; label_objects holds the objects
    # so their addresses stay theirs) and by value (label_cache)
    cdef uint64_t label_seen[LABEL_SLOTS]
    cdef Py_ssize_t label_offs[LABEL_SLOTS]
    cdef list label_objects
    cdef dict label_cache
    cdef vector[uint64_t] label_masks
    cdef list names
    cdef vector[uint64_t] keys  # per pattern: its name's string hash (vocab.strings.add(name)), for packed()
    cdef readonly bint packable  # every name is a str (else packed() raises)
    cdef list label_names
    cdef object vocab
    cdef readonly object seq_matcher  # the SeqMatcher this was built from

    def __init__(self, seq_matcher):
        self.seq_matcher = seq_matcher
        self.vocab = seq_matcher.vocab
        self.names = []
        self.label_names = []
        self.label_cache = {}
        self.label_objects = []
        memset(self.label_seen, 0, sizeof(self.label_seen))
        self.flag_bits = 0
        self.n_flag_slots = 0
        cdef dict kids = {}
        cdef dict label_ids = {}
        cdef dict tset_ids = {}
        cdef dict id_index = {}
        cdef list ids = []
        cdef list needs = []  # per pattern: (never, need bits, [id indices])
        cdef list kid_list = []
        cdef Test t
        cdef Spec sp
        cdef TSet ts
        cdef Pattern p
        cdef bint never
        cdef uint64_t bits
        cdef int64_t lo_sum, hi_sum
        cdef int k
        for key, name, specs, need_bits, need_ids, label in seq_matcher.patterns:
            specs = tuple(specs)
            if not specs:
                raise ValueError(f"cue pattern for {name} has no token specs")
            memset(&p, 0, sizeof(p))
            p.s0 = <int>self.specs.size()
            p.sn = len(specs)
            p.fixed = True
            p.probe = -1
            lo_sum = hi_sum = 0
            for tests, lo, hi in specs:
                tests = tuple(tests)
                sp.t0 = <int>self.tests.size()
                sp.tn = len(tests)
                if lo != hi:
                    p.fixed = False
                sp.lo = min(lo, COUNT_MAX)
                sp.hi = min(hi, COUNT_MAX)
                for kind, value, wanted in tests:
                    if kind not in (0, 1, 2):
                        raise ValueError(f"cue pattern for {name}: unknown test kind {kind!r}")
                    if wanted is not True and wanted is not False:
                        raise ValueError(f"cue pattern for {name}: test wants {wanted!r}, not a bool")
                    if kind == 0:
                        value = value & _U64  # `flags & value` only sees the low 64 bits of value
                    elif not 0 <= value <= _U64:
                        raise ValueError(f"cue pattern for {name}: id {value!r} is not a 64-bit hash")
                    t.kind = kind
                    t.val = value
                    t.want = wanted
                    t.slot = -1
                    if kind == 0 and _one_bit(t.val):
                        t.slot = self._flag_slot(t.val)
                        p.fbits |= t.val
                    elif kind:
                        if value not in id_index:
                            id_index[value] = len(ids)
                            ids.append(value)
                        t.slot = id_index[value]
                    self.tests.push_back(t)
                if tests not in tset_ids:
                    tset_ids[tests] = len(tset_ids)
                    ts.t0 = sp.t0
                    ts.tn = sp.tn
                    ts.direct = -1
                    if sp.tn == 1 and self.tests[sp.t0].kind == 0 and self.tests[sp.t0].want and self.tests[sp.t0].slot >= 0:
                        ts.direct = self.tests[sp.t0].slot
                    self.tsets.push_back(ts)
                sp.tset = tset_ids[tests]
                if <int>self.specs.size() > p.s0 and sp.lo >= 1:
                    for k in range(sp.tn):
                        t = self.tests[sp.t0 + k]
                        if t.kind == 0 and t.want and t.slot >= 0:  # the last such spec wins
                            p.probe = t.slot
                            p.probe_lo = lo_sum
                            p.probe_hi = hi_sum
                            break
                lo_sum = min(lo_sum + max(sp.lo, 0), COUNT_MAX)
                hi_sum = min(hi_sum + max(sp.hi, 0), COUNT_MAX)
                self.specs.push_back(sp)
            if p.fixed:
                p.probe = -1
            p.window = hi_sum <= 63
            never = not 0 <= need_bits <= _U64
            bits = 0
            if not never:
                bits = need_bits
            p.bits = bits
            idx = []
            for value in sorted(need_ids):
                if not 0 <= value <= _U64:
                    never = True
                    continue
                if value not in id_index:
                    id_index[value] = len(ids)
                    ids.append(value)
                idx.append(id_index[value])
            needs.append((never, bits, idx))
            if key not in kids:
                kids[key] = len(kids)
            p.kid = kids[key]
            kid_list.append(p.kid)
            if label not in label_ids:
                label_ids[label] = len(self.label_names)
                self.label_names.append(label)
            p.label = label_ids[label]
            self.pats.push_back(p)
            self.names.append(name)
        self.n_patterns = len(self.names)
        self.n_ids = len(ids)
        strings = self.vocab.strings
        self.packable = True
        for name in self.names:
            if isinstance(name, str):
                self.keys.push_back(strings.add(name))  # SeqMatcher added it already: its key
            else:
                self.packable = False
                self.keys.push_back(0)
        cdef int P = self.n_patterns
        cdef int pi, j
        first = {}
        last = {}
        for pi in range(P):
            first.setdefault(kid_list[pi], pi)
            last[kid_list[pi]] = pi
        for pi in range(P):
            self.pats[pi].check = first[kid_list[pi]] < pi
            self.pats[pi].record = last[kid_list[pi]] > pi

        self._id_table(ids)
        cdef int n_fs = self.n_flag_slots
        for j in range(<int>self.tsets.size()):
            self.tsets[j].cidx = -1
            if self.tsets[j].direct < 0 and self.tsets[j].tn:
                self.tsets[j].cidx = <int>self.cts.size()
                self.cts.push_back(j)
        for j in range(<int>self.tsets.size()):
            if self.tsets[j].direct >= 0:
                self.tsets[j].row = self.tsets[j].direct
            elif self.tsets[j].tn == 0:
                self.tsets[j].row = n_fs + <int>self.cts.size()  # the valid tokens
            else:
                self.tsets[j].row = n_fs + self.tsets[j].cidx
        for j in range(<int>self.specs.size()):
            self.specs[j].row = self.tsets[self.specs[j].tset].row
        self.cts_words = (<int>self.cts.size() + 63) >> 6
        self.pat_cts.assign(<size_t>P * self.cts_words, 0)
        for pi in range(P):
            for k in range(self.pats[pi].sn):
                j = self.tsets[self.specs[self.pats[pi].s0 + k].tset].cidx
                if j >= 0:
                    self.pat_cts[<size_t>pi * self.cts_words + (j >> 6)] |= (<uint64_t>1) << (j & 63)
        self.id_words = (self.n_ids + 63) >> 6
        self.need_bs.assign(<size_t>P * self.id_words, 0)
        for pi in range(P):
            for j in needs[pi][2]:
                self.need_bs[<size_t>pi * self.id_words + (j >> 6)] |= (<uint64_t>1) << (j & 63)

        # the index: each pattern under its least shared needed id, else its least shared needed bit
        cdef int W = (P + 63) // 64
        if W == 0:
            W = 1
        self.n_words = W
        self.id_mask.assign(<size_t>self.n_ids * W, 0)
        self.bit_mask.assign(64 * W, 0)
        self.always_mask.assign(W, 0)
        self.valid_mask.assign(W, 0)
        self.trig_bits = 0
        id_uses = [0] * self.n_ids
        bit_uses = [0] * 64
        for never, bits_, idx in needs:
            if never:
                continue
            for j in idx:
                id_uses[j] += 1
            for k in range(64):
                if bits_ >> k & 1:
                    bit_uses[k] += 1
        cdef uint64_t one
        for pi in range(P):
            never, bits_, idx = needs[pi]
            if never:
                continue
            one = (<uint64_t>1) << (pi % 64)
            self.valid_mask[pi // 64] |= one
            if idx:
                j = min(idx, key=lambda j: (id_uses[j], j))
                self.id_mask[<size_t>j * W + pi // 64] |= one
            elif bits_:
                k = min((k for k in range(64) if bits_ >> k & 1), key=lambda k: (bit_uses[k], k))
                self.bit_mask[k * W + pi // 64] |= one
                self.trig_bits |= (<uint64_t>1) << k
            else:
                self.always_mask[pi // 64] |= one

    cdef _id_table(self, list ids):
        """The table of ids: a multiplier giving each its own slot, tried for in growing tables, else the
        smallest table with linear probing."""
        import random
        rng = random.Random(len(ids))
        cdef int n_ids = len(ids), bits, attempt, j
        cdef uint64_t mult = 0x9E3779B97F4A7C15ULL, h, mask
        self.perfect = False
        bits = 3
        while (1 << bits) < 8 * n_ids:
            bits += 1
        while bits <= PERFECT_MAX_BITS and not self.perfect:
            for attempt in range(64):
                mult = rng.getrandbits(64) | 1
                if len({((<uint64_t>v) * mult) >> (64 - bits) for v in ids}) == n_ids:
                    self.perfect = True
                    break
            else:
                bits += 1
        if not self.perfect:
            bits = 3
            while (1 << bits) < 4 * n_ids:
                bits += 1
            mult = 0x9E3779B97F4A7C15ULL
        self.slot_mult = mult
        self.slot_shift = 64 - bits
        self.slots.assign(<size_t>1 << bits, n_ids)
        self.id_vals.assign(n_ids + 1, 0)
        mask = (<uint64_t>1 << bits) - 1
        for j in range(n_ids):
            h = ((<uint64_t>ids[j]) * mult) >> (64 - bits)
            while self.slots[h] != n_ids:
                h = (h + 1) & mask
            self.slots[h] = j
            self.id_vals[j] = ids[j]

    cdef int _flag_slot(self, uint64_t bit):
        """The slot of a one-bit flag test's bit among those whose tokens a call may collect."""
        cdef int b = __builtin_ctzll(bit)
        if not (self.flag_bits >> b) & 1:
            self.flag_bits |= bit
            self.flag_slot[b] = self.n_flag_slots
            self.n_flag_slots += 1
        return self.flag_slot[b]

    cdef Py_ssize_t _label_mask(self, labels) except -1:
        """The offset in label_masks of the mask of patterns whose label is in `labels` (a frozenset not
        seen before as an object)."""
        if len(self.label_objects) >= LABEL_SLOTS // 2:
            memset(self.label_seen, 0, sizeof(self.label_seen))
            self.label_objects.clear()
            self.label_cache.clear()
            self.label_masks.clear()
        found = self.label_cache.get(labels)
        cdef Py_ssize_t off
        cdef int W = self.n_words
        cdef int pi
        if found is None:
            off = <Py_ssize_t>self.label_masks.size()
            inside = [label in labels for label in self.label_names]
            self.label_masks.resize(off + W, 0)
            for pi in range(self.n_patterns):
                if inside[self.pats[pi].label]:
                    self.label_masks[off + pi // 64] |= (<uint64_t>1) << (pi % 64)
            for pi in range(W):
                self.label_masks[off + pi] &= self.valid_mask[pi]
            self.label_cache[labels] = off
        else:
            off = found
        self.label_objects.append(labels)
        cdef uint64_t key = <uint64_t><PyObject*>labels
        cdef size_t h = _label_slot(key)
        while self.label_seen[h]:
            h = (h + 1) & (LABEL_SLOTS - 1)
        self.label_seen[h] = key
        self.label_offs[h] = off
        return off

    def __call__(self, Doc doc not None, labels=None):
        return self._run(doc, labels, False)

    def packed(self, Doc doc not None, labels=None):
        """The matches of `self(doc, labels)`, in its order, as bytes: per match 16 bytes, the cue name's
        string hash (uint64, vocab.strings.add(name)), start and end (int32), native byte order."""
        if not self.packable:
            raise TypeError("packed() needs every pattern's name to be a str")
        return self._run(doc, labels, True)

    cdef object _run(self, Doc doc, labels, bint packed):
        cdef int n = doc.length
        if n == 0 or self.n_patterns == 0:
            return b"" if packed else []
        cdef int i, j, k, w
        cdef int W = self.n_words
        cdef int n_ids = self.n_ids
        cdef int n_labels = len(self.label_names)
        cdef int n_fs = self.n_flag_slots
        cdef int NB = (n + 64) >> 6  # words in a bitset over the positions 0..n
        cdef int IDW = self.id_words
        cdef int n_cts = <int>self.cts.size()
        cdef int CTW = self.cts_words
        cdef size_t n_ints = 6 * <size_t>n + 1 + <size_t>n_labels
        cdef size_t words = 3 * <size_t>n + W + IDW + (<size_t>n_fs + n_cts + 5) * NB + CTW + (n_ints + 1) // 2
        cdef uint64_t stackbuf[STACK_WORDS]
        cdef vector[uint64_t] heapbuf
        cdef uint64_t* buf = stackbuf
        if words > STACK_WORDS:
            heapbuf.resize(words)
            buf = heapbuf.data()
        cdef uint64_t* bits = buf
        cdef uint64_t* norm = buf + n
        cdef uint64_t* orth = norm + n
        cdef uint64_t* cand = orth + n  # the patterns to try, a bitset
        cdef uint64_t* present = cand + W  # the ids the doc has, a bitset over id indices
        cdef uint64_t* f_toks = present + IDW  # per flag slot: the tokens with it (of the bits asked for)
        cdef uint64_t* cts_bits = f_toks + <size_t>n_fs * NB  # per computed test set: the tokens passing it
        cdef uint64_t* valid = cts_bits + <size_t>n_cts * NB  # the tokens (bits 0..n-1)
        cdef uint64_t* pos_a = valid + NB  # position bitsets for the runs
        cdef uint64_t* pos_b = pos_a + NB
        cdef uint64_t* pos_c = pos_b + NB
        cdef uint64_t* pos_d = pos_c + NB
        cdef IdHits ih
        cdef uint64_t* cts_need = pos_d + NB  # the computed test sets asked for
        ih.n_pos = <int*>(cts_need + CTW)
        ih.n_id = ih.n_pos + n
        ih.o_pos = ih.n_id + n
        ih.o_id = ih.o_pos + n
        cdef int* ends_buf = ih.o_id + n  # the ends of one start
        cdef int* flagged = ends_buf + (n + 1)  # the tokens with a flag bit asked for
        cdef int* label_state = flagged + n  # per label: -1 not asked yet, 0 out, 1 in
        for w in range(CTW):
            cts_need[w] = 0
        for w in range(IDW):
            present[w] = 0
        for w in range(NB):
            valid[w] = 0xFFFFFFFFFFFFFFFFULL
        valid[NB - 1] = ((<uint64_t>1) << (n & 63)) - 1  # n < 64 * NB, so the last word is partial

        # the tokens, their flags, their ids
        cdef uint64_t doc_bits = _read_tokens(doc.c, n, bits, norm, orth)
        if doc.vocab is not self.vocab:  # SeqMatcher reads the flags from its own vocab
            doc_bits = 0
            for i in range(n):
                bits[i] = self.vocab[orth[i]].flags
                doc_bits |= bits[i]
        if self.perfect:
            _find_ids_perfect(norm, orth, n, self.slots.data(), self.id_vals.data(), self.slot_mult,
                              self.slot_shift, n_ids, &ih)
        else:
            _find_ids_probing(norm, orth, n, self.slots.data(), self.id_vals.data(), self.slot_mult,
                              self.slot_shift, self.slots.size() - 1, n_ids, &ih)

        # the patterns indexed under what the doc has (an id met again adds nothing)
        cdef const uint64_t* id_mask = self.id_mask.data()
        cdef const uint64_t* always = self.always_mask.data()
        for w in range(W):
            cand[w] = always[w]
        for k in range(ih.n_count):
            j = ih.n_id[k]
            present[j >> 6] |= (<uint64_t>1) << (j & 63)
            for w in range(W):
                cand[w] |= id_mask[<size_t>j * W + w]
        for k in range(ih.o_count):
            j = ih.o_id[k]
            present[j >> 6] |= (<uint64_t>1) << (j & 63)
            for w in range(W):
                cand[w] |= id_mask[<size_t>j * W + w]
        cdef uint64_t x = doc_bits & self.trig_bits
        cdef const uint64_t* bit_mask = self.bit_mask.data()
        while x:
            j = __builtin_ctzll(x)
            x &= x - 1
            for w in range(W):
                cand[w] |= bit_mask[j * W + w]

        # ... whose label is asked for
        cdef bint lazy = False
        cdef const uint64_t* lmask
        cdef Py_ssize_t off
        cdef uint64_t key
        cdef size_t lh
        if labels is None:
            lmask = self.valid_mask.data()
        elif type(labels) is frozenset:
            key = <uint64_t><PyObject*>labels
            lh = _label_slot(key)
            while self.label_seen[lh] != key and self.label_seen[lh]:
                lh = (lh + 1) & (LABEL_SLOTS - 1)
            off = self.label_offs[lh] if self.label_seen[lh] else self._label_mask(labels)
            lmask = self.label_masks.data() + off
        else:  # any container: asked per label, as SeqMatcher asks, once needs are met
            lmask = self.valid_mask.data()
            lazy = True
            for j in range(n_labels):
                label_state[j] = -1
        for w in range(W):
            cand[w] &= lmask[w]

        # ... and whose needs the doc meets (SeqMatcher's test); the flag bits their tests ask for
        cdef const Pattern* pats = self.pats.data()
        cdef const Pattern* pat
        cdef uint64_t fneed = 0
        cdef int pi, lab
        cdef bint skip
        cdef const uint64_t* need_bs = self.need_bs.data()
        cdef const uint64_t* pat_cts = self.pat_cts.data()
        cdef const uint64_t* nb
        cdef uint64_t miss, keep
        for w in range(W):
            x = cand[w]
            while x:
                k = __builtin_ctzll(x)
                x &= x - 1
                pat = &pats[w * 64 + k]
                nb = need_bs + <size_t>(w * 64 + k) * IDW
                miss = (doc_bits & pat.bits) ^ pat.bits
                for i in range(IDW):
                    miss |= nb[i] & ~present[i]
                skip = miss != 0
                if lazy and not skip:
                    lab = pat.label
                    if label_state[lab] == -1:
                        label_state[lab] = self.label_names[lab] in labels
                    skip = not label_state[lab]
                cand[w] &= ~((<uint64_t>skip) << k)
                keep = <uint64_t>0 - <uint64_t>(not skip)
                fneed |= pat.fbits & keep
                nb = pat_cts + <size_t>(w * 64 + k) * CTW
                for i in range(CTW):
                    cts_need[i] |= nb[i] & keep
        # the tokens with the flag bits asked for, per bit: first which tokens (no branch), then their bits
        cdef const int* flag_slot = self.flag_slot
        cdef int n_flagged = 0
        if fneed:
            memset(f_toks, 0, <size_t>n_fs * NB * sizeof(uint64_t))
            for i in range(n):
                flagged[n_flagged] = i
                n_flagged += (bits[i] & fneed) != 0
            for k in range(n_flagged):
                i = flagged[k]
                x = bits[i] & fneed
                while x:
                    j = __builtin_ctzll(x)
                    x &= x - 1
                    f_toks[<size_t>flag_slot[j] * NB + (i >> 6)] |= (<uint64_t>1) << (i & 63)

        # the bitsets of the computed test sets asked for (the others are flag slots' or the valid tokens')
        cdef const Test* tests = self.tests.data()
        cdef const TSet* tsets = self.tsets.data()
        cdef const int* cts = self.cts.data()
        cdef int ts
        for w in range(CTW):
            x = cts_need[w]
            while x:
                k = w * 64 + __builtin_ctzll(x)
                x &= x - 1
                ts = cts[k]
                _tset_bits(tests + tsets[ts].t0, tsets[ts].tn, n, NB, bits, valid, f_toks, &ih,
                           cts_bits + <size_t>k * NB, pos_a)

        # the runs
        cdef const Spec* specs = self.specs.data()
        cdef const Spec* sp
        cdef const uint64_t* starts
        cdef const uint64_t* pb
        cdef uint64_t y
        cdef int hit_stack[3 * HIT_STACK]
        cdef int tab_stack[TAB_STACK]
        cdef vector[int] hit_heap, tab_heap
        cdef Hits hits
        hits.v = hit_stack
        hits.n = 0
        hits.cap = HIT_STACK
        hits.tab = tab_stack
        hits.tsize = TAB_STACK
        hits.tcount = 0
        hits.tab_ready = False
        cdef int si, s, e, q, c, wi, ne
        cdef int64_t r
        for w in range(W):
            x = cand[w]
            while x:
                pi = w * 64 + __builtin_ctzll(x)
                x &= x - 1
                pat = &pats[pi]
                if specs[pat.s0].tn == 0:
                    raise IndexError("tuple index out of range")  # SeqMatcher's _starts: tests[0]
                starts = f_toks + <size_t>specs[pat.s0].row * NB
                if pat.fixed:  # one end per start, s + the pattern's length, where every spec's tokens pass
                    q = 0
                    for wi in range(NB):
                        pos_a[wi] = starts[wi]
                    for si in range(pat.s0, pat.s0 + pat.sn):
                        sp = &specs[si]
                        pb = f_toks + <size_t>sp.row * NB
                        r = 0
                        while r < sp.lo and q <= n:
                            for wi in range(NB):
                                pos_a[wi] &= _word_shr(pb, NB, wi, q)
                            q += 1
                            r += 1
                        if r < sp.lo:
                            q = n + 1
                    if q == 0 or q > n:
                        continue
                    for wi in range(NB):
                        y = pos_a[wi]
                        while y:
                            s = wi * 64 + __builtin_ctzll(y)
                            y &= y - 1
                            _hit(&hits, hit_heap, tab_heap, pats, pi, s, s + q)
                    continue
                if pat.probe >= 0:  # the starts with a token of the probe's flag where its spec must begin
                    pb = f_toks + <size_t>pat.probe * NB
                    for wi in range(NB):
                        pos_b[wi] = 0
                    r = pat.probe_lo
                    while r <= pat.probe_hi and r < n:
                        for wi in range(NB):
                            pos_b[wi] |= _word_shr(pb, NB, wi, <int>r)
                        r += 1
                    for wi in range(NB):
                        pos_b[wi] &= starts[wi]
                    starts = pos_b
                for wi in range(NB):
                    y = starts[wi]
                    while y:
                        s = wi * 64 + __builtin_ctzll(y)
                        y &= y - 1
                        # _ends(specs, s): the ends, ascending
                        if pat.window:
                            ne = _run_window(specs + pat.s0, pat.sn, s, NB, f_toks, ends_buf)
                        else:
                            ne = _run_bits(specs + pat.s0, pat.sn, s, NB, f_toks, pos_a, pos_c, pos_d, ends_buf)
                        for c in range(ne):
                            e = ends_buf[c]
                            if e > s:
                                _hit(&hits, hit_heap, tab_heap, pats, pi, s, e)

        cdef size_t h
        cdef bytes packed_out
        cdef Packed* rec
        cdef const uint64_t* keys = self.keys.data()
        if packed:
            packed_out = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>(hits.n * sizeof(Packed)))
            rec = <Packed*>PyBytes_AS_STRING(packed_out)
            for h in range(hits.n):
                rec[h].key = keys[hits.v[3 * h]]
                rec[h].start = hits.v[3 * h + 1]
                rec[h].end = hits.v[3 * h + 2]
            return packed_out
        cdef list out = PyList_New(hits.n)
        cdef list names = self.names
        cdef object name, so, eo
        for h in range(hits.n):
            name = <object>PyList_GET_ITEM(names, hits.v[3 * h])
            s = hits.v[3 * h + 1]
            e = hits.v[3 * h + 2]
            so = <object>PyList_GET_ITEM(_INTS, s) if s < N_INTS else s
            eo = <object>PyList_GET_ITEM(_INTS, e) if e < N_INTS else e
            t = PyTuple_New(3)
            Py_INCREF(name)
            PyTuple_SET_ITEM(t, 0, name)
            Py_INCREF(so)
            PyTuple_SET_ITEM(t, 1, so)
            Py_INCREF(eo)
            PyTuple_SET_ITEM(t, 2, eo)
            PyObject_GC_UnTrack(<PyObject*>t)  # a str and two ints: no cycle (CPython's GC would untrack it too)
            Py_INCREF(t)
            PyList_SET_ITEM(out, h, t)
        return out


cdef uint64_t _read_tokens(const TokenC* tok, int n, uint64_t* bits, uint64_t* norm,
                           uint64_t* orth) noexcept nogil:
    """Each token's flag word, NORM (its own, else its lexeme's: what to_array gives) and ORTH, and the
    OR of the flag words: the token structs first (a stream), then their lexemes (independent loads)."""
    cdef int i
    cdef const LexemeC* lex
    cdef uint64_t t, f, doc_bits = 0
    for i in range(n):
        bits[i] = <uint64_t>tok[i].lex  # the lexeme, until its flags replace it
        _prefetch(tok[i].lex)  # its lexeme, read in the next loop
        norm[i] = tok[i].norm
    for i in range(n):
        lex = <const LexemeC*>bits[i]
        orth[i] = lex.orth
        t = norm[i]
        norm[i] = t | (lex.norm & (<uint64_t>0 - <uint64_t>(t == 0)))
        f = lex.flags
        bits[i] = f
        doc_bits |= f
    return doc_bits


cdef void _find_ids_perfect(const uint64_t* norm, const uint64_t* orth, int n, const int* slots,
                            const uint64_t* id_vals, uint64_t mult, int shift, int n_ids, IdHits* ih) noexcept nogil:
    """List the tokens whose NORM / ORTH is an id, with the id. A token without an id takes the dummy
    n_ids: no branch depends on the tokens."""
    cdef int i, j, cn = 0, co = 0
    cdef uint64_t v
    for i in range(n):
        v = norm[i]
        j = slots[(v * mult) >> shift]
        j = n_ids + ((j - n_ids) & -(<int>(id_vals[j] == v)))
        ih.n_pos[cn] = i
        ih.n_id[cn] = j
        cn += j != n_ids
        v = orth[i]
        j = slots[(v * mult) >> shift]
        j = n_ids + ((j - n_ids) & -(<int>(id_vals[j] == v)))
        ih.o_pos[co] = i
        ih.o_id[co] = j
        co += j != n_ids
    ih.n_count = cn
    ih.o_count = co


cdef void _find_ids_probing(const uint64_t* norm, const uint64_t* orth, int n, const int* slots,
                            const uint64_t* id_vals, uint64_t mult, int shift, uint64_t mask, int n_ids,
                            IdHits* ih) noexcept nogil:
    """_find_ids_perfect for a table where ids may share a slot: linear probing."""
    cdef int i, j, cn = 0, co = 0
    cdef uint64_t v, h
    for i in range(n):
        v = norm[i]
        h = (v * mult) >> shift
        while slots[h] != n_ids and id_vals[slots[h]] != v:
            h = (h + 1) & mask
        j = slots[h]
        ih.n_pos[cn] = i
        ih.n_id[cn] = j
        cn += j != n_ids
        v = orth[i]
        h = (v * mult) >> shift
        while slots[h] != n_ids and id_vals[slots[h]] != v:
            h = (h + 1) & mask
        j = slots[h]
        ih.o_pos[co] = i
        ih.o_id[co] = j
        co += j != n_ids
    ih.n_count = cn
    ih.o_count = co


cdef void _tset_bits(const Test* t, int tn, int n, int NB, const uint64_t* bits, const uint64_t* valid,
                     const uint64_t* f_toks, const IdHits* ih, uint64_t* out, uint64_t* tmp) noexcept nogil:
    """The tokens passing every test of t[:tn], as a bitset: one-bit flag tests from their flag's
    tokens (f_toks, made for every such test of the patterns tried), id tests from the table's hits,
    any other flag test by screening the tokens."""
    cdef int k, w, c, i
    cdef uint64_t m
    cdef const int* pos
    cdef const int* idv
    cdef int cnt
    for w in range(NB):
        out[w] = valid[w]
    for k in range(tn):
        if t[k].kind == 0 and t[k].slot >= 0:
            if t[k].want:
                for w in range(NB):
                    out[w] &= f_toks[<size_t>t[k].slot * NB + w]
            else:
                for w in range(NB):
                    out[w] &= ~f_toks[<size_t>t[k].slot * NB + w]
        elif t[k].kind == 0:
            for w in range(NB):
                m = 0
                for c in range(64):
                    i = 64 * w + c
                    if i >= n:
                        break
                    m |= (<uint64_t>((bits[i] & t[k].val) != 0)) << c
                out[w] &= m if t[k].want else ~m
        else:
            pos = ih.n_pos if t[k].kind == 1 else ih.o_pos
            idv = ih.n_id if t[k].kind == 1 else ih.o_id
            cnt = ih.n_count if t[k].kind == 1 else ih.o_count
            if t[k].want:
                for w in range(NB):
                    tmp[w] = 0
                for c in range(cnt):
                    if idv[c] == t[k].slot:
                        tmp[pos[c] >> 6] |= (<uint64_t>1) << (pos[c] & 63)
                for w in range(NB):
                    out[w] &= tmp[w]
            else:
                for c in range(cnt):
                    if idv[c] == t[k].slot:
                        out[pos[c] >> 6] &= ~((<uint64_t>1) << (pos[c] & 63))


cdef int _run_bits(const Spec* specs, int sn, int s, int NB, const uint64_t* rows, uint64_t* cur,
                   uint64_t* reach, uint64_t* nxt, int* ends) noexcept nogil:
    """SeqMatcher's _ends(specs, s) on position bitsets: the ends, ascending, into `ends`; how many.
    Per spec: the positions after k tokens are those after k - 1 whose next token passes its tests,
    shifted by one; the spec's positions are those for k in lo..hi (the start ones too if lo == 0)."""
    cdef int si, w, m
    cdef int64_t k, lo, hi
    cdef uint64_t r, carry, anyv
    cdef const uint64_t* pb
    cdef uint64_t* swap
    for w in range(NB):
        cur[w] = 0
    cur[s >> 6] = (<uint64_t>1) << (s & 63)
    for si in range(sn):
        pb = rows + <size_t>specs[si].row * NB
        lo = specs[si].lo
        hi = specs[si].hi
        for w in range(NB):
            nxt[w] = cur[w] if lo == 0 else 0
            reach[w] = cur[w]
        k = 0
        while k < hi:
            carry = 0
            anyv = 0
            for w in range(NB):
                r = reach[w] & pb[w]
                reach[w] = (r << 1) | carry
                carry = r >> 63
                anyv |= reach[w]
            if not anyv:
                break
            k += 1
            if k >= lo:
                for w in range(NB):
                    nxt[w] |= reach[w]
        swap = cur
        cur = nxt
        nxt = swap
        anyv = 0
        for w in range(NB):
            anyv |= cur[w]
        if not anyv:
            return 0
    m = 0
    for w in range(NB):
        r = cur[w]
        while r:
            ends[m] = 64 * w + __builtin_ctzll(r)
            r &= r - 1
            m += 1
    return m


cdef inline uint64_t _word_shr(const uint64_t* src, int NB, int w, int k) noexcept nogil:
    """Word w of the bitset src (NB words) shifted right by k bits: bit i is bit i + k of src."""
    cdef int q = w + (k >> 6), b = k & 63
    cdef uint64_t r = 0
    if q < NB:
        r = src[q] >> b
        if b and q + 1 < NB:
            r |= src[q + 1] << (64 - b)
    return r


cdef int _run_window(const Spec* specs, int sn, int s, int NB, const uint64_t* rows, int* ends) noexcept nogil:
    """_run_bits for a pattern spanning at most 63 tokens: positions s..s+63 in one word (bit k: s + k)."""
    cdef int si, m
    cdef int64_t k, lo, hi
    cdef uint64_t cur = 1, nxt, reach, pw
    for si in range(sn):
        pw = _word_shr(rows + <size_t>specs[si].row * NB, NB, 0, s)  # bits s..s+63 (s < 64 * NB)
        lo = specs[si].lo
        hi = specs[si].hi
        nxt = cur if lo == 0 else 0
        reach = cur
        k = 0
        while k < hi:
            reach = (reach & pw) << 1
            if not reach:
                break
            k += 1
            if k >= lo:
                nxt |= reach
        cur = nxt
        if not cur:
            return 0
    m = 0
    while cur:
        ends[m] = s + __builtin_ctzll(cur)
        cur &= cur - 1
        m += 1
    return m


cdef inline size_t _hit_hash(int kid, int s, int e, size_t mask) noexcept nogil:
    return _mix((<uint64_t>kid << 42) ^ (<uint64_t>s << 21) ^ <uint64_t>e) & mask


cdef int _hit(Hits* h, vector[int]& hit_heap, vector[int]& tab_heap, const Pattern* pats, int pi, int s,
              int e) except -1:
    """Add the match (pi, s, e) unless a pattern before pi with the same key matched (s, e): SeqMatcher's
    one match per (cue, start, end). One pattern never gives the same (s, e) twice, so only a pattern
    sharing its key with an earlier one looks, and only one sharing it with a later one is remembered."""
    cdef const Pattern* pat = &pats[pi]
    cdef int kid = pat.kid
    cdef size_t mask, k, j, size
    cdef int t
    if pat.check or pat.record:
        if not h.tab_ready:
            memset(h.tab, 0xff, h.tsize * sizeof(int))
            h.tab_ready = True
        mask = h.tsize - 1
        k = _hit_hash(kid, s, e, mask)
        while h.tab[k] >= 0:
            t = h.tab[k]
            if h.v[3 * t + 1] == s and h.v[3 * t + 2] == e and pats[h.v[3 * t]].kid == kid:
                return 0
            k = (k + 1) & mask
        if pat.record:
            h.tab[k] = <int>h.n
            h.tcount += 1
    if h.n == h.cap:  # the buffer is full: on to the heap, twice the size
        if hit_heap.empty():
            hit_heap.assign(h.v, h.v + 3 * h.n)
        hit_heap.resize(6 * h.cap)
        h.v = hit_heap.data()
        h.cap *= 2
    h.v[3 * h.n] = pi
    h.v[3 * h.n + 1] = s
    h.v[3 * h.n + 2] = e
    h.n += 1
    if 2 * h.tcount > h.tsize:  # the table is half full: twice the size, every remembered match again
        size = 2 * h.tsize
        tab_heap.assign(size, -1)
        h.tab = tab_heap.data()
        h.tsize = size
        mask = size - 1
        for j in range(h.n):
            if pats[h.v[3 * j]].record:
                k = _hit_hash(pats[h.v[3 * j]].kid, h.v[3 * j + 1], h.v[3 * j + 2], mask)
                while h.tab[k] >= 0:
                    k = (k + 1) & mask
                h.tab[k] = <int>j
    return 1


