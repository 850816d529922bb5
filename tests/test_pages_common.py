"""Embedded JSON (crawler/pages/common.py): the two-search lookup finds exactly what the one regex found."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from parsel import Selector

from crawler.pages.common import _script_text, embedded_json
from tests.conftest import FIXTURES, wrap_props

PROPS = "perseus-initial-props"


def _one_regex(html: str, script_id: str) -> str | None:
    """The lookup as a single regex (the reference the two searches must agree with): a script start tag
    whose id attribute (a whole attribute, after HTML whitespace) has exactly the value script_id."""
    ws, value = r"[\t\n\f\r ]", re.escape(script_id)
    match = re.compile(rf"<(?i:script)(?=[\t\n\f\r />])[^>]*?{ws}(?i:id){ws}*={ws}*"
                       rf"(?:\"{value}\"|'{value}'|{value}(?=[\t\n\f\r >]))[^>]*>(.*?)<(?i:/script)",
                       re.S).search(html)
    return match.group(1) if match else None


PIECES = [
    '<script id="perseus-initial-props">{"a": 1}</script>', "<SCRIPT ID=perseus-initial-props>{\"b\": 2}</Script >",
    "<script type='application/json' id = 'perseus-initial-props' data-x=\"1\">{\"c\": 3}</script>",
    '<script data-id="perseus-initial-props">{"d": 4}</script>', '<script id="perseus-initial-props-2">{"e": 5}</script>',
    '<script id="perseus-initial-props">{"f": 6}', "</script>", "</SCRIPT>", "<scripts id=perseus-initial-props>x",
    '<script src="a.js"></script>', "<p>caf\u00e9 &lt;script&gt;</p>", "<script\nid=perseus-initial-props\n>{}</script>",
    "<script id=PERSEUS-INITIAL-PROPS>{\"g\": 7}</script>", "<script id=perseus-initial-props></script>", "<",
    "<script id='perseus-initial-props-old'>{\"h\": 8}</script>", "<script id=perseus-initial-props/>{\"i\": 9}</script>",
    "<script-x id=perseus-initial-props>{\"j\": 10}</script>", "<script\xa0id=perseus-initial-props>{\"k\": 11}</script>",
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


def _parsel(html: str) -> dict | None:
    """What the HTML parser reads from script#PROPS: the answer embedded_json must give."""
    raw = Selector(text=html).css(f"script#{PROPS}::text").get()
    return None if raw is None else json.loads(raw)


REAL = '<script id="perseus-initial-props">{"real": true}</script>'


@pytest.mark.parametrize("decoy", [
    '<script data-id="perseus-initial-props">{"decoy": "data-id"}</script>',
    "<script data-id=perseus-initial-props>{\"decoy\": \"data-id unquoted\"}</script>",
    '<script type="application/json" x-id="perseus-initial-props">{"decoy": "x-id"}</script>',
    '<script id="perseus-initial-props-old">{"decoy": "-old"}</script>',
    "<script id='perseus-initial-props-old'>{\"decoy\": \"-old single\"}</script>",
    "<script id=perseus-initial-props-old>{\"decoy\": \"-old unquoted\"}</script>",
    "<script id=perseus-initial-props/>{\"decoy\": \"unquoted value takes the /\"}</script>",
    "<script id=perseus-initial-props/ >{\"decoy\": \"unquoted value takes the / before a space\"}</script>",
    '<script id="old-perseus-initial-props">{"decoy": "prefix"}</script>',
    '<script id="PERSEUS-INITIAL-PROPS">{"decoy": "upper case"}</script>',
    '<script-x id="perseus-initial-props">{"decoy": "other tag"}</script-x>',
    '<script\xa0id="perseus-initial-props">{"decoy": "not HTML whitespace"}</script>',
])
def test_decoy_before_the_real_script_is_skipped(decoy):
    html = f"<html><head>{decoy}{REAL}</head><body></body></html>"
    assert _parsel(html) == {"real": True}
    assert _script_text(html, PROPS) == '{"real": true}'
    assert embedded_json(html, PROPS) == _parsel(html) == {"real": True}


@pytest.mark.parametrize("real", [
    '<script id="perseus-initial-props">{"real": 1}</script>',
    "<script id='perseus-initial-props'>{\"real\": 2}</script>",
    "<script id=perseus-initial-props>{\"real\": 3}</script>",
    "<script type='application/json' id=perseus-initial-props data-x=\"1\">{\"real\": 4}</script>",
    "<script id=perseus-initial-props >{\"real\": 5}</script>",
    "<SCRIPT\tID = 'perseus-initial-props'\n>{\"real\": 6}</script>",
    '<script data-id="x" id="perseus-initial-props">{"real": 7}</script>',
])
def test_quoted_single_quoted_and_unquoted_ids_after_decoys(real):
    decoys = ('<script data-id="perseus-initial-props">{"decoy": 1}</script>'
              "<script id='perseus-initial-props-old'>{\"decoy\": 2}</script>"
              "<script id=perseus-initial-props-old>{\"decoy\": 3}</script>")
    html = f"<html><head>{decoys}{real}</head></html>"
    expected = _parsel(html)
    assert expected is not None and "real" in expected
    assert _script_text(html, PROPS) is not None
    assert embedded_json(html, PROPS) == expected
