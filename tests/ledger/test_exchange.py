"""Cross-currency journals through the FX positions, with rate, quote and rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from settlement.ledger import (
    Exchange,
    Ledger,
    LedgerError,
    ResultCode,
    TransferSpec,
    check_exchange,
)


def jpy_to_eur(**changes) -> Exchange:
    # 12,000 JPY at 0.0061234 EUR/JPY = 73.4808 EUR: the merchant gets 73.48 (rounded
    # down); the position gives up 73.48 too (half-even), so no rounding leg.
    fields = {
        "id": "fx:pi_1",
        "reference": "pi_1",
        "source_account": "",
        "source_amount": 12_000,
        "source_currency": "JPY",
        "target_account": "",
        "target_amount": 7_348,
        "target_currency": "EUR",
        "rate": Decimal("0.0061234"),
        "quote_id": "fxq_1",
    }
    fields.update(changes)
    return Exchange(**fields)


def test_exchange_posts_balanced_legs_and_records_rate(books, db):
    clearing = books.account("platform", "psp_clearing", "JPY").id
    pending = books.account("acct_de", "merchant_pending", "EUR").id
    with db.transaction() as session:
        ledger = Ledger(session)
        results = ledger.exchange(
            jpy_to_eur(source_account=clearing, target_account=pending, rounding=1,
                       target_amount=7_347),
        )  # fmt: skip
        assert [r.id for r in results] == ["fx:pi_1:sell", "fx:pi_1:buy", "fx:pi_1:round"]
        assert all(r.code is ResultCode.OK for r in results)
        journal = ledger.journal(results[0].journal_id)
        assert journal is not None
        assert (journal.rate, journal.quote_id) == ("0.0061234", "fxq_1")
        assert journal.metadata["rounding"] == 1
        position_jpy = ledger.platform_account("fx_position", "JPY")
        position_eur = ledger.platform_account("fx_position", "EUR")
        rounding = ledger.platform_account("fx_rounding", "EUR")
        assert ledger.balance(position_jpy.id).posted == -12_000  # debit-normal: it received
        assert ledger.balance(position_eur.id).posted == 7_347 + 1  # it paid out
        assert ledger.balance(rounding.id).posted == 1
        assert ledger.balance(pending).posted == 7_347
        assert ledger.verify().ok


def test_exchange_loss_is_booked_the_other_way(books, db):
    src = books.adhoc("src_jpy", "JPY")
    dst = books.adhoc("dst_eur", "EUR")
    with db.transaction() as session:
        ledger = Ledger(session)
        # the customer is paid 73.49 (rounded up), the position is worth 73.48: -1 rounding
        results = ledger.exchange(
            jpy_to_eur(source_account=src, target_account=dst, target_amount=7_349, rounding=-1)
        )
        assert all(r.ok for r in results)
        rounding = ledger.platform_account("fx_rounding", "EUR")
        assert ledger.balance(rounding.id).posted == -1
        assert results[2].transfer is not None
        assert results[2].transfer.debit_account_id == rounding.id


def test_exchange_composes_with_other_legs_in_one_journal(books, db):
    clearing = books.account("platform", "psp_clearing", "JPY").id
    pending = books.account("acct_de", "merchant_pending", "EUR").id
    fees = books.account("platform", "platform_fees", "EUR").id
    with db.transaction() as session:
        ledger = Ledger(session)
        legs, header = ledger.exchange_legs(
            jpy_to_eur(source_account=clearing, target_account=pending)
        )
        fee = TransferSpec("fee:pi_1", pending, fees, 243, "EUR", "fee", "pi_1")
        results = ledger.post([*legs, fee], journal=header)
        assert len({r.journal_id for r in results}) == 1 and all(r.ok for r in results)
        assert ledger.balance(pending).posted == 7_348 - 243


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"target_amount": 7_346}, "fx_amounts_inconsistent"),
        ({"target_amount": 7_350}, "fx_amounts_inconsistent"),
        ({"target_currency": "JPY"}, "fx_same_currency"),
        ({"rate": Decimal("-1")}, "fx_rate_invalid"),
        ({"source_amount": 0}, "fx_amount_must_be_positive"),
    ],
)
def test_inconsistent_exchanges_are_refused(changes, code):
    with pytest.raises(LedgerError) as raised:
        check_exchange(jpy_to_eur(**changes))
    assert raised.value.code == code


def test_exchange_arithmetic_is_exact_for_three_decimal_currencies():
    # 1,000.000 BHD at 2.4419 EUR/BHD = 2,441.90 EUR exactly
    check_exchange(
        jpy_to_eur(
            source_currency="BHD",
            source_amount=1_000_000,
            target_amount=244_190,
            rate=Decimal("2.4419"),
        )
    )
    # near 2**63 nothing is lost: within one minor unit passes, beyond it does not
    huge = {"source_currency": "BHD", "source_amount": 3_000_000_000_000_000_001}
    rate = Decimal("2.4419")  # 3,000,000,000,000,000.001 BHD -> 7,325,700,000,000,000.0024419 EUR
    check_exchange(jpy_to_eur(**huge, target_amount=732_570_000_000_000_000, rate=rate))
    with pytest.raises(LedgerError):
        check_exchange(jpy_to_eur(**huge, target_amount=732_570_000_000_000_002, rate=rate))


def test_floats_are_refused():
    with pytest.raises(TypeError):
        jpy_to_eur(rate=0.0061234)
