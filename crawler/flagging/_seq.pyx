# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled twin of pipeline.SeqMatcher: the composite cue patterns matched over spaCy's token structs.

`CompiledSeqMatcher(seq_matcher)` copies a built SeqMatcher's `.patterns` into flat C arrays;
`matcher(doc, labels)` returns exactly the list `seq_matcher(doc, labels)` returns, same tuples in the
same order. Tokens are read straight from `doc.c` (token NORM, lexeme ORTH and flag word), with no
per-token Python objects.

Order: SeqMatcher's `_ends` keeps the positions reached after each token spec in a Python set, and
the next spec (and finally the output) walks that set in its iteration order, which for ints is not
always ascending ({7, 8} iterates 8, 7). Here each step collects its positions in the order
SeqMatcher adds them; a step that ends with two or more positions is put through a real Python set,
built with the same insertions, and taken in that set's order. One position needs no set.

Flag words: SeqMatcher caches `vocab[orth].flags` per orth for the life of the instance; this reads
`lex.flags` live. They differ only if a lexeme's flags change after SeqMatcher first saw it.
"""
from cpython.set cimport PySet_Add
from libc.stdint cimport int64_t, uint64_t
from libcpp.pair cimport pair
from libcpp.set cimport set as cpp_set
from libcpp.vector cimport vector

from spacy.structs cimport LexemeC, TokenC
from spacy.tokens.doc cimport Doc
from spacy.typedefs cimport attr_t, flags_t

SPACY_VERSION_BUILT = BUILT_WITH_SPACY
globals()["BUILT_WITH_SPACY"] = SPACY_VERSION_BUILT

_U64 = (1 << 64) - 1


cdef inline uint64_t _mix(uint64_t x) noexcept nogil:
    x ^= x >> 33
    x *= 0xff51afd7ed558ccdULL
    x ^= x >> 33
    return x


cdef class CompiledSeqMatcher:
    """SeqMatcher's patterns in C arrays; call it as the SeqMatcher: `(doc, labels=None) -> [(name, s, e)]`.

    The patterns are copied at construction: a later change to `seq_matcher.patterns` is not seen.
    """

    # token tests, flat: kind 0 flag bits (any set), 1 NORM ==, 2 ORTH ==; wanted 0/1
    cdef vector[int] t_kind
    cdef vector[uint64_t] t_val
    cdef vector[int] t_want
    # token specs, flat: their tests [s_t0, s_t0 + s_tn), quantifier lo..hi
    cdef vector[int] s_t0
    cdef vector[int] s_tn
    cdef vector[int64_t] s_lo
    cdef vector[int64_t] s_hi
    # patterns
    cdef vector[int] p_s0
    cdef vector[int] p_sn
    cdef vector[uint64_t] p_bits
    cdef vector[int] p_never  # a need that no doc can meet (bits beyond 64, an id beyond 64 bits)
    cdef vector[int] p_n0
    cdef vector[int] p_nn
    cdef vector[int] p_kid
    cdef vector[int] p_label
    cdef vector[int] p_group
    cdef vector[int] need_idx  # indices into the id table
    # distinct first specs (SeqMatcher shares their start positions within a call): the tests' range
    cdef vector[int] g_t0
    cdef vector[int] g_tn
    # open-addressed table of every id some pattern needs: value -> index (slot_idx -1 when empty)
    cdef vector[uint64_t] slot_val
    cdef vector[int] slot_idx
    cdef uint64_t slot_mask
    cdef int n_ids
    cdef int n_patterns
    cdef list names
    cdef list label_names
    cdef object vocab
    cdef readonly object seq_matcher  # the SeqMatcher this was built from

    def __init__(self, seq_matcher):
        self.seq_matcher = seq_matcher
        self.vocab = seq_matcher.vocab
        self.names = []
        self.label_names = []
        cdef dict kids = {}
        cdef dict label_ids = {}
        cdef dict group_ids = {}
        cdef dict id_index = {}
        cdef list ids = []
        cdef int want
        cdef bint never
        cdef uint64_t bits
        for key, name, specs, need_bits, need_ids, label in seq_matcher.patterns:
            specs = tuple(specs)
            if not specs:
                raise ValueError(f"cue pattern for {name} has no token specs")
            self.p_s0.push_back(<int>self.s_t0.size())
            self.p_sn.push_back(len(specs))
            for tests, lo, hi in specs:
                self.s_t0.push_back(<int>self.t_kind.size())
                self.s_tn.push_back(len(tests))
                self.s_lo.push_back(lo)
                self.s_hi.push_back(hi)
                for kind, value, wanted in tests:
                    if kind not in (0, 1, 2):
                        raise ValueError(f"cue pattern for {name}: unknown test kind {kind!r}")
                    if wanted is not True and wanted is not False:
                        raise ValueError(f"cue pattern for {name}: test wants {wanted!r}, not a bool")
                    if kind == 0:
                        value = value & _U64  # `flags & value` only sees the low 64 bits of value
                    elif not 0 <= value <= _U64:
                        raise ValueError(f"cue pattern for {name}: id {value!r} is not a 64-bit hash")
                    self.t_kind.push_back(kind)
                    self.t_val.push_back(value)
                    want = wanted
                    self.t_want.push_back(want)
            never = not 0 <= need_bits <= _U64
            bits = 0
            if not never:
                bits = need_bits
            self.p_bits.push_back(bits)
            self.p_n0.push_back(<int>self.need_idx.size())
            for value in sorted(need_ids):
                if not 0 <= value <= _U64:
                    never = True
                    continue
                if value not in id_index:
                    id_index[value] = len(ids)
                    ids.append(value)
                self.need_idx.push_back(id_index[value])
            self.p_nn.push_back(<int>self.need_idx.size() - self.p_n0.back())
            self.p_never.push_back(never)
            if key not in kids:
                kids[key] = len(kids)
            self.p_kid.push_back(kids[key])
            if label not in label_ids:
                label_ids[label] = len(self.label_names)
                self.label_names.append(label)
            self.p_label.push_back(label_ids[label])
            first = specs[0][0]
            if first not in group_ids:
                group_ids[first] = len(group_ids)
                self.g_t0.push_back(self.s_t0[self.p_s0.back()])
                self.g_tn.push_back(self.s_tn[self.p_s0.back()])
            self.p_group.push_back(group_ids[first])
            self.names.append(name)
        self.n_patterns = len(self.names)
        self.n_ids = len(ids)
        cdef uint64_t size = 8
        while size < 4 * <uint64_t>len(ids):
            size <<= 1
        self.slot_mask = size - 1
        self.slot_val.assign(size, 0)
        self.slot_idx.assign(size, -1)
        cdef uint64_t h, v
        cdef int j
        for j, value in enumerate(ids):
            v = value
            h = _mix(v) & self.slot_mask
            while self.slot_idx[h] != -1:
                h = (h + 1) & self.slot_mask
            self.slot_val[h] = v
            self.slot_idx[h] = j

    cdef inline int _id_index(self, uint64_t v) noexcept:
        cdef uint64_t h = _mix(v) & self.slot_mask
        cdef int j
        while True:
            j = self.slot_idx[h]
            if j == -1 or self.slot_val[h] == v:
                return j
            h = (h + 1) & self.slot_mask

    cdef inline bint _ok(self, int t0, int tn, int i, const uint64_t** cols) noexcept:
        cdef int k, kind
        cdef bint r
        for k in range(t0, t0 + tn):
            kind = self.t_kind[k]
            if kind == 0:
                r = (cols[0][i] & self.t_val[k]) != 0
            else:
                r = cols[kind][i] == self.t_val[k]
            if r != self.t_want[k]:
                return False
        return True

    def __call__(self, Doc doc not None, labels=None):
        cdef int n = doc.length
        if n == 0 or self.n_patterns == 0:
            return []
        cdef vector[uint64_t] bits_v = vector[uint64_t](n)
        cdef vector[uint64_t] norm_v = vector[uint64_t](n)
        cdef vector[uint64_t] orth_v = vector[uint64_t](n)
        cdef uint64_t* bits = bits_v.data()
        cdef uint64_t* norm = norm_v.data()
        cdef uint64_t* orth = orth_v.data()
        cdef const uint64_t* cols[3]
        cols[0] = bits
        cols[1] = norm
        cols[2] = orth
        cdef vector[char] present = vector[char](self.n_ids + 1, 0)
        cdef uint64_t doc_bits = 0
        cdef const TokenC* tok
        cdef int i, j
        cdef bint same_vocab = doc.vocab is self.vocab
        for i in range(n):
            tok = &doc.c[i]
            orth[i] = tok.lex.orth
            norm[i] = tok.norm  # the token's NORM, as to_array gives it: its own, else the lexeme's
            if norm[i] == 0:
                norm[i] = tok.lex.norm
            if same_vocab:
                bits[i] = tok.lex.flags
            else:  # SeqMatcher reads the flags from its own vocab
                bits[i] = self.vocab[orth[i]].flags
            doc_bits |= bits[i]
            if self.n_ids:
                j = self._id_index(norm[i])
                if j >= 0:
                    present[j] = 1
                j = self._id_index(orth[i])
                if j >= 0:
                    present[j] = 1

        cdef vector[int] label_state  # per label: -1 not asked yet, 0 out, 1 in
        if labels is not None:
            label_state.assign(len(self.label_names), -1)
        cdef int n_groups = <int>self.g_t0.size()
        cdef vector[int] g_off = vector[int](n_groups, -1)
        cdef vector[int] g_len = vector[int](n_groups, 0)
        cdef vector[int] starts
        cdef vector[int] stamp  # position -> the step that last added it
        cdef int gen = 0
        cdef vector[int] cur, nxt
        cdef cpp_set[pair[int, int64_t]] seen
        cdef list out = []
        cdef int pi, g, k, si, t0, tn, s, e, p, q, lab, c
        cdef int64_t lo, hi
        cdef uint64_t need
        cdef bint skip, hit, want
        cdef int kind
        cdef uint64_t val
        cdef const uint64_t* col
        for pi in range(self.n_patterns):
            if self.p_never[pi]:
                continue
            need = self.p_bits[pi]
            if doc_bits & need != need:
                continue
            skip = False
            for k in range(self.p_n0[pi], self.p_n0[pi] + self.p_nn[pi]):
                if not present[self.need_idx[k]]:
                    skip = True
                    break
            if skip:
                continue
            if labels is not None:
                lab = self.p_label[pi]
                if label_state[lab] == -1:
                    label_state[lab] = self.label_names[lab] in labels
                if not label_state[lab]:
                    continue
            g = self.p_group[pi]
            if g_off[g] == -1:
                t0 = self.g_t0[g]
                tn = self.g_tn[g]
                if tn == 0:
                    raise IndexError("tuple index out of range")  # SeqMatcher's _starts: tests[0]
                g_off[g] = <int>starts.size()
                # the first test screens every token (a tight loop); the rest only those it passes
                kind = self.t_kind[t0]
                val = self.t_val[t0]
                want = self.t_want[t0]
                col = cols[kind]
                for i in range(n):
                    if kind == 0:
                        hit = (col[i] & val) != 0
                    else:
                        hit = col[i] == val
                    if hit == want and (tn == 1 or self._ok(t0 + 1, tn - 1, i, cols)):
                        starts.push_back(i)
                g_len[g] = <int>starts.size() - g_off[g]
            if g_len[g] == 0:
                continue
            if stamp.empty():
                stamp.assign(n + 1, 0)
            for k in range(g_off[g], g_off[g] + g_len[g]):
                s = starts[k]
                # _ends: every end such that the pattern matches tokens[s:end]
                cur.clear()
                cur.push_back(s)
                for si in range(self.p_s0[pi], self.p_s0[pi] + self.p_sn[pi]):
                    lo = self.s_lo[si]
                    hi = self.s_hi[si]
                    t0 = self.s_t0[si]
                    tn = self.s_tn[si]
                    gen += 1
                    nxt.clear()
                    for c in range(<int>cur.size()):
                        p = cur[c]
                        if lo == 0 and stamp[p] != gen:
                            stamp[p] = gen
                            nxt.push_back(p)
                        q = p
                        while q - p < hi and q < n and self._ok(t0, tn, q, cols):
                            q += 1
                            if q - p >= lo and stamp[q] != gen:
                                stamp[q] = gen
                                nxt.push_back(q)
                    if nxt.size() >= 2:
                        _set_order(nxt)
                    cur.swap(nxt)
                    if cur.empty():
                        break
                for c in range(<int>cur.size()):
                    e = cur[c]
                    if e > s and seen.insert(pair[int, int64_t](self.p_kid[pi], <int64_t>s * (n + 1) + e)).second:
                        out.append((self.names[pi], s, e))
        return out


cdef void _set_order(vector[int]& v) except *:
    """Reorder `v` (distinct ints, in insertion order) as a Python set built by those insertions iterates."""
    cdef set s = set()
    cdef size_t i
    for i in range(v.size()):
        PySet_Add(s, v[i])
    i = 0
    for x in s:
        v[i] = x
        i += 1

