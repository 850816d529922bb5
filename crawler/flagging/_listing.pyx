# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
# distutils: language = c++
"""A listing's fields as the flagger reads them, without the Python code's per-field overhead.

prepare(listing) mirrors crawler/flagging/flagger.py's prepare (and the listing_fields and _is_mapping it
calls) and returns exactly what it returns, `(fields, starts, text, n_text)`, for every input
(tests/test_compiled_listing.py). Plain data (a dict listing, dict packages and faq items, exact `str`
values) takes fast paths: dict lookups instead of `.get` calls, paths from precomputed tables, the length
and whitespace checks on the string's characters. Anything else (another Mapping, a dict subclass, a str
subclass, a number, an object with its own `__str__` or `__class__`) goes through the same operations the
Python code performs, in the same order, so it sees the same calls and raises the same exceptions.
"""
from cpython.dict cimport PyDict_GetItemWithError
from cpython.list cimport PyList_GET_SIZE
from cpython.object cimport PyObject, PyObject_IsInstance
from cpython.unicode cimport PyUnicode_GET_LENGTH, PyUnicode_Substring

from collections.abc import Mapping

from .flagger import FIELD_SEPARATOR, MAX_FIELD_CHARS, MAX_FIELDS, MAX_LISTING_CHARS, join_fields

SPACY_VERSION_BUILT = BUILT_WITH_SPACY
globals()["BUILT_WITH_SPACY"] = SPACY_VERSION_BUILT

cdef extern from "Python.h":
    bint Py_UNICODE_ISSPACE(Py_UCS4 ch)

cdef Py_ssize_t _MAX_CHARS = MAX_FIELD_CHARS
cdef Py_ssize_t _MAX_FIELDS = MAX_FIELDS
cdef Py_ssize_t _MAX_LISTING = MAX_LISTING_CHARS
cdef str _SEP = FIELD_SEPARATOR
cdef Py_ssize_t _SEP_LEN = len(FIELD_SEPARATOR)
cdef object _Mapping = Mapping
cdef object _str = str

# What add() is given as a path: a fixed name, or a name with an index. Paths are made only for fields kept.
cdef enum:
    K_TITLE, K_DESCRIPTION, K_PKG_TITLE, K_PKG_DESCRIPTION, K_PKG, K_FAQ_QUESTION, K_FAQ_ANSWER, K_FAQ, K_TAG

cdef enum:
    CACHED = 256  # indexes below this have their paths precomputed
cdef tuple _PATTERNS = ("title", "description", "packages[{}].title", "packages[{}].description", "packages[{}]",
                        "faq[{}].question", "faq[{}].answer", "faq[{}]", "tags[{}]")
# _PATHS[kind][i], made exactly as the f-strings in listing_fields make them
cdef tuple _PATHS = tuple(tuple(p.format(i) for i in range(CACHED)) if "{}" in p else (p,) for p in _PATTERNS)


cdef inline object _path(int kind, Py_ssize_t i):
    if kind <= K_DESCRIPTION:
        return (<tuple>_PATHS[kind])[0]
    if i < CACHED:
        return (<tuple>_PATHS[kind])[i]
    return (<str>_PATTERNS[kind]).format(i)


cdef inline bint _isspace(str text):
    """str.isspace() for a non-empty exact str: stops at the first character that is not whitespace."""
    cdef Py_UCS4 c
    for c in text:
        if not Py_UNICODE_ISSPACE(c):
            return False
    return True


cdef int _add(list out, int kind, Py_ssize_t i, object value, Py_ssize_t* used) except -1:
    """listing_fields' add(path, value); `used` is its count of the joined text's characters so far."""
    cdef Py_ssize_t n
    cdef Py_ssize_t limit = _MAX_LISTING - used[0]
    cdef object text
    if value is None:
        return 0
    if limit < 0:
        limit = 0
    if limit > _MAX_CHARS:
        limit = _MAX_CHARS
    if type(value) is str:  # value.__class__ is str; slicing and isspace have no side effects to keep
        if PyList_GET_SIZE(out) >= _MAX_FIELDS:
            return 0
        n = PyUnicode_GET_LENGTH(value)
        if n == 0 or limit == 0:
            return 0
        text = PyUnicode_Substring(value, 0, limit) if n > limit else value
        if not _isspace(<str>text):
            out.append((_path(kind, i), text))
            used[0] += PyUnicode_GET_LENGTH(text) + _SEP_LEN
        return 0
    # Anything else: the Python code's operations, in its order (str() may return a str subclass, whose
    # slicing, truth, isspace and len are its own; `value.__class__` may be a property).
    text = (value if value.__class__ is str else _str(value))[:limit]
    if text and not text.isspace() and PyList_GET_SIZE(out) < _MAX_FIELDS:
        out.append((_path(kind, i), text))
        used[0] += len(text) + _SEP_LEN
    return 0


cdef inline object _get(object mapping, str key):
    """mapping.get(key); a lookup in the table for an exact dict."""
    cdef PyObject* found
    if type(mapping) is dict:
        found = PyDict_GetItemWithError(mapping, key)
        if found is NULL:  # missing (an error in the lookup, from a key's __eq__, raises instead)
            return None
        return <object>found
    return mapping.get(key)


cdef inline bint _is_mapping(object value) except -1:
    """flagger._is_mapping."""
    if type(value) is dict:
        return True
    return value.__class__ is dict or PyObject_IsInstance(value, _Mapping)


cdef int _add_items(list out, object items, int k_first, int k_second, int k_item,
                    str first, str second, Py_ssize_t* used) except -1:
    """The packages loop (title/description) or the faq loop (question/answer) of listing_fields."""
    cdef Py_ssize_t i = 0
    for item in items:
        if _is_mapping(item):
            _add(out, k_first, i, _get(item, first), used)
            _add(out, k_second, i, _get(item, second), used)
        else:
            _add(out, k_item, i, item, used)
        i += 1
    return 0


def prepare(listing):
    """flagger.prepare(listing): (fields, starts, text, n_text); see the module docstring."""
    cdef list out = []
    cdef list starts
    cdef Py_ssize_t i, n, n_text, pos, used = 0
    cdef object tags, text
    _add(out, K_TITLE, 0, _get(listing, "title"), &used)
    _add(out, K_DESCRIPTION, 0, _get(listing, "description"), &used)
    _add_items(out, _get(listing, "packages") or (), K_PKG_TITLE, K_PKG_DESCRIPTION, K_PKG, "title", "description",
               &used)
    _add_items(out, _get(listing, "faq") or (), K_FAQ_QUESTION, K_FAQ_ANSWER, K_FAQ, "question", "answer", &used)
    n_text = PyList_GET_SIZE(out)  # the fields before the tags: no other path starts with "tags["
    tags = _get(listing, "tags") or ()
    if PyObject_IsInstance(tags, str):  # isinstance(tags, str), which also asks tags.__class__
        tags = [tags]
    i = 0
    for tag in tags:
        _add(out, K_TAG, i, tag, &used)
        i += 1

    n = PyList_GET_SIZE(out)
    texts = [None] * n
    starts = [None] * n
    pos = 0
    for i in range(n):
        text = (<tuple>out[i])[1]
        if type(text) is not str:
            return join_fields(out)  # a text that is not an exact str (a str subclass from a __str__): as written
        texts[i] = text
        starts[i] = pos
        pos += PyUnicode_GET_LENGTH(text) + _SEP_LEN
    return out, starts, _SEP.join(texts), n_text
