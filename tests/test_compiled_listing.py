"""The compiled prepare (crawler/flagging/_listing.pyx) against flagger.prepare, the Python code it mirrors.

Every comparison is of the whole return value, (fields, starts, text, n_text), and of the types of the texts
(a str subclass that str() returns must come back as that subclass, as in the Python code). Bad input must
raise the same exception type, and objects that see calls (.get, __str__, __class__) must see the same calls.
"""
from __future__ import annotations

import random
from collections import OrderedDict, UserDict
from collections.abc import Mapping
from types import MappingProxyType

import pytest
import spacy

from crawler.flagging import flagger as py
from crawler.flagging.flagger import FIELD_SEPARATOR, MAX_FIELD_CHARS, MAX_FIELDS, MAX_LISTING_CHARS
from tests.engine_corpus import compiled_part, engine_corpus


@pytest.fixture(scope="module")
def compiled():
    return compiled_part("_listing")


def _outcome(prepare, listing):
    try:
        result = prepare(listing)
    except Exception as exc:  # noqa: BLE001  the type is what is compared
        return ("raised", type(exc))
    fields, starts, text, n_text = result
    return (result, [(type(p), type(t)) for p, t in fields], type(text), type(n_text), [type(s) for s in starts])


def same(compiled, listing_factory):
    """Both prepares on fresh copies of a listing (a factory, since generators and recording objects are
    used up or changed by a call)."""
    want = _outcome(py.prepare, listing_factory())
    got = _outcome(compiled.prepare, listing_factory())
    assert got == want
    return want


def test_built_for_this_spacy(compiled):
    assert compiled.BUILT_WITH_SPACY == compiled.SPACY_VERSION_BUILT == spacy.__version__


def test_listed_as_a_part():
    from crawler.flagging.compiled import PARTS

    assert "_listing" in PARTS


def test_engine_corpus(compiled):
    corpus = engine_corpus()
    assert corpus
    for listing in corpus:
        assert compiled.prepare(listing) == py.prepare(listing)


# --- hand-made corner cases ---------------------------------------------------------------------------------

class StrSub(str):
    pass


class LoudStr(str):
    """A str subclass whose __str__ says something else: the Python code calls str() on it."""

    def __str__(self):
        return "loud " + str.__str__(self)


class SubFromStr:
    """str() of it is a str subclass with its own slicing, truth, isspace and len."""

    class Odd(str):
        def __getitem__(self, key):
            return SubFromStr.Odd(str.__getitem__(self, key) + "!")

        def __len__(self):
            return 3

        def isspace(self):
            return False

    def __init__(self, text):
        self.text = text

    def __str__(self):
        return SubFromStr.Odd(self.text)


class Weird:
    def __str__(self):
        return "   "


class Boom:
    def __str__(self):
        raise RuntimeError("no str")


class ReadOnly(Mapping):
    def __init__(self, data):
        self._data = dict(data)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)


class GetOverride(dict):
    """A dict subclass with its own get: the Python code calls .get, never [] or the dict's table."""

    def get(self, key, default=None):
        if key == "title":
            return "from get"
        return dict.get(self, key, default)


class GetItemOverride(dict):
    """A dict subclass with its own __getitem__ but dict.get: .get does not call __getitem__."""

    def __getitem__(self, key):
        return "from getitem"


class NotAMapping:
    """Has a get but is not a Mapping: as a package it is the item itself."""

    def get(self, key, default=None):
        return "nope"

    def __str__(self):
        return "not a mapping"


class ClassSpoof:
    """Claims to be a dict through __class__: the Python code's _is_mapping trusts that and calls its get."""

    @property
    def __class__(self):
        return dict

    def get(self, key, default=None):
        return f"spoofed {key}"


class Falsy(list):
    def __bool__(self):
        return False


class BadBool:
    def __bool__(self):
        raise ValueError("ambiguous")


