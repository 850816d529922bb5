"""Embedded JSON (crawler/pages/common.py): the two-search lookup finds exactly what the one regex found."""

from __future__ import annotations

import itertools
import re

import pytest

from crawler.pages.common import _script_text, embedded_json
from tests.conftest import FIXTURES, wrap_props

PROPS = "perseus-initial-props"


def _one_regex(html: str, script_id: str) -> str | None:
    """The lookup as a single regex (the reference the two searches must agree with)."""
    match = re.compile(r"<script\b[^>]*\bid\s*=\s*[\"']?" + re.escape(script_id) + r"[\"']?[^>]*>(.*?)</script",
                       re.S | re.I).search(html)
    return match.group(1) if match else None


PIECES = [
    '<script id="perseus-initial-props">{"a": 1}</script>', "<SCRIPT ID=perseus-initial-props>{\"b\": 2}</Script >",
    "<script type='application/json' id = 'perseus-initial-props' data-x=\"1\">{\"c\": 3}</script>",
    '<script data-id="perseus-initial-props">{"d": 4}</script>', '<script id="perseus-initial-props-2">{"e": 5}</script>',
    '<script id="perseus-initial-props">{"f": 6}', "</script>", "</SCRIPT>", "<scripts id=perseus-initial-props>x",
    '<script src="a.js"></script>', "<p>caf\u00e9 &lt;script&gt;</p>", "<script\nid=perseus-initial-props\n>{}</script>",
    "<script id=PERSEUS-INITIAL-PROPS>{\"g\": 7}</script>", "<script id=perseus-initial-props></script>", "<",
]


def _pages() -> list[str]:
    pages = ["".join(p) for p in itertools.permutations(PIECES, 2)]
    pages += ["".join(p) for p in itertools.combinations(PIECES, 3)]
    pages += [path.read_text(encoding="utf-8") for path in FIXTURES.glob("*/*.html")]
    pages.append(wrap_props({"items": [{"gigId": 1, "title": "</scr" + "ipt> inside?"}]}))
    return pages


def test_two_searches_find_what_the_one_regex_found():
    pages = _pages()
    assert len(pages) > 500
    found = 0
    for html in pages:
        for script_id in (PROPS, "__NEXT_DATA__"):
            assert _script_text(html, script_id) == _one_regex(html, script_id), html[:300]
            found += _script_text(html, script_id) is not None
    assert found > 100


@pytest.mark.parametrize("html, expected", [
    ('<script id="perseus-initial-props">{"a": 1}</script>', {"a": 1}),
    ('<script id="perseus-initial-props">{"a": 1}', {"a": 1}),  # no end tag: the HTML parser still reads it
    ('<script id="perseus-initial-props"></script>', None),
    ('<script id="perseus-initial-props">[1, 2]</script>', None),
    ('<script id="perseus-initial-props">{broken</script>', None),
    ("<p>no script</p>", None),
])
def test_embedded_json_answers(html, expected):
    assert embedded_json(html, PROPS) == expected
