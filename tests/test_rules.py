"""Rule data: every file loads, every rule carries its fields, every embedded example behaves."""
import pytest
from click.testing import CliRunner

from crawler.flagging import CATEGORIES, get_flagger
from crawler.flagging.commands import example_listing, rules, run_examples
from crawler.flagging.rules import load_rule_data

RULES = load_rule_data().rules


def test_rules_load_with_required_fields():
    assert len(RULES) >= 10
    for r in RULES:
        assert r.id and r.version >= 1 and r.title and r.category in CATEGORIES
        assert 0 < r.severity <= 1 and r.legal and r.explanation
        assert r.examples["match"], f"{r.id} has no match examples"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_examples(rule):
    flagger = get_flagger()
    for example in rule.examples["match"]:
        ids = {f.rule_id for f in flagger.judge(example_listing(example)).flags}
        assert rule.id in ids, f"{rule.id} missed {example!r}"
    for example in rule.examples["no_match"]:
        ids = {f.rule_id for f in flagger.judge(example_listing(example)).flags}
        assert rule.id not in ids, f"{rule.id} fired on {example!r}"


def test_run_examples_has_no_failures():
    assert run_examples(get_flagger()) == []


def test_rules_test_command_passes():
    result = CliRunner().invoke(rules, ["test"])
    assert result.exit_code == 0, result.output
    assert "ok:" in result.output


def test_rules_list_command():
    result = CliRunner().invoke(rules, ["list"])
    assert result.exit_code == 0
    assert "FAB-OFFER-REVIEWS" in result.output and "severity" in result.output


def test_rules_test_command_fails_on_bad_example(monkeypatch):
    from crawler.flagging import commands
    monkeypatch.setattr(commands, "run_examples", lambda flagger=None: ["X@1 did not fire on match example: \"x\""])
    result = CliRunner().invoke(rules, ["test"])
    assert result.exit_code != 0
    assert "FAIL X@1" in result.output


def test_legal_anchors_follow_the_guide():
    by_cat = {r.category: set(r.legal) for r in RULES}
    assert "FTC 16 CFR 465.2" in by_cat["review_fabrication"]
    assert "FTC 16 CFR 465.4" in by_cat["incentivized_reviews"]
    assert "FTC 16 CFR 465.7" in by_cat["review_suppression"]
    assert by_cat["fake_engagement"] == {"FTC 16 CFR 465.8"}
