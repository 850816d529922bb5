# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled lexicon look-up: CueMatcher's two PhraseMatchers (NORM and LOWER), searched with our own
tries over token values in C++. Same matches, same order as the Python path: the NORM matcher's, then
the LOWER matcher's, each in PhraseMatcher's order, kept when their label is wanted.

The tries are copies of the PhraseMatchers' own (their preshed maps, walked with map_iter once, when
CompiledPhrases is built), so they hold exactly the phrases the PhraseMatchers hold. A terminal's cue
names are kept in the order PhraseMatcher.find_matches yields them, which is map_iter's order over
that terminal map (preshed's slot order, then the special keys 0 and 1), not the order the phrases
were added in: copying the map with map_iter keeps it.

Search, as PhraseMatcher.find_matches does it: for each start (ascending), walk the trie as far as the
tokens go; each node reached after one token or more emits its terminal's cues with end = the tokens
consumed (so ascending end). Token values as the matchers read them: NORM = the token's norm, else its
lexeme's (get_token_attr); LOWER = the lexeme's lower. One pass reads both values of every token and
walks both tries; the LOWER trie's matches are appended after the NORM trie's.

Data layout, for few cache misses per token:
- root_bits: a 64 Ki-bit filter over the first token values of both tries (bit = value >> 48). Most
  tokens start no phrase and stop at this one bit test; the tokens that may are listed without a
  branch and only they are looked up.
- roots: the first token values, by cuckoo hashing (two candidate slots, no probe loop). One slot
  serves both tries (a token's NORM and LOWER are mostly the same string) and holds its children's
  node data, so a walk's first step needs no other look-up.
- inner: every other edge, (parent, value) -> child with the child's node data, linear probing.
"""
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.list cimport PyList_GET_ITEM, PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF
from cython.operator cimport dereference as deref
from libc.stdint cimport int32_t, uint16_t, uint64_t
from libc.string cimport memcpy
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector
from preshed.maps cimport MapStruct, key_t, map_iter
from spacy.attrs cimport LOWER, NORM
from spacy.matcher.phrasematcher cimport PhraseMatcher
from spacy.structs cimport TokenC
from spacy.tokens.doc cimport Doc
from spacy.typedefs cimport attr_t
from ._packed cimport Packed

from .rules import cue_label

SPACY_VERSION_BUILT = BUILT_WITH_SPACY
globals()["BUILT_WITH_SPACY"] = SPACY_VERSION_BUILT


cdef enum:
    STACK_TOKENS = 512  # docs up to this many tokens keep their values on the C stack, longer ones on the heap
    LABEL_CACHE_MAX = 4096  # labels objects whose masks are kept; the cache starts over beyond that
    FILTER_WORDS = 1024  # root_bits: 64 Ki bits


cdef struct Node:
    int32_t id  # -1: none
    int32_t term  # its terminal's cues: terms[term:term + n_terms]
    uint16_t n_terms
    uint16_t has_kids


cdef struct RootSlot:
    attr_t key
    Node norm  # the NORM trie's node for this first token value
    Node lower  # the LOWER trie's; both ids -1: an empty slot


cdef struct Edge:
    attr_t key
    int32_t parent
    Node child  # child.id -1: an empty slot


cdef struct Hit:
    int32_t cue  # position in names
    int32_t start
    int32_t end


cdef Node NO_NODE
NO_NODE.id = -1
NO_NODE.term = 0
NO_NODE.n_terms = 0
NO_NODE.has_kids = 0
cdef RootSlot NO_ROOT
NO_ROOT.key = 0
NO_ROOT.norm = NO_NODE
NO_ROOT.lower = NO_NODE


cdef inline uint64_t _h1(attr_t key, int shift) noexcept nogil:
    # Token values are 64-bit string hashes already; a product's high bits pick the slot.
    return (<uint64_t>key * <uint64_t>0xFF51AFD7ED558CCDULL) >> shift


cdef inline uint64_t _h2(attr_t key, int shift) noexcept nogil:
    return (<uint64_t>key * <uint64_t>0xC4CEB9FE1A85EC53ULL + <uint64_t>0x9E3779B97F4A7C15ULL) >> shift


cdef inline uint64_t _edge_slot(int32_t parent, attr_t key, int shift) noexcept nogil:
    return ((<uint64_t>key ^ (<uint64_t>parent * <uint64_t>0x9E3779B97F4A7C15ULL))
            * <uint64_t>0xFF51AFD7ED558CCDULL) >> shift


cdef inline uint64_t _bit(const uint64_t* bits, attr_t key) noexcept nogil:
    return bits[<uint64_t>key >> 54] >> ((<uint64_t>key >> 48) & 63)


cdef inline bint _empty(const RootSlot* s) noexcept nogil:
    return (s.norm.id & s.lower.id) < 0


cdef inline attr_t _norm_of(const TokenC* t) noexcept nogil:
    # get_token_attr(NORM) in spacy/tokens/token.pxd
    return t.norm if t.norm != 0 else t.lex.norm


@cython.final
cdef class CompiledPhrases:
    cdef vector[uint64_t] root_bits
    cdef vector[RootSlot] roots
    cdef int root_shift
    cdef vector[Edge] inner
    cdef int inner_shift
    cdef uint64_t inner_mask
    cdef vector[int32_t] terms
    cdef list names
    cdef vector[uint64_t] keys  # position in names -> the name's string hash (its PhraseMatcher match id)
    cdef list labels_of  # position -> cue label
    cdef dict wanted_for  # labels -> bytes, 1 where the cue at that position is wanted
    cdef unordered_map[size_t, Py_ssize_t] by_address  # labels object's address -> its mask in `masks`
    cdef list held  # the labels objects in by_address, kept alive
    cdef list masks

    def __init__(self, PhraseMatcher by_norm, PhraseMatcher by_lower, names):
        """`names`: every cue name the two matchers were given. The matchers' tries are copied here,
        as they are now: phrases added to the matchers afterwards are not seen."""
        if by_norm.attr != NORM or by_lower.attr != LOWER:
            raise ValueError("CompiledPhrases needs a NORM and a LOWER PhraseMatcher")
        self.names = list(dict.fromkeys(names))
        self.labels_of = [cue_label(n) for n in self.names]
        strings = by_norm.vocab.strings
        index = {}  # string hash -> position in names
        for i, name in enumerate(self.names):
            key = strings.add(name)
            index[key] = i
            self.keys.push_back(key)
        self.wanted_for = {}
        self.held = []
        self.masks = []

        # node (0: NORM root, 1: LOWER root, then the other nodes of both tries) -> positions in names, in the
        # order find_matches yields them
        terminals = [[], []]
        root_edges = {}  # first token value -> [NORM child, LOWER child]
        inner_edges = []  # (parent, value, child)
        for root, matcher in enumerate((by_norm, by_lower)):
            _copy_trie(matcher, root, root_edges, inner_edges, terminals, index)

        parents = {parent for parent, _, _ in inner_edges}
        cdef vector[Node] nodes
        cdef Node nd
        for node, cues in enumerate(terminals):
            nd.id = node
            nd.term = self.terms.size()
            nd.n_terms = len(cues)
            nd.has_kids = node in parents
            for cue in cues:
                self.terms.push_back(cue)
            nodes.push_back(nd)
        self._build_roots(root_edges, nodes)
        self._build_inner(inner_edges, nodes)

    cdef _build_roots(self, dict root_edges, vector[Node]& nodes):
        """The filter, and the cuckoo table: each first token value in slot _h1 or _h2 of it."""
        self.root_bits.assign(FILTER_WORDS, 0)
        for key in root_edges:
            self.root_bits[<uint64_t>key >> 54] |= (<uint64_t>1) << ((<uint64_t>key >> 48) & 63)
        cdef int bits = 3
        while (1 << bits) < 2 * len(root_edges):  # two choices: load under 1/2
            bits += 1
        cdef RootSlot r, evicted
        cdef uint64_t i
        cdef int kicks
        while True:
            self.root_shift = 64 - bits
            self.roots.assign(1 << bits, NO_ROOT)
            for key, (norm_child, lower_child) in root_edges.items():
                r.key = key
                r.norm = nodes[norm_child] if norm_child >= 0 else NO_NODE
                r.lower = nodes[lower_child] if lower_child >= 0 else NO_NODE
                i = _h1(r.key, self.root_shift)
                for kicks in range(500):
                    if _empty(&self.roots[i]):
                        self.roots[i] = r
                        break
                    evicted = self.roots[i]
                    self.roots[i] = r
                    r = evicted
                    i = (_h2(r.key, self.root_shift) if i == _h1(r.key, self.root_shift)
                         else _h1(r.key, self.root_shift))
                else:
                    break  # no room: a bigger table
            else:
                return
            bits += 1

    cdef _build_inner(self, list inner_edges, vector[Node]& nodes):
        cdef int bits = 3
        while (1 << bits) < 2 * len(inner_edges):  # linear probing, load under 1/2
            bits += 1
        self.inner_shift = 64 - bits
        self.inner_mask = (1 << bits) - 1
        cdef Edge e
        e.key = 0
        e.parent = -1
        e.child = NO_NODE
        self.inner.assign(1 << bits, e)
        cdef uint64_t i
        for parent, key, child in inner_edges:  # (parent, key) pairs are distinct: keys of one map
            i = _edge_slot(parent, key, self.inner_shift)
            while self.inner[i].child.id >= 0:
                i = (i + 1) & self.inner_mask
            e.key = key
            e.parent = parent
            e.child = nodes[child]
            self.inner[i] = e

    cdef inline const RootSlot* _root(self, attr_t key) noexcept nogil:
        """The slot holding `key`, or an empty one (no children). Two loads, no loop."""
        cdef const RootSlot* s1 = &self.roots[_h1(key, self.root_shift)]
        cdef const RootSlot* s2 = &self.roots[_h2(key, self.root_shift)]
        cdef const RootSlot* r = s2 if s2.key == key else &NO_ROOT  # an empty s2 has no children
        return s1 if (s1.key == key and not _empty(s1)) else r

    cdef inline const Node* _child(self, int32_t parent, attr_t key) noexcept nogil:
        cdef uint64_t i = _edge_slot(parent, key, self.inner_shift)
        cdef const Edge* e
        while True:
            e = &self.inner[i]
            if e.child.id < 0:
                return NULL
            if e.key == key and e.parent == parent:
                return &e.child
            i = (i + 1) & self.inner_mask

    cdef bytes _wanted(self, labels):
        """The label mask for `labels`, found by the object's address: `held` keeps every object looked
        up, so no other object can take its address while its entry is here."""
        cdef unordered_map[size_t, Py_ssize_t].iterator it = self.by_address.find(<size_t><void*>labels)
        if it != self.by_address.end():
            return <bytes>PyList_GET_ITEM(self.masks, deref(it).second)
        if self.by_address.size() >= LABEL_CACHE_MAX:
            self.by_address.clear()
            self.held = []
            self.masks = []
            self.wanted_for.clear()
        wanted = self.wanted_for.get(labels)
        if wanted is None:
            wanted = self.wanted_for[labels] = bytes(
                1 if labels is None or label in labels else 0 for label in self.labels_of)
        self.by_address[<size_t><void*>labels] = len(self.masks)
        self.held.append(labels)
        self.masks.append(wanted)
        return wanted

    cdef inline void _walk(self, const Node* node, const attr_t* values, int start, int n,
                           const unsigned char* wanted, vector[Hit]* hits) noexcept:
        """PhraseMatcher.find_matches from `start`, `node` being reached by the token at `start`."""
        cdef int end = start + 1
        cdef int32_t k, cue
        cdef Hit hit
        hit.start = start
        while True:
            for k in range(node.term, node.term + node.n_terms):
                cue = self.terms[k]
                if wanted[cue]:
                    hit.cue = cue
                    hit.end = end
                    hits.push_back(hit)
            if end >= n or not node.has_kids:
                return
            node = self._child(node.id, values[end])
            if node == NULL:
                return
            end += 1

    cdef int _search(self, Doc doc, labels, vector[Hit]& hits) except -1:
        """The matches of find(), in its order, into `hits` (empty before)."""
        cdef int n = doc.length
        if n == 0:
            return 0
        cdef bytes mask = self._wanted(labels)
        cdef const unsigned char* wanted = <const unsigned char*>PyBytes_AS_STRING(mask)
        cdef attr_t stack_values[2 * STACK_TOKENS]
        cdef int stack_maybe[STACK_TOKENS]
        cdef vector[attr_t] heap_values
        cdef vector[int] heap_maybe
        cdef attr_t* norms = stack_values
        cdef int* maybe_at = stack_maybe
        if n > STACK_TOKENS:
            heap_values.resize(2 * n)
            heap_maybe.resize(n)
            norms = heap_values.data()
            maybe_at = heap_maybe.data()
        cdef attr_t* lowers = norms + n
        cdef const uint64_t* bits = self.root_bits.data()
        cdef const TokenC* c = doc.c
        cdef const TokenC* t
        cdef attr_t norm, lower
        cdef int i, q, n_maybe = 0
        # The tokens' values first, in a loop without branches so that their loads overlap, listing the
        # tokens whose NORM or LOWER may start a phrase.
        for i in range(n):
            t = &c[i]
            norm = _norm_of(t)
            lower = t.lex.lower
            norms[i] = norm
            lowers[i] = lower
            maybe_at[n_maybe] = i
            n_maybe += (_bit(bits, norm) | _bit(bits, lower)) & 1
        cdef vector[Hit] lower_hits  # the LOWER trie's; the NORM trie's go straight to `hits`
        cdef const RootSlot* r
        cdef const Node* lower_node
        if n_maybe:
            hits.reserve(64)
        for q in range(n_maybe):
            i = maybe_at[q]
            r = self._root(norms[i])
            lower_node = &r.lower if lowers[i] == norms[i] else &self._root(lowers[i]).lower
            if r.norm.id >= 0:
                self._walk(&r.norm, norms, i, n, wanted, &hits)
            if lower_node.id >= 0:
                self._walk(lower_node, lowers, i, n, wanted, &lower_hits)
        hits.insert(hits.end(), lower_hits.begin(), lower_hits.end())
        return 0

    def find(self, Doc doc, labels=None):
        """(cue name, start, end) for every lexicon match whose label is in `labels` (all when None):
        by_norm's matches, then by_lower's, each in PhraseMatcher's order."""
        cdef vector[Hit] hits
        self._search(doc, labels, hits)
        cdef Py_ssize_t k, total = hits.size()
        cdef list out = PyList_New(total)
        names = self.names
        for k in range(total):
            item = (names[hits[k].cue], hits[k].start, hits[k].end)
            Py_INCREF(item)
            PyList_SET_ITEM(out, k, item)
        return out

    cdef bytes _packed_with(self, Doc doc, labels, seq):
        """packed(doc, labels) + seq.packed(doc, labels), made as one bytes: CueMatcher.found's records
        (`seq`: the CompiledSeqMatcher, or anything with such a packed method; None: packed() alone)."""
        cdef vector[Hit] hits
        self._search(doc, labels, hits)
        cdef bytes tail = b"" if seq is None else seq.packed(doc, labels)
        cdef size_t k, total = hits.size()
        cdef Py_ssize_t n_tail = len(tail)
        cdef bytes out = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>(total * sizeof(Packed)) + n_tail)
        cdef char* data = PyBytes_AS_STRING(out)
        cdef Packed* rec = <Packed*>data
        cdef const uint64_t* keys = self.keys.data()
        for k in range(total):
            rec[k].key = keys[hits[k].cue]
            rec[k].start = hits[k].start
            rec[k].end = hits[k].end
        memcpy(data + total * sizeof(Packed), PyBytes_AS_STRING(tail), n_tail)
        return out

    def packed(self, Doc doc, labels=None):
        """find()'s matches, in its order, as bytes: per match 16 bytes, the cue name's string hash
        (uint64, as vocab.strings.add(name) gives it), start and end (int32), native byte order."""
        return self._packed_with(doc, labels, None)


@cython.final
cdef class PackedFinder:
    """CueMatcher.found for the compiled matchers, without a Python frame: `found(doc, labels)` is
    phrases._packed_with(doc, labels, seq) for a doc of `vocab`, else find(doc, labels) (`find`:
    CueMatcher.find, whose list CueMatcher.found gives for a doc of another vocab)."""
    cdef CompiledPhrases phrases
    cdef object seq
    cdef object vocab
    cdef object find

    def __init__(self, CompiledPhrases phrases not None, seq, vocab, find):
        self.phrases = phrases
        self.seq = seq
        self.vocab = vocab
        self.find = find

    def found(self, Doc doc not None, labels=None):
        if doc.vocab is self.vocab:
            return self.phrases._packed_with(doc, labels, self.seq)
        return self.find(doc, labels)


cdef _copy_trie(PhraseMatcher matcher, int32_t root, dict root_edges, list inner_edges, list terminals,
                dict index):
    """Walk the matcher's preshed trie with map_iter: a node's map holds its children by token value,
    and its terminal map (match ids -> NULL) under the matcher's terminal hash. A terminal's ids are
    kept in map_iter's order, the order find_matches emits them in."""
    cdef key_t terminal_hash = matcher._terminal_hash
    cdef vector[MapStruct*] stack_maps
    cdef vector[int32_t] stack_ids
    cdef MapStruct* node_map
    cdef int32_t node_id, child_id
    cdef int i, j
    cdef key_t key, match_id
    cdef void* value
    cdef void* unused
    stack_maps.push_back(matcher.c_map)
    stack_ids.push_back(root)
    while not stack_maps.empty():
        node_map = stack_maps.back()
        node_id = stack_ids.back()
        stack_maps.pop_back()
        stack_ids.pop_back()
        i = 0
        while map_iter(node_map, &i, &key, &value):
            if key == terminal_hash:
                # find_matches never emits the root's terminal (a match has a token at least), and a
                # doc token whose value is the terminal hash leads to no match: it is no edge here.
                if node_id != root:
                    j = 0
                    while map_iter(<MapStruct*>value, &j, &match_id, &unused):
                        if match_id not in index:
                            raise ValueError(f"PhraseMatcher key {match_id} is not among the cue names")
                        terminals[node_id].append(index[match_id])
                continue
            child_id = len(terminals)
            terminals.append([])
            if node_id == root:
                root_edges.setdefault(key, [-1, -1])[root] = child_id
            else:
                inner_edges.append((node_id, key, child_id))
            stack_maps.push_back(<MapStruct*>value)
            stack_ids.push_back(child_id)
