"""The issue's story, end to end: a payer in Japan pays 12,000 JPY to a German merchant
settling in EUR; T+2 settlement minus a 10 % reserve; a pain.001 payout the bank pays;
every minor unit accounted for."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib import resources

import pytest
import xmlschema
from lxml import etree

from core.database import Database
from settlement.balance_transactions import BalanceTransaction, render
from settlement.fees import FeeSchedule, save_fee_schedule
from settlement.fx.residuals import lock_residual
from settlement.ledger import Ledger
from settlement.payouts import answer_payout, create_payout, payout_bank_file
from settlement.runs import release_due_reserves, run_settlement, settlement_report
from settlement.schedule import cut_off
from tests.settlement.settlement_world import (
    assert_books_agree,
    balances,
    capture,
    ledger_verified,  # noqa: F401  (fixture)
    make_bank,
    make_keyring,
    merchant,
)

pytestmark = pytest.mark.usefixtures("ledger_verified")

SUNDAY = dt.datetime(2024, 6, 16, 10, 0, tzinfo=dt.UTC)  # ECB fixing in force: 167.8 JPY/EUR
STORY_FEES = {"percent_ppm": 29_000, "fixed": {"EUR": 30}, "cross_border_ppm": 10_000}


def test_japanese_payer_german_merchant_settled_reserved_and_paid_out(db: Database) -> None:
    keyring = make_keyring()
    bank = make_bank(keyring)
    with db.transaction() as session:
        account = merchant(session, keyring, settings={"reserve": {"percent": 10, "days": 90}})
        save_fee_schedule(session, FeeSchedule(owner=account.id, **STORY_FEES))
        row = capture(session, account, 12_000, currency="JPY", card_country="JP", at=SUNDAY)
        account_id = account.id
        shown = render(row)
        # 12,000 JPY / 167.8 = 71.5137... EUR -> 71.51 (half-even); 2.9 % + 0.30 = 2.37;
        # 1 % cross-border = 0.72 (half up); net 68.42.
        assert (shown["amount"], shown["fee"], shown["net"]) == (7_151, 309, 6_842)
        assert Decimal(row.exchange_rate) == Decimal("0.00595947556615018")
        assert [(f["type"], f["amount"]) for f in shown["fee_details"]] == [
            ("corridor_fee", 237),
            ("cross_border_fee", 72),
        ]
        assert row.available_on == cut_off(dt.date(2024, 6, 18))  # T+2

    run = run_settlement(db, account_id, "EUR", cut_off(dt.date(2024, 6, 18)))
    assert (run.net, run.reserved, run.available) == (6_842, 684, 6_158)
    with db.transaction(write=False) as session:
        [payment] = [r for r in settlement_report(session, run.id) if r["type"] == "charge"]
        assert (payment["presentment_amount"], payment["presentment_currency"]) == (12_000, "jpy")
        assert payment["exchange_rate"] == "0.00595947556615018"

    paid_at = dt.datetime(2024, 6, 18, 9, 0, tzinfo=dt.UTC)
    with db.transaction() as session:
        payout = create_payout(session, account_id, amount=6_158, bank=bank, now=paid_at)
        file = payout_bank_file(session, payout, keyring)
        payout_id = payout.id
    path = resources.files("sepaxml").joinpath("schemas", "pain.001.001.03.xsd")
    with resources.as_file(path) as xsd:
        xmlschema.XMLSchema(str(xsd)).validate(etree.fromstring(file.content))
    assert b'<InstdAmt Ccy="EUR">61.58</InstdAmt>' in file.content

    with db.transaction() as session:
        answer_payout(session, payout_id, "paid")
    with db.transaction() as session:
        ledger = Ledger(session)

        def posted(owner: str, purpose: str, currency: str) -> int:
            return ledger.balance(ledger.account(owner, purpose, currency).id).posted

        # JPY: the payer's 12,000 JPY sit in clearing against the platform's FX position.
        assert posted("platform", "psp_clearing", "JPY") == 12_000
        assert posted("platform", "fx_position", "JPY") == -12_000
        # EUR: the converted 71.51 EUR split to the minor unit.
        assert posted("platform", "fx_position", "EUR") == 7_151
        assert posted("platform", "platform_fees", "EUR") == 309
        assert posted(account_id, "merchant_reserve", "EUR") == 684
        assert posted(account_id, "merchant_available", "EUR") == 0
        assert posted(account_id, "merchant_pending", "EUR") == 0
        assert posted("platform", "payouts_in_transit", "EUR") == 0
        assert posted("platform", "bank", "EUR") == -6_158
        assert 309 + 684 + 6_158 == 7_151
        # The sub-cent remainder (0.3707 of a cent) is carried, not lost.
        assert lock_residual(session, "EUR") == Decimal("0.370679380216")
        assert_books_agree(session, account_id)

    release = cut_off(dt.date(2024, 6, 18)) + dt.timedelta(days=90)
    with db.transaction() as session:
        assert release_due_reserves(session, release) == 1
        assert balances(session, account_id)["available"] == 684
        assert_books_agree(session, account_id)
        kinds = sorted(
            r.type for r in session.query(BalanceTransaction).filter_by(account_id=account_id).all()
        )
        assert kinds == ["charge", "payout", "reserve_hold", "reserve_release"]