class Recorder(dict):
    """Records the keys asked for, in order (a subclass, so .get is called as a method)."""

    def __init__(self, *args, log, **kwargs):
        super().__init__(*args, **kwargs)
        self.log = log

    def get(self, key, default=None):
        self.log.append(key)
        return dict.get(self, key, default)


LONG = "x" * (MAX_FIELD_CHARS + 10)
SPACES = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680", "\u2000",
          "\u2007", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b", "\ufeff", "\u180e"]
UNICODE = ["ünïcödé", "ΑΣ ΣΑ", "İstanbul", "日本語のレビュー", "😀 reviews 😀", "\U0001f600", "𝕽𝖊𝖛𝖎𝖊𝖜𝖘", "\ud800",
           "a\udfffb", "\udc80\udc80", "\x00", "a\x00b", "e\u0301", "\u200d", "ｆｕｌｌ", "\U0010ffff",
           "\u3000x\u3000", " \ud83d", "\t\U0001f600\t"]


def _corner_cases():
    many = [f"tag {i}" for i in range(MAX_FIELDS + 40)]
    cases = {
        "empty": lambda: {},
        "only title": lambda: {"title": "Hello"},
        "none values": lambda: {"title": None, "description": None, "packages": None, "faq": None, "tags": None},
        "numbers": lambda: {"title": 5, "description": 2.5, "packages": [0, -1, 1e300, float("nan"), True, False],
                            "faq": [[1, 2], (3,), {"question": 0, "answer": 0.0}], "tags": [1, None, 2]},
        "lists as values": lambda: {"title": ["a", "b"], "description": ("c",), "tags": [["x"], {}, set()]},
        "whitespace": lambda: {"title": "   ", "description": "\n\n", "packages": ["\t", " x "], "tags": SPACES},
        "each space": lambda: {"tags": [s * 3 for s in SPACES] + ["x" + s for s in SPACES]},
        "empty strings": lambda: {"title": "", "description": "", "packages": [""], "faq": [""], "tags": [""]},
        "long": lambda: {"title": LONG, "description": " " * (MAX_FIELD_CHARS + 5) + "x",
                         "packages": [{"title": LONG + "y"}], "tags": [StrSub(LONG), 10 ** (MAX_FIELD_CHARS // 100)]},
        "exactly max chars": lambda: {"title": "y" * MAX_FIELD_CHARS, "description": "y" * (MAX_FIELD_CHARS - 1)},
        "space then text past the limit": lambda: {"title": " " * MAX_FIELD_CHARS + "x"},
        # the whole listing's budget: fields cut where the joined text reaches MAX_LISTING_CHARS, later ones dropped
        "listing budget": lambda: {"title": LONG, "description": LONG, "packages": [LONG] * 20, "tags": ["late"]},
        "budget crossed in the tags": lambda: {"tags": ["y" * (MAX_LISTING_CHARS // 7)] * 9 + ["z"]},
        "budget crossed by a non-str": lambda: {"packages": [LONG] * 9 + [10 ** 30000, StrSub(LONG), "after"]},
        "budget leaves spaces": lambda: {"packages": ["w" * (MAX_LISTING_CHARS - 2 - 3)] * 1 + ["   " + "v" * 9, "u"]},
        "budget exactly used": lambda: {"packages": ["a" * (MAX_LISTING_CHARS - len(FIELD_SEPARATOR)), "b"]},
        "many tags": lambda: {"title": "t", "tags": many},
        "many packages": lambda: {"packages": [{"title": f"p{i}", "description": f"d{i}"} for i in range(150)],
                                  "faq": [{"question": "q", "answer": "a"}] * 30, "tags": ["late"]},
        "many empty then text": lambda: {"packages": [""] * 400 + ["found"] + [{"title": "x"}] * 5,
                                         "tags": [" "] * 300 + ["t"]},
        "full before the tags": lambda: {"packages": [str(i) for i in range(MAX_FIELDS)], "tags": ["t1", "t2"]},
        "full after non-str": lambda: {"packages": ["p"] * MAX_FIELDS, "faq": [Weird(), 3, StrSub("s")],
                                       "tags": [SubFromStr("z")]},
        "boom after full": lambda: {"packages": ["p"] * MAX_FIELDS, "tags": [Boom()]},
        "tags as str": lambda: {"title": "t", "tags": "one tag"},
        "tags as str subclass": lambda: {"tags": StrSub("sub tag")},
        "tags as loud str": lambda: {"tags": LoudStr("loud tag")},
        "tags as whitespace str": lambda: {"tags": "  "},
        "tags as tuple": lambda: {"tags": ("a", "b", "")},
        "tags empty list": lambda: {"title": "x", "tags": []},
        "tags empty str": lambda: {"title": "x", "tags": ""},
        "tags generator": lambda: {"tags": (f"g{i}" for i in range(5))},
        "tags dict": lambda: {"tags": {"k1": 1, "k2": 2}},
        "tags set of one": lambda: {"tags": {"only"}},
        "tags only": lambda: {"tags": ["a", "b"]},
        "packages as str": lambda: {"packages": "abc"},
        "packages as tuple": lambda: {"packages": ({"title": "t"}, "plain", None, 7)},
        "packages generator": lambda: {"packages": ({"title": f"t{i}"} for i in range(3)), "faq": iter(["q"])},
        "packages falsy object": lambda: {"packages": Falsy(["hidden"]), "faq": 0, "tags": 0.0},
        "packages non-mappings": lambda: {"packages": [NotAMapping(), ["t"], ("x",), 1, None, Weird()]},
        "packages spoofed dict": lambda: {"packages": [ClassSpoof()], "faq": [ClassSpoof()]},
        "packages mapping kinds": lambda: {"packages": [OrderedDict(title="o"), UserDict(title="u"),
                                                        MappingProxyType({"description": "m"}), ReadOnly({"title": "r"}),
                                                        GetOverride(description="d"), GetItemOverride(title="g")]},
        "packages missing keys": lambda: {"packages": [{}, {"name": "x"}, {"title": None, "description": "d"}]},
        "faq mapping kinds": lambda: {"faq": [{"question": "q?", "answer": "a."}, ReadOnly({"answer": "ra"}),
                                              "plain faq", {"question": 1, "answer": [2]}]},
        "str subclasses": lambda: {"title": StrSub("sub"), "description": LoudStr("loud"),
                                   "packages": [StrSub(" "), LoudStr("")], "tags": [StrSub("t")]},
        "str returning a subclass": lambda: {"title": SubFromStr("odd"), "tags": [SubFromStr(""), "after"]},
        "unicode": lambda: {"title": UNICODE[0], "description": " ".join(UNICODE), "tags": UNICODE,
                            "packages": [{"title": u, "description": u + " "} for u in UNICODE]},
        "astral long": lambda: {"title": "😀" * (MAX_FIELD_CHARS + 3), "description": "a" + "\U0010ffff" * MAX_FIELD_CHARS},
        "lone surrogates long": lambda: {"title": "\ud800" * (MAX_FIELD_CHARS + 1)},
        "other keys ignored": lambda: {"name": "n", "seller": {"title": "x"}, "title": "t"},
        "OrderedDict listing": lambda: OrderedDict(title="o", tags=["a"]),
        "UserDict listing": lambda: UserDict({"title": "u", "packages": [{"title": "p"}]}),
        "Mapping listing": lambda: ReadOnly({"title": "r", "description": "d", "faq": [{"question": "q"}]}),
        "proxy listing": lambda: MappingProxyType({"title": "mp", "tags": "x"}),
        "get override listing": lambda: GetOverride(title="ignored", description="d"),
        "getitem override listing": lambda: GetItemOverride(title="real title"),
        "non-mapping listing with get": lambda: NotAMapping(),
        "spoofed listing": lambda: ClassSpoof(),
    }
    for i, u in enumerate(UNICODE):
        cases[f"unicode {i}"] = lambda u=u: {"title": u, "tags": [u, u * 2, " " + u]}
    for i, s in enumerate(SPACES):
        cases[f"space {i}"] = lambda s=s: {"title": s, "description": s + "x", "tags": [s * 2]}
    return cases


CORNER_CASES = _corner_cases()


@pytest.mark.parametrize("name", list(CORNER_CASES))
def test_corner_case(compiled, name):
    same(compiled, CORNER_CASES[name])


def test_paths_at_large_indexes(compiled):
    """Past the precomputed paths the path is formatted, exactly as the f-strings do."""
    listing = {"packages": [""] * 300 + [{"title": "a", "description": "b"}, "c"],
               "faq": [None] * 1000 + [{"question": "q", "answer": "a"}, "f"], "tags": [""] * 5000 + ["t"]}
    want = py.prepare(listing)
    assert compiled.prepare(listing) == want
    assert [p for p, _ in want[0]] == ["packages[300].title", "packages[300].description", "packages[301]",
                                       "faq[1000].question", "faq[1000].answer", "faq[1001]", "tags[5000]"]


def test_the_same_calls(compiled):
    """.get is called for the same keys in the same order, on the listing and on the items."""
    logs = []
    for prepare in (py.prepare, compiled.prepare):
        log = []
        listing = Recorder({"title": "t", "packages": [Recorder({"title": "p"}, log=log), "x"],
                            "faq": [Recorder({"answer": "a"}, log=log)], "tags": "tag"}, log=log)
        assert prepare(listing)
        logs.append(log)
    assert logs[0] == logs[1] == ["title", "description", "packages", "title", "description", "faq", "question",
                                  "answer", "tags"]

    # str() is called on every non-str value, also once MAX_FIELDS fields are kept
    for prepare in (py.prepare, compiled.prepare):
        seen = []

        class Counted:
            def __init__(self, i):
                self.i = i

            def __str__(self):
                seen.append(self.i)
                return f"c{self.i}"

        prepare({"packages": [Counted(i) for i in range(MAX_FIELDS + 5)], "tags": [Counted(-1)]})
        logs.append(seen)
    assert logs[2] == logs[3] == list(range(MAX_FIELDS + 5)) + [-1]


def test_same_list_is_returned_and_starts_point_into_text(compiled):
    fields, starts, text, n_text = compiled.prepare({"title": "ab", "description": "c", "tags": ["d"]})
    assert fields == [("title", "ab"), ("description", "c"), ("tags[0]", "d")]
    assert starts == [0, 2 + len(FIELD_SEPARATOR), 3 + 2 * len(FIELD_SEPARATOR)]
    assert all(text[s:s + len(t)] == t for s, (_, t) in zip(starts, fields))
    assert n_text == 2


BAD_INPUTS = {
    "None listing": lambda: None,
    "list listing": lambda: [("title", "x")],
    "str listing": lambda: "title",
    "int listing": lambda: 3,
    "packages int": lambda: {"packages": 5},
    "packages float": lambda: {"title": "t", "packages": 1.5},
    "faq int": lambda: {"faq": 7},
    "tags int": lambda: {"tags": 3},
    "tags object": lambda: {"tags": object()},
    "packages bad bool": lambda: {"packages": BadBool()},
    "tags bad bool": lambda: {"tags": BadBool()},
    "str raises": lambda: {"title": Boom()},
    "str raises in packages": lambda: {"packages": ["ok", Boom()]},
    "str raises in a package's title": lambda: {"packages": [{"title": Boom()}]},
    "str raises in tags": lambda: {"tags": ["ok", Boom()]},
    "generator raises": lambda: {"packages": (1 / 0 for _ in range(1))},
    "a package's get raises": lambda: {"packages": [_RaisingMapping()]},
    "listing get raises": lambda: _RaisingMapping(),
    "unhashable in a spoofed get": lambda: {"packages": [_NoGetMapping()]},
    "str returns a non-str": lambda: {"title": _BadStr()},
}


class _RaisingMapping(Mapping):
    def __getitem__(self, key):
        raise KeyError(key)

    def get(self, key, default=None):
        raise PermissionError(key)

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0


class _NoGetMapping:
    """Registered as a Mapping without having a get: the Python code's pkg.get raises AttributeError."""


Mapping.register(_NoGetMapping)


class _BadStr:
    def __str__(self):
        return 5


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_raises_the_same(compiled, name):
    outcome = same(compiled, BAD_INPUTS[name])
    assert outcome[0] == "raised"


# --- fuzz ---------------------------------------------------------------------------------------------------

_ALPHABET = ["a", "b", "Z", "é", "ß", "ж", "日", "😀", "\U0010ffff", "\ud800", "\udfff", " ", "\t", "\n", "\xa0",
             "\u3000", "\u2028", "\x00", "\u200b", "\x1c", "\x85", "5", "."]


def _random_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return ""
    if roll < 0.15:
        return "".join(rng.choice(" \t\n\xa0\u3000\x85\u2029") for _ in range(rng.randint(1, 6)))
    if roll < 0.17:
        return rng.choice(" x") * rng.randint(MAX_FIELD_CHARS - 2, MAX_FIELD_CHARS + 2) + rng.choice(["", "y", " "])
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 30)))


def _random_value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if roll < 0.6:
        return _random_text(rng)
    if roll < 0.7:
        return None
    if roll < 0.75:
        return rng.choice([0, 1, -7, 2 ** 70, 0.5, float("inf"), True, False])
    if roll < 0.8:
        return StrSub(_random_text(rng))
    if roll < 0.83:
        return LoudStr(_random_text(rng))
    if roll < 0.86:
        return Weird()
    if roll < 0.9 and depth < 1:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if roll < 0.93:
        return SubFromStr(_random_text(rng))
    return _random_text(rng)


def _random_item(rng: random.Random, keys: tuple[str, str]):
    roll = rng.random()
    if roll < 0.55:
        return {k: _random_value(rng) for k in keys if rng.random() < 0.8}
    if roll < 0.65:
        kind = rng.choice([OrderedDict, ReadOnly, MappingProxyType, UserDict, GetOverride])
        return kind({k: _random_value(rng) for k in keys if rng.random() < 0.8})
    return _random_value(rng)


def _random_sequence(rng: random.Random, make, n_max: int):
    items = [make() for _ in range(rng.randint(0, n_max))]
    kind = rng.random()
    if kind < 0.6:
        return items
    if kind < 0.75:
        return tuple(items)
    if kind < 0.85:
        return lambda: (x for x in items)  # made into a generator per call
    if kind < 0.9:
        return None
    if kind < 0.95:
        return rng.choice([[], (), "", 0])
    return items[0] if items else "single"


def _random_listing(rng: random.Random) -> dict:
    n_max = rng.choice([3, 8, 60, MAX_FIELDS + 20])
    listing = {}
    for key in ("title", "description"):
        if rng.random() < 0.9:
            listing[key] = _random_value(rng)
    if rng.random() < 0.8:
        listing["packages"] = _random_sequence(rng, lambda: _random_item(rng, ("title", "description")), n_max)
    if rng.random() < 0.6:
        listing["faq"] = _random_sequence(rng, lambda: _random_item(rng, ("question", "answer")), n_max // 2)
    if rng.random() < 0.8:
        listing["tags"] = _random_sequence(rng, lambda: _random_value(rng), n_max)
    if rng.random() < 0.1:
        listing["other"] = _random_value(rng)
    return listing


def _materialize(listing: dict) -> dict:
    return {k: (v() if callable(v) else v) for k, v in listing.items()}


def test_fuzz(compiled):
    rng = random.Random(20240611)
    kinds = [dict, dict, dict, OrderedDict, ReadOnly, GetOverride]
    raised = 0
    for _ in range(3000):
        listing = _random_listing(rng)
        kind = rng.choice(kinds)
        raised += same(compiled, lambda: kind(_materialize(listing)))[0] == "raised"
    assert raised < 100  # a number where a sequence is wanted raises TypeError in both; most listings are fine
