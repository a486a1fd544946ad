"""The rule-set file format: the default parses; mistakes are reported clearly and all at once."""

from __future__ import annotations

import json
import tomllib

import pytest

from compliance.rules import (
    Decision,
    RuleSetError,
    default_rule_set,
    parse_rule_set,
    rule_set_from_json,
    rule_set_from_toml,
)
from compliance.rules.kinds import RULE_TYPES
from compliance.rules.ruleset import DEFAULT_RULES_PATH

MINIMAL = """
name = "t"
base_currency = "USD"
[[rules]]
id = "big"
type = "amount_threshold"
decision = "review"
score = 10
params = { amount = "1000.00" }
"""


def test_default_rule_set_covers_every_rule_type_with_a_source() -> None:
    rs = default_rule_set()
    assert rs.base_currency == "USD"
    assert {r.type for r in rs.rules} == set(RULE_TYPES)
    for rule in rs.rules:
        assert rule.source.strip(), rule.id
        assert rule.description.strip(), rule.id
    orders = [(r.order, r.id) for r in rs.rules]
    assert orders == sorted(orders)
    assert rs.rule("amount.us_ctr").logic.threshold.base == 1_000_000  # USD 10,000.00 in cents
    assert rs.rule("travel_rule.cross_border").logic.threshold.by_currency == {
        "EUR": 100_000,
        "USD": 100_000,
    }
    assert rs.rule("amount.us_recordkeeping").logic.threshold.base == 300_000


def test_default_file_is_valid_toml_with_documented_header() -> None:
    text = DEFAULT_RULES_PATH.read_text()
    assert text.startswith("# ")
    assert tomllib.loads(text)["name"] == "corridor-default"


def test_checksum_ignores_formatting_and_json_round_trips() -> None:
    rs = default_rule_set()
    again = rule_set_from_json(json.dumps(rs.to_dict(), indent=2))
    assert again.checksum == rs.checksum
    assert again == rs
    reordered = dict(reversed(list(rs.to_dict().items())))
    assert parse_rule_set(reordered).checksum == rs.checksum


def test_checksum_changes_with_any_parameter() -> None:
    body = default_rule_set().to_dict()
    base = parse_rule_set(body).checksum
    body["rules"][0]["params"]["block_at"] = 0.96
    assert parse_rule_set(body).checksum != base


def test_minimal_rule_set_and_defaults() -> None:
    rs = rule_set_from_toml(MINIMAL)
    (rule,) = rs.rules
    assert (rule.enabled, rule.order, rule.decision, rule.score) == (True, 0, Decision.REVIEW, 10)
    assert rs.review_score is None and rs.block_score is None


def _problems(text: str) -> list[str]:
    with pytest.raises(RuleSetError) as info:
        rule_set_from_toml(text)
    return [str(p) for p in info.value.problems]


def test_not_toml_says_where() -> None:
    (problem,) = _problems('name = "x"\nbase_currency = USD\n')
    assert problem.startswith("not valid TOML")
    assert "line" in problem


