"""Payouts on the ``db`` fixture: reserve, screen, send a validated pain.001, the bank's
answers (paid, failed, returned), cancel, refusals, concurrency, beneficiary accounts."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from importlib import resources

import pytest
import xmlschema
from lxml import etree
from sqlalchemy import select

from core.accounts import Account
from core.database import Database
from core.events import Event
from core.keyring import Keyring
from core.vault import VaultEntry
from settlement.balance_transactions import BalanceTransaction
from settlement.fees import FeeSchedule, save_fee_schedule
from settlement.ledger import Ledger
from settlement.payout_screening import (
    PayoutScreening,
    ScreeningDecision,
    ScreeningOutcome,
    set_payout_screener,
)
from settlement.payouts import (
    BankFileMissing,
    ExternalAccountError,
    PayoutBank,
    PayoutError,
    PayoutStateError,
    answer_payout,
    cancel_payout,
    create_payout,
    payout_bank_file,
    release_payout_review,
    render_external_account,
    render_payout,
    set_external_account,
)
from settlement.runs import run_settlement
from settlement.schedule import cut_off
from tests.settlement.settlement_world import (
    MERCHANT_IBAN,
    PLATFORM_IBAN,
    assert_books_agree,
    balances,
    capture,
    ledger_verified,  # noqa: F401  (fixture)
    make_bank,
    make_keyring,
    merchant,
)

pytestmark = pytest.mark.usefixtures("ledger_verified")

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
WEDNESDAY = cut_off(dt.date(2025, 3, 5))
SENT_AT = WEDNESDAY + dt.timedelta(hours=9)


@pytest.fixture(scope="module")
def official_xsd() -> xmlschema.XMLSchema:
    """An independent validator (xmlschema) over the ISO 20022 XSD that sepaxml ships."""
    path = resources.files("sepaxml").joinpath("schemas", "pain.001.001.03.xsd")
    with resources.as_file(path) as xsd:
        return xmlschema.XMLSchema(str(xsd))


@pytest.fixture
def keyring() -> Keyring:
    return make_keyring()


@pytest.fixture
def bank(keyring: Keyring) -> PayoutBank:
    return make_bank(keyring)


@pytest.fixture
def screener() -> Iterator[list[ScreeningDecision]]:
    """Decisions the installed screener hands out, in order (allow once they run out)."""
    decisions: list[ScreeningDecision] = []
    seen: list[PayoutScreening] = []

    def screen(_session: object, payout: PayoutScreening) -> ScreeningOutcome:
        seen.append(payout)
        decision = decisions.pop(0) if decisions else ScreeningDecision.ALLOW
        return ScreeningOutcome(decision, reference=f"case_for_{payout.payout_id}")

    set_payout_screener(screen)  # type: ignore[arg-type]
    yield decisions
    set_payout_screener(None)


def funded(
    db: Database,
    keyring: Keyring,
    amount: int = 10_000,
    *,
    settings: dict | None = None,
    payout_fee: int = 0,
) -> str:
    """A merchant with ``amount`` EUR settled and available (no reserve)."""
    with db.transaction() as session:
        account = merchant(session, keyring, settings=settings)
        if payout_fee:
            save_fee_schedule(
                session, FeeSchedule(owner=account.id, payout_fixed={"EUR": payout_fee})
            )
        capture(session, account, amount)
        account_id = account.id
    run_settlement(db, account_id, "EUR", WEDNESDAY)
    return account_id


def events_of(db: Database, object_id: str) -> list[str]:
    with db.transaction(write=False) as session:
        rows = session.scalars(
            select(Event).where(Event.object_id == object_id).order_by(Event.created, Event.id)
        )
        return [row.type for row in rows]


def test_payout_is_sent_with_a_valid_file_and_paid(
    db: Database, keyring: Keyring, bank: PayoutBank, official_xsd: xmlschema.XMLSchema
) -> None:
    account_id = funded(db, keyring)
    with db.transaction() as session:
        payout = create_payout(
            session,
            account_id,
            amount=7_500,
            statement_descriptor="CORRIDOR MÄRZ",
            metadata={"batch": "march"},
            bank=bank,
            now=SENT_AT,
        )
        payout_id = payout.id
        assert payout.status == "in_transit"
        assert payout.arrival_date == cut_off(dt.date(2025, 3, 6))
        assert balances(session, account_id)["spendable"] == 2_500
        assert_books_agree(session, account_id)
        shown = render_payout(payout)
        assert shown["destination"] == payout.destination["id"]
        assert (shown["amount"], shown["currency"], shown["status"]) == (7_500, "eur", "in_transit")
        assert shown["metadata"] == {"batch": "march"}

    with db.transaction(write=False) as session:
        payout = session.get(type(payout), payout_id)
        first = payout_bank_file(session, payout, keyring)
        again = payout_bank_file(session, payout, keyring)
    assert first.content == again.content  # regenerated byte for byte
    assert (first.scheme, first.message_id) == ("sepa", payout.bank_message_id)
    official_xsd.validate(etree.fromstring(first.content))
    root = etree.fromstring(first.content)
    transaction = root.find(".//p:CdtTrfTxInf", NS)
    assert transaction.findtext("p:PmtId/p:EndToEndId", namespaces=NS) == payout_id.replace(
        "_", "-"
    )
    assert transaction.findtext("p:Amt/p:InstdAmt", namespaces=NS) == "75.00"
    assert transaction.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) == MERCHANT_IBAN
    assert root.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == PLATFORM_IBAN
    assert transaction.findtext("p:RmtInf/p:Ustrd", namespaces=NS) == "CORRIDOR MARZ"
    assert root.findtext(".//p:ReqdExctnDt", namespaces=NS) == "2025-03-05"

    with db.transaction() as session:
        paid = answer_payout(session, payout_id, "paid")
        assert paid.status == "paid"
    with db.transaction() as session:
        assert answer_payout(session, payout_id, "paid").status == "paid"  # repeated: no-op
        ledger = Ledger(session)
        assert ledger.balance(ledger.platform_account("bank", "EUR").id).posted == -7_500
        in_transit = ledger.platform_account("payouts_in_transit", "EUR").id
        assert (ledger.balance(in_transit).posted, ledger.balance(in_transit).pending) == (0, 0)
        assert balances(session, account_id)["available"] == 2_500
        assert_books_agree(session, account_id)
    assert events_of(db, payout_id) == ["payout.created", "payout.updated", "payout.paid"]


def test_a_failed_payout_returns_the_money_to_available(
    db: Database, keyring: Keyring, bank: PayoutBank
) -> None:
    account_id = funded(db, keyring, payout_fee=25)
    with db.transaction() as session:
        payout = create_payout(session, account_id, amount=6_000, bank=bank, now=SENT_AT)
        payout_id = payout.id
        assert payout.fee == 25
        row = session.get(BalanceTransaction, payout.balance_transaction_id)
        assert (row.type, row.amount, row.fee, row.net) == ("payout", -6_000, 25, -6_025)
        assert balances(session, account_id)["spendable"] == 10_000 - 6_025
    with db.transaction() as session:
        failed = answer_payout(session, payout_id, "failed", failure_code="account_closed")
        assert (failed.status, failed.failure_code) == ("failed", "account_closed")
        assert failed.failure_message == "The bank account has been closed."
        back = session.get(BalanceTransaction, failed.failure_balance_transaction_id)
        assert (back.type, back.reporting_category) == ("payout_failure", "payout_reversal")
        assert (back.amount, back.fee, back.net) == (6_000, -25, 6_025)
    with db.transaction() as session:
        again = answer_payout(session, payout_id, "failed", failure_code="no_account")
        assert again.failure_code == "account_closed"  # the first answer stands
        with pytest.raises(PayoutStateError):
            answer_payout(session, payout_id, "paid")
        assert balances(session, account_id) == {
            "pending": 0,
            "available": 10_000,
            "reserve": 0,
            "spendable": 10_000,
        }
        fees = Ledger(session).platform_account("platform_fees", "EUR").id
        assert Ledger(session).balance(fees).posted == 0  # the payout fee was given back
        assert_books_agree(session, account_id)
    assert events_of(db, payout_id) == ["payout.created", "payout.updated", "payout.failed"]


def test_a_paid_payout_the_bank_sends_back_returns_the_money(
    db: Database, keyring: Keyring, bank: PayoutBank
) -> None:
    account_id = funded(db, keyring, payout_fee=25)
    with db.transaction() as session:
        payout_id = create_payout(session, account_id, amount=4_000, bank=bank, now=SENT_AT).id
    with db.transaction() as session:
        answer_payout(session, payout_id, "paid")
        fees = Ledger(session).platform_account("platform_fees", "EUR").id
        assert Ledger(session).balance(fees).posted == 25
    with db.transaction() as session:
        returned = answer_payout(session, payout_id, "failed", failure_code="no_account")
        assert returned.status == "failed"
    with db.transaction() as session:
        assert balances(session, account_id)["available"] == 10_000
        ledger = Ledger(session)
        assert ledger.balance(ledger.platform_account("bank", "EUR").id).posted == 0
        assert ledger.balance(fees).posted == 0
        assert_books_agree(session, account_id)


def test_payouts_beyond_the_available_balance_are_refused(
    db: Database, keyring: Keyring, bank: PayoutBank
) -> None:
    account_id = funded(db, keyring, 10_000, settings={"reserve": {"percent": 10, "days": 30}})
    with db.transaction() as session:
        assert balances(session, account_id)["spendable"] == 9_000  # the reserve is not spendable
        for amount in (9_001, 10_000):
            with pytest.raises(PayoutError) as raised:
                create_payout(session, account_id, amount=amount, bank=bank, now=SENT_AT)
            assert (raised.value.code, raised.value.param) == ("balance_insufficient", "amount")
        with pytest.raises(PayoutError) as raised:
            create_payout(session, account_id, amount=0, bank=bank)
        assert raised.value.code == "amount_too_small"
        with pytest.raises(PayoutError) as raised:
            create_payout(session, account_id, amount=100, currency="usd", bank=bank)
        assert raised.value.param == "currency"
        with pytest.raises(PayoutError) as raised:
            create_payout(session, account_id, amount=100, method="instant", bank=bank)
        assert raised.value.param == "method"
        with pytest.raises(PayoutError) as raised:
            create_payout(session, "acct_nope", amount=100, bank=bank)
        assert raised.value.code == "resource_missing"
        account = session.get(Account, account_id)
        account.status = "restricted"
        with pytest.raises(PayoutError) as raised:
            create_payout(session, account_id, amount=100, bank=bank)
        assert raised.value.code == "payouts_not_allowed"
        account.status = "active"
        whole = create_payout(session, account_id, amount=9_000, bank=bank, now=SENT_AT)
        assert whole.status == "in_transit"
        assert balances(session, account_id)["spendable"] == 0
        with pytest.raises(PayoutError):
            create_payout(session, account_id, amount=1, bank=bank)
        assert_books_agree(session, account_id)


def test_the_fee_counts_against_the_balance(
    db: Database, keyring: Keyring, bank: PayoutBank
) -> None:
    account_id = funded(db, keyring, 5_000, payout_fee=50)
    with db.transaction() as session:
        with pytest.raises(PayoutError, match=re.escape("(5000 + 50 fee)")):
            create_payout(session, account_id, amount=5_000, bank=bank)
        create_payout(session, account_id, amount=4_950, bank=bank, now=SENT_AT)
        assert balances(session, account_id)["spendable"] == 0


def test_a_merchant_without_a_bank_account_cannot_be_paid(db: Database) -> None:
    with db.transaction() as session:
        account = merchant(session)  # no keyring: no external account
        with pytest.raises(PayoutError) as raised:
            create_payout(session, account.id, amount=100)
        assert (raised.value.code, raised.value.param) == ("resource_missing", "destination")


def test_cancel_only_while_pending(
    db: Database, keyring: Keyring, bank: PayoutBank, screener: list[ScreeningDecision]
) -> None:
    account_id = funded(db, keyring)
    screener.append(ScreeningDecision.REVIEW)
    with db.transaction() as session:
        held = create_payout(session, account_id, amount=3_000, bank=bank, now=SENT_AT)
        assert (held.status, held.review_hold) == ("pending", True)
        assert held.review_reference == f"case_for_{held.id}"
        assert held.bank_message_id is None
        with pytest.raises(BankFileMissing):
            payout_bank_file(session, held, keyring)
        with pytest.raises(PayoutStateError):
            answer_payout(session, held.id, "paid")  # never sent: the bank cannot answer
        sent = create_payout(session, account_id, amount=1_000, bank=bank, now=SENT_AT)
        held_id, sent_id = held.id, sent.id
    with db.transaction() as session:
        canceled = cancel_payout(session, held_id, account_id=account_id)
        assert canceled.status == "canceled"
        back = session.get(BalanceTransaction, canceled.failure_balance_transaction_id)
        assert (back.type, back.net) == ("payout_cancel", 3_000)
    with db.transaction() as session:
        assert cancel_payout(session, held_id).status == "canceled"  # repeated: no-op
        with pytest.raises(PayoutStateError, match="pending"):
            cancel_payout(session, sent_id)
        with pytest.raises(PayoutError):
            cancel_payout(session, sent_id, account_id="acct_someone_else")
        assert balances(session, account_id)["spendable"] == 9_000
        assert_books_agree(session, account_id)
    assert events_of(db, held_id) == ["payout.created", "payout.canceled"]


def test_compliance_review_then_approval_sends_and_block_fails(
    db: Database, keyring: Keyring, bank: PayoutBank, screener: list[ScreeningDecision]
) -> None:
    account_id = funded(db, keyring)
    screener.extend([ScreeningDecision.REVIEW, ScreeningDecision.BLOCK])
    with db.transaction() as session:
        held_id = create_payout(session, account_id, amount=2_000, bank=bank, now=SENT_AT).id
        blocked = create_payout(session, account_id, amount=3_000, bank=bank, now=SENT_AT)
        assert (blocked.status, blocked.failure_code) == ("failed", "declined")
        assert "compliance" not in (blocked.failure_message or "").lower()
        assert balances(session, account_id)["spendable"] == 8_000
    with db.transaction() as session:
        released = release_payout_review(session, held_id, approve=True, bank=bank, now=SENT_AT)
        assert (released.status, released.review_hold) == ("in_transit", False)
        with pytest.raises(PayoutStateError):
            release_payout_review(session, held_id, approve=True, bank=bank)
    with db.transaction() as session:
        answer_payout(session, held_id, "paid")
        assert balances(session, account_id)["available"] == 8_000
        assert_books_agree(session, account_id)
    assert events_of(db, held_id) == ["payout.created", "payout.updated", "payout.paid"]
    assert events_of(db, blocked.id) == ["payout.created", "payout.failed"]


def test_review_rejection_cancels(
    db: Database, keyring: Keyring, bank: PayoutBank, screener: list[ScreeningDecision]
) -> None:
    account_id = funded(db, keyring)
    screener.append(ScreeningDecision.REVIEW)
    with db.transaction() as session:
        held_id = create_payout(session, account_id, amount=2_000, bank=bank, now=SENT_AT).id
    with db.transaction() as session:
        assert release_payout_review(session, held_id, approve=False).status == "canceled"
        assert balances(session, account_id)["spendable"] == 10_000
        assert_books_agree(session, account_id)


def test_unknown_failure_codes_are_refused(
    db: Database, keyring: Keyring, bank: PayoutBank
) -> None:
    account_id = funded(db, keyring)
    with db.transaction() as session:
        payout_id = create_payout(session, account_id, amount=100, bank=bank, now=SENT_AT).id
        with pytest.raises(PayoutError) as raised:
            answer_payout(session, payout_id, "failed", failure_code="gremlins")
        assert raised.value.param == "failure_code"
        assert answer_payout(session, payout_id, "failed").failure_code == "could_not_process"


def test_concurrent_payouts_never_spend_the_same_money(
    db: Database, keyring: Keyring, bank: PayoutBank
) -> None:
    account_id = funded(db, keyring, 10_000)
    outcomes: list[str] = []
    lock = threading.Lock()

    def pay() -> None:
        def work(session):  # type: ignore[no-untyped-def]
            return create_payout(session, account_id, amount=3_000, bank=bank, now=SENT_AT).status

        try:
            result = db.run(work)
        except PayoutError as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=pay) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["balance_insufficient"] * 2 + ["in_transit"] * 3
    with db.transaction() as session:
        assert balances(session, account_id)["spendable"] == 1_000
        assert_books_agree(session, account_id)


# -- beneficiary bank accounts -------------------------------------------------------------


def test_external_accounts_are_validated_vaulted_and_masked(db: Database, keyring: Keyring) -> None:
    with db.transaction() as session:
        account = merchant(session, keyring)
        stored = account.external_account
        assert stored["last4"] == MERCHANT_IBAN[-4:]
        assert stored["bank_name"]
        assert (stored["country"], stored["currency"], stored["scheme"]) == ("DE", "eur", "iban")
        entry = session.get(VaultEntry, stored["vault_token"])
        assert entry is not None and MERCHANT_IBAN.encode() not in entry.ciphertext
        shown = render_external_account(stored, account.id)
        assert set(shown) == {
            "id",
            "object",
            "account",
            "account_holder_name",
            "account_holder_type",
            "bank_name",
            "country",
            "currency",
            "default_for_currency",
            "last4",
            "metadata",
            "status",
        }
        assert MERCHANT_IBAN not in str(shown) and "tok_" not in str(shown)

        for fields, param in (
            ({"account_number": "DE89370400440532013001"}, "account_number"),  # check digits
            ({"account_number": "532013000", "routing_number": "37040044"}, "account_number"),
            ({"account_number": MERCHANT_IBAN, "currency": "usd"}, "currency"),
            ({"account_number": MERCHANT_IBAN, "account_holder_name": "  "}, "account_holder_name"),
            ({"account_number": MERCHANT_IBAN, "routing_number": "1"}, "routing_number"),
        ):
            kwargs = {
                "country": "DE",
                "currency": "eur",
                "account_holder_name": "Müller",
                **fields,
            }
            with pytest.raises(ExternalAccountError) as raised:
                set_external_account(session, account, keyring, **kwargs)
            assert raised.value.param == param, fields


def test_a_us_merchant_is_paid_by_routing_and_account_number(
    db: Database, keyring: Keyring, bank: PayoutBank, official_xsd: xmlschema.XMLSchema
) -> None:
    with db.transaction() as session:
        account = merchant(session, country="US", currency="USD", name="Acme Corp", iban=None)
        set_external_account(
            session,
            account,
            keyring,
            country="US",
            currency="usd",
            account_number="000123456789",
            routing_number="110000000",
            account_holder_name="Acme Corp",
        )
        assert account.external_account["last4"] == "6789"
        assert account.external_account["scheme"] == "domestic"
        capture(session, account, 25_000)
        account_id = account.id
    run_settlement(db, account_id, "USD", WEDNESDAY)
    with db.transaction() as session:
        payout = create_payout(session, account_id, amount=20_000, bank=bank, now=SENT_AT)
        assert payout.status == "in_transit"
        file = payout_bank_file(session, payout, keyring)
    assert file.scheme == "iso20022"
    official_xsd.validate(etree.fromstring(file.content))
    root = etree.fromstring(file.content)
    assert root.findtext(".//p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=NS) == "000123456789"
    assert root.findtext(".//p:CdtrAgt//p:ClrSysMmbId/p:MmbId", namespaces=NS) == "110000000"
    assert root.findtext(".//p:InstdAmt", namespaces=NS) == "200.00"


def test_a_payout_keeps_the_bank_account_it_was_sent_to(
    db: Database, keyring: Keyring, bank: PayoutBank
) -> None:
    account_id = funded(db, keyring)
    with db.transaction() as session:
        payout = create_payout(session, account_id, amount=1_000, bank=bank, now=SENT_AT)
        before = payout_bank_file(session, payout, keyring).content
        account = session.get(Account, account_id)
        set_external_account(
            session,
            account,
            keyring,
            country="FR",
            currency="eur",
            account_number="FR1420041010050500013M02606",
            account_holder_name="Müller",
        )
        assert payout_bank_file(session, payout, keyring).content == before
        assert MERCHANT_IBAN.encode() in before
