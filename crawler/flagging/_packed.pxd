# The record in which the compiled cue matchers hand their matches to the compiled rule engine: written by
# _cues.CompiledPhrases.packed and _seq.CompiledSeqMatcher.packed, read by _evaluate.CompiledEngine.cues.
# Declared once here, so that the writers and the reader cannot disagree on its layout.
from libc.stdint cimport int32_t, uint64_t


cdef struct Packed:  # one match: 16 bytes, native byte order
    uint64_t key  # the cue name's string hash (vocab.strings.add(name))
    int32_t start
    int32_t end