def test_not_json_says_so() -> None:
    with pytest.raises(RuleSetError, match="not valid JSON"):
        rule_set_from_json("{nope")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ('type = "amount_threshold"\nparams = { amount = "1000.00" }', "rules[0].id: is required"),
        ('id = "x"\ntype = "amount_limit"', "rules[0].type: 'amount_limit' is not a rule type"),
        (
            'id = "x"\ntype = "amount_threshold"\ndecision = "deny"\nparams = { amount = "1" }',
            "rules[0].decision: 'deny' is not allow, review or block",
        ),
        (
            'id = "x"\ntype = "amount_threshold"\nparams = { amount = 1000.50 }',
            "rules[0].params.amount: write amounts as a string or an integer",
        ),
        (
            'id = "x"\ntype = "amount_threshold"\nparams = { amount = "10.001" }',
            "rules[0].params.amount: 10.001 USD has more decimals",
        ),
        ('id = "x"\ntype = "amount_threshold"\nparams = {}', "rules[0].params.amount: is required"),
        (
            'id = "x"\ntype = "velocity"\n'
            'params = { key = "card", window = "5 fortnights", max_count = 3 }',
            "rules[0].params.window: '5 fortnights' is not a duration",
        ),
        (
            'id = "x"\ntype = "velocity"\n'
            'params = { key = "cardholder", window = "1h", max_count = 3 }',
            "rules[0].params.key: 'cardholder' is not one of payer, card, email, ip, account",
        ),
        (
            'id = "x"\ntype = "velocity"\nparams = { key = "card", window = "1h", max_cuont = 3 }',
            "rules[0].params.max_cuont: is not a parameter of this rule type",
        ),
        (
            'id = "x"\ntype = "velocity"\nparams = { key = "card", window = "1h" }',
            "rules[0].params: give max_count, max_amount or both",
        ),
        (
            'id = "x"\ntype = "structuring"\n'
            'params = { window = "1d", threshold = "100", floor = "200" }',
            "rules[0].params.floor: must be below threshold",
        ),
        (
            'id = "x"\ntype = "country_list"\nparams = { countries = ["ZZ"] }',
            "rules[0].params.countries: country 'ZZ' is not an ISO 3166-1 alpha-2 country code",
        ),
        ('id = "x"\ntype = "country_list"\nparams = {}', "rules[0].params: give either list"),
        (
            'id = "x"\ntype = "sanctions"\nparams = { block_at = 1.5 }',
            "rules[0].params.block_at: 1.5 is not a number between 0 and 1",
        ),
        (
            'id = "x"\ntype = "sanctions"\nparams = { block_at = 0.8, review_at = 0.9 }',
            "rules[0].params.review_at: must not be above block_at",
        ),
        (
            'id = "x"\ntype = "amount_threshold"\nscore = -5\nparams = { amount = "1" }',
            "rules[0].score: -5 is not a whole number >= 0",
        ),
        (
            'id = "x"\ntype = "amount_threshold"\nenabled = "yes"\nparams = { amount = "1" }',
            "rules[0].enabled: 'yes' is not true or false",
        ),
        (
            'id = "x"\ntype = "amount_threshold"\nthreshold = 5\nparams = { amount = "1" }',
            "rules[0].threshold: unknown field",
        ),
        (
            'id = "x"\ntype = "refund_ratio"\nparams = { window = "30d" }',
            "rules[0].params.max_ratio_percent: is required",
        ),
        (
            'id = "x"\ntype = "amount_threshold"\n'
            'params = { amount = "1", currencies = { EUX = "5" } }',
            "rules[0].params.currencies.EUX: EUX is not an ISO 4217 currency code",
        ),
    ],
)
def test_rule_errors_name_the_field(rule: str, expected: str) -> None:
    problems = _problems(f'name = "t"\nbase_currency = "USD"\n[[rules]]\n{rule}\n')
    assert any(p.startswith(expected) for p in problems), problems


def test_all_problems_reported_at_once() -> None:
    problems = _problems(
        'name = ""\nbase_currency = "USD"\nbogus = 1\n[scoring]\nreview_at = 50\nblock_at = 10\n'
        '[[rules]]\nid = "a"\ntype = "nope"\n'
        '[[rules]]\nid = "b"\ntype = "amount_threshold"\nparams = { amount = 1.5 }\n'
        '[[rules]]\nid = "b"\ntype = "amount_threshold"\nparams = { amount = "2" }\n'
        '[[rules]]\nid = "b"\ntype = "amount_threshold"\nparams = { amount = "3" }\n'
    )
    joined = "\n".join(problems)
    for fragment in (
        "bogus: unknown field",
        "name: is required",
        "scoring.review_at: must not be above",
        "rules[0].type",
        "rules[1].params.amount",
        "rules[3].id: 'b' is used twice",
    ):
        assert fragment in joined


def test_base_currency_is_required_and_validated() -> None:
    with pytest.raises(RuleSetError, match="base_currency: is required"):
        rule_set_from_toml(
            'name = "t"\nbase_currency = "DOLLARS"\n[[rules]]\nid="a"\ntype="sanctions"\n'
        )


def test_amounts_follow_the_base_currency_exponent() -> None:
    text = MINIMAL.replace('"USD"', '"JPY"').replace('"1000.00"', '"150000"')
    (rule,) = rule_set_from_toml(text).rules
    assert rule.logic.threshold.base == 150_000
    with pytest.raises(RuleSetError, match="more decimals"):
        rule_set_from_toml(MINIMAL.replace('"USD"', '"JPY"').replace('"1000.00"', '"1000.50"'))


def test_empty_rules_refused() -> None:
    with pytest.raises(RuleSetError, match="rules: must be a non-empty list"):
        parse_rule_set({"name": "t", "base_currency": "USD", "rules": []})
