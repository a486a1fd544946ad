"""What the console's pages are tested on: real payments, a real hold, real settlement.

Payments are made through the JSON API (``post`` is any ``(path, key, form) -> dict``
caller, the TestClient's or a live server's); the hold comes from the compliance wiring
(``api.compliance_wiring``: sanctions screening against the EU list sample and the
default rule set), the money behind payouts from settlement's own booking, settlement
run and payout service, and the bank statement is an ISO 20022 camt.053 file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.compliance_wiring import check_payment, install, uninstall
from compliance.sanctions import load_list
from core.accounts import Account
from core.database import Database, utcnow
from core.keyring import Keyring
from core.settings import get_settings
from payments import preauthorisation
from settlement.payouts import PayoutBank, create_payout, set_external_account
from settlement.reconciliation import install_payouts_link
from settlement.reconciliation.expected import providers
from settlement.runs import run_settlement
from tests.reconciliation.statement_files import Entry, camt053
from tests.settlement.settlement_world import MERCHANT_IBAN, capture

EU_SAMPLE = Path(__file__).resolve().parents[1] / "sanctions" / "data" / "eu_fsf_sample.csv"
HELD_PAYER = {
    "name": "Ahmed Ibrahim Al Hamdani",
    "country": "DE",
    "date_of_birth": "1985-03-01",
    "email": "ahmed.hamdani@example.com",
}
"""Screens as a probable (not certain) match of EU entry 9002: the rules hold it."""
LISTED_ENTRY = "9002"
CLEAN_PAYER = {"name": "Hana Sato", "country": "JP", "email": "hana@example.jp"}

Post = Callable[[str, str, dict[str, Any]], dict[str, Any]]


@contextmanager
def compliance_wired() -> Iterator[None]:
    """The compliance checks in the money flow (installed by the app once it does so)."""
    already = preauthorisation.installed() is check_payment
    if not already:
        install()
    try:
        yield
    finally:
        if not already:
            uninstall()


@contextmanager
def payouts_expected() -> Iterator[None]:
    """Payouts as expected items of bank statements (reconciliation's link)."""
    undo = None if "payouts" in providers() else install_payouts_link()
    try:
        yield
    finally:
        if undo is not None:
            undo()


def load_eu_list(db: Database) -> str:
    """The EU list sample as the active ``eu`` snapshot (no re-screen job: on a shared
    service that would open cases for other tests' payers)."""
    with db.transaction() as session:
        return load_list(session, EU_SAMPLE, "eu").snapshot_id


def payment(
    post: Post,
    key: str,
    *,
    amount: int,
    currency: str = "eur",
    capture_method: str = "automatic",
    payer: dict[str, str] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """A card payment made and confirmed through ``/v1/payment_intents``."""
    form: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "payment_method": "pm_card_visa",
        "confirm": "true",
        "capture_method": capture_method,
    }
    if description:
        form["description"] = description
    for name, value in (payer or {}).items():
        form[f"payer[{name}]"] = value
    return post("/v1/payment_intents", key, form)


@dataclass(frozen=True)
class Settled:
    run_id: str
    payout_id: str
    payout_amount: int


def settle_and_pay_out(db: Database, account_id: str, *, captured: int, payout: int) -> Settled:
    """Book a past capture, settle it, and pay part of it out (sent with its bank file)."""
    keyring = Keyring.from_settings(get_settings())
    with db.transaction() as session:
        account = session.get(Account, account_id)
        assert account is not None
        set_external_account(
            session,
            account,
            keyring,
            country="DE",
            currency="EUR",
            account_number=MERCHANT_IBAN,
            account_holder_name=account.business_name,
        )
        capture(session, account, captured, at=utcnow() - dt.timedelta(days=10))
    run = run_settlement(db, account_id, "EUR", utcnow())
    with db.transaction() as session:
        sent = create_payout(
            session, account_id, amount=payout, bank=PayoutBank.from_settings(get_settings())
        )
        assert sent.status == "in_transit", sent.status
        return Settled(run.id, sent.id, sent.amount)


def bank_statement(payout_id: str, payout_amount: int, *, unknown: int, day: dt.date) -> bytes:
    """The platform's bank statement: the payout went out, and money nobody expected came in."""
    return camt053(
        [
            Entry(-payout_amount, day, e2e=payout_id.replace("_", "-"), name="Bäckerei Müller"),
            Entry(unknown, day, remittance="INVOICE 7781", name="Unknown Sender GmbH"),
        ],
        opening=1_000_000,
        day=day,
        statement_id=f"CONSOLE-{day.isoformat()}-{payout_id[-6:]}",
    )
