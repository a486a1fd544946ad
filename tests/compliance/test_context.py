"""The payment context: validation, base-currency conversion and its stored form."""

from __future__ import annotations

import datetime as dt

import pytest

from compliance.rules import (
    ContextError,
    Party,
    PaymentContext,
    build_context,
    evaluate,
    parse_rule_set,
)
from core.money import AmountError, CurrencyError

T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def _ctx(**kw) -> PaymentContext:
    values = {
        "ref": "pi_1",
        "amount": 1000,
        "currency": "USD",
        "base_amount": 1000,
        "base_currency": "USD",
        "occurred_at": T0,
    }
    values.update(kw)
    return PaymentContext(**values)


def test_build_context_converts_with_the_callers_rate() -> None:
    # The caller owns FX; here 1 EUR = 1.0850 USD, rounded half-up to the cent by the caller.
    def to_usd(amount: int, currency: str) -> int:
        assert currency == "EUR"
        return (amount * 10850 + 5000) // 10000

    ctx = build_context(
        ref="pi_1",
        amount=99_999,
        currency="eur",
        base_currency="USD",
        to_base=to_usd,
        occurred_at=T0,
    )
    assert (ctx.currency, ctx.base_amount) == ("EUR", 108_499)
    same = build_context(
        ref="pi_2", amount=500, currency="USD", base_currency="USD", occurred_at=T0
    )
    assert same.base_amount == 500
    with pytest.raises(ContextError, match="pass base_amount or to_base"):
        build_context(ref="pi_3", amount=500, currency="JPY", base_currency="USD", occurred_at=T0)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"amount": 10.5}, AmountError, "integer number of minor units"),
        ({"amount": -1, "base_amount": -1}, ContextError, "must not be negative"),
        ({"currency": "XYZ"}, CurrencyError, "ISO 4217"),
        ({"occurred_at": dt.datetime(2026, 1, 1)}, ContextError, "timezone-aware"),
        ({"card_country": "UK"}, ContextError, "'UK' is not an ISO 3166-1"),
        ({"base_amount": 999}, ContextError, "base_amount differs"),
        ({"object_type": "charge"}, ContextError, "object_type"),
        ({"ref": ""}, ContextError, "needs the id"),
        ({"payer": None}, ContextError, "payer must be a Party"),
        ({"beneficiary": {"name": "x"}}, ContextError, "beneficiary must be a Party"),
    ],
)
def test_invalid_contexts_are_refused(change, error, message) -> None:
    with pytest.raises(error, match=message):
        _ctx(**change)


def test_party_validation_and_normalisation() -> None:
    party = Party(name="  ", country="de", region="ua-43", account="")
    assert (party.name, party.country, party.region, party.account) == (None, "DE", "UA-43", None)
    assert Party(country="XK").country == "XK"  # Kosovo, as card networks use it
    with pytest.raises(ContextError, match="ISO 3166-2"):
        Party(region="UA-99")
    with pytest.raises(ContextError, match="party kind"):
        Party(kind="vessel")


def test_context_round_trips_through_its_stored_form() -> None:
    ctx = _ctx(
        payer=Party(name="Анна Иванова", country="RU", date_of_birth=dt.date(1980, 2, 29)),
        beneficiary=Party(name="ACME GmbH", kind="entity", account="DE89", address="Berlin"),
        ip="2001:db8::1",
        ip_country="DE",
        cross_border=True,
        method="sepa_credit_transfer",
    )
    assert PaymentContext.from_dict(ctx.to_dict()) == ctx


def test_reasons_include_the_score_threshold() -> None:
    rs = parse_rule_set(
        {
            "name": "t",
            "base_currency": "USD",
            "scoring": {"review_at": 5},
            "rules": [
                {
                    "id": "a",
                    "type": "amount_threshold",
                    "decision": "allow",
                    "score": 5,
                    "params": {"amount": "1.00"},
                }
            ],
        }
    )
    result = evaluate(rs, _ctx())
    assert result.reasons == [
        "amount 10.00 USD >= 1.00 USD",
        "total score 5 reached the review threshold",
    ]
    assert result.to_dict()["rule_set"]["checksum"] == rs.checksum
