"""The compliance wiring on a database of its own: the payment and payout checks, refunds,
the active-index cache and the re-screen after a list update (no HTTP server).

The real OFAC SDN sample is loaded (17 entries); an "update" adds two real entries of the
full list to it. (This module sorts before ``test_compliance_flow``, so the process-wide
index cache it replaces is rebuilt by the live service only once, for the full list.)
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

import compliance.audit
import compliance.reviews.tables
import compliance.rules.observations
import compliance.rules.store
import compliance.sanctions.tables  # noqa: F401  (tables, before the db fixture)
from api.compliance_wiring import (
    ComplianceInputError,
    base_amount,
    check_payment,
    merchant_party,
    payment_context,
    record_refund,
    screen_payout,
)
from api.errors import as_api_error
from api.review_outcomes import carry_out
from compliance import audit, reviews
from compliance.active_index import active_index
from compliance.list_loads import load_sanctions_list
from compliance.rescreening import JOB, recent_counterparties, rescreen_after_list_load
from compliance.rules import Party, PaymentContext
from compliance.rules.observations import ObservationRow, record_payment
from compliance.sanctions import parse_list
from core import jobs
from core.accounts import Account, open_account
from core.database import Database, utcnow
from core.ids import new_id
from core.keyring import Keyring
from core.settings import get_settings
from payments.preauthorisation import PaymentFacts, RefundFacts
from settlement.fx import default_rate_book
from settlement.payout_screening import set_payout_screener
from settlement.payouts import create_payout, get_payout, set_external_account
from settlement.runs import run_settlement
from settlement.schedule import cut_off
from tests.settlement.settlement_world import MERCHANT_IBAN, capture
from tests.shared_data import locate, shared_data

LISTS = locate("sanctions")


@pytest.fixture(autouse=True, scope="module")
def _the_real_lists_are_here() -> None:
    shared_data("sanctions")


SAMPLE = LISTS / "ofac_sdn_sample"
FULL = LISTS / "ofac_sdn"
WEDNESDAY = cut_off(dt.date(2025, 3, 5))


pytestmark = pytest.mark.usefixtures("own_data_dir")  # audit and vault keys


def load(db: Database, folder: Path) -> None:
    with db.transaction() as session:
        load_sanctions_list(session, folder, "ofac_sdn", actor="tests")


@pytest.fixture
def sample(db: Database) -> Database:
    load(db, SAMPLE)
    return db


def shop(session, name: str = "Bäckerei Müller GmbH", country: str = "DE") -> Account:
    return open_account(session, business_name=name, country=country, default_currency="EUR")


def facts(account: Account, payer: dict, amount: int = 2000, **fields) -> PaymentFacts:
    values = {
        "intent_id": new_id("pi"),
        "account_id": account.id,
        "amount": amount,
        "currency": "EUR",
        "payer": payer,
        "method_type": "card",
        "card_fingerprint": "fp_test",
        "card_country": "DE",
    }
    values.update(fields)
    return PaymentFacts(**values)


def context_of(payment: PaymentFacts, account: Account) -> PaymentContext:
    return payment_context(
        payment,
        merchant_party(account),
        base_amount=payment.amount,
        base_currency=payment.currency,
        at=utcnow(),
    )


# --------------------------------------------------------------------------- mapping


def test_payment_context_carries_payer_merchant_and_channel() -> None:
    account = Account(id="acct_1", business_name="Bäckerei Müller GmbH", country="DE")
    payer = {
        "name": "Ana Ruiz",
        "country": "ES",
        "date_of_birth": "1980-05-17",
        "email": "ana@example.es",
        "ip_address": "203.0.113.7",
        "account": "ES9121000418450200051332",
        "address": "Calle Mayor 1, Madrid",
    }
    ctx = context_of(facts(account, payer, card_country="US"), account)
    assert ctx.payer == Party(
        name="Ana Ruiz",
        country="ES",
        account="ES9121000418450200051332",
        address="Calle Mayor 1, Madrid",
        date_of_birth=dt.date(1980, 5, 17),
    )
    assert (ctx.merchant.name, ctx.merchant.kind, ctx.merchant.id) == (
        "Bäckerei Müller GmbH",
        "entity",
        "acct_1",
    )
    assert (ctx.email, ctx.ip, ctx.card_country, ctx.method) == (
        "ana@example.es",
        "203.0.113.7",
        "US",
        "card",
    )
    assert ctx.card_fingerprint == "acct_1:fp_test"  # counted per merchant, as Radar does
    assert ctx.cross_border is True
    domestic = context_of(facts(account, {"country": "DE"}, card_country="DE"), account)
    unknown = context_of(facts(account, {}, card_country=None, card_fingerprint=None), account)
    assert (domestic.cross_border, unknown.cross_border, unknown.card_fingerprint) == (
        False,
        False,
        None,
    )


@pytest.mark.parametrize(
    ("payer", "param"),
    [
        ({"date_of_birth": "1990-02-30"}, "payer[date_of_birth]"),
        ({"name": "A", "country": "ZZ"}, "payer"),
    ],
)
def test_payer_data_the_rules_cannot_use_is_a_400(payer: dict, param: str) -> None:
    account = Account(id="acct_1", business_name="Shop", country="DE")
    with pytest.raises(ComplianceInputError) as refused:
        context_of(facts(account, payer), account)
    api_error = as_api_error(refused.value)
    assert api_error is not None
    assert (api_error.status, api_error.param) == (400, param)


def test_base_amount_is_one_exact_conversion(db: Database) -> None:
    day = dt.date(2025, 3, 5)
    with db.transaction(write=False) as session:
        book = default_rate_book(session)
        eur_usd = book.rate("EUR", "USD", day).value
        jpy_usd = book.rate("JPY", "USD", day).value
        assert base_amount(session, 12_345, "EUR", "USD", day) == int(
            (Decimal(12_345) * eur_usd).to_integral_value(ROUND_HALF_EVEN)
        )
        # JPY has no minor unit, USD two: 1 yen is 100 * rate cents.
        assert base_amount(session, 98_765, "JPY", "USD", day) == int(
            (Decimal(98_765) * jpy_usd * 100).to_integral_value(ROUND_HALF_EVEN)
        )
        assert base_amount(session, 777, "USD", "USD", day) == 777
        with pytest.raises(ComplianceInputError) as no_rate:
            base_amount(session, 1000, "XAF", "USD", day)
    assert no_rate.value.param == "currency"


# --------------------------------------------------------------------------- payments


def test_payment_check_allows_holds_and_blocks(sample: Database) -> None:
    db = sample
    with db.transaction() as session:
        account = shop(session)
        clean = check_payment(session, facts(account, {"name": "Maria Garcia", "country": "ES"}))
        probable = check_payment(session, facts(account, {"name": "Artem Lifshits"}))
        certain = check_payment(
            session,
            facts(
                account,
                {"name": "Dmitry Khoroshev", "country": "RU", "date_of_birth": "1993-04-17"},
            ),
        )
        account_id = account.id
    assert (clean.decision, clean.review_id) == ("allow", None)
    assert (certain.decision, certain.review_id) == ("block", None)
    assert probable.decision == "review" and probable.review_id
    with db.transaction(write=False) as session:
        case = reviews.get_review(session, probable.review_id)
        assert case.account_id == account_id and case.object_type == "payment_intent"
        assert [m.key for m in case.unresolved_matches] == ["payer:ofac_sdn:29702"]
        observed = session.scalars(
            select(ObservationRow.card_key).where(ObservationRow.kind == "payment")
        ).all()
        assert set(observed) == {f"{account_id}:fp_test"}
        decided = audit.list_entries(session, action="screening.decided")
        assert sorted(e.payload["decision"] for e in decided) == ["allow", "block", "review"]
        assert audit.verify(session).ok


def test_refunds_are_remembered_under_the_payment_keys(sample: Database) -> None:
    db = sample
    with db.transaction() as session:
        account = shop(session)
        payment = facts(account, {"name": "Maria Garcia"}, amount=5_000, currency="USD")
        assert check_payment(session, payment).decision == "allow"
        record_refund(
            session,
            RefundFacts("re_1", payment.intent_id, account.id, 1_250, "USD", utcnow()),
        )
    with db.transaction(write=False) as session:
        refund = session.execute(
            select(ObservationRow).where(ObservationRow.kind == "refund")
        ).scalar_one()
    assert (refund.ref, refund.payment_ref, refund.base_amount) == (
        "re_1",
        payment.intent_id,
        1_250,
    )
    assert refund.card_key == f"{account.id}:fp_test" and refund.account_key == account.id


def test_the_index_is_rebuilt_only_when_the_active_snapshots_change(
    sample: Database, tmp_path: Path
) -> None:
    db = sample
    with db.transaction(write=False) as session:
        first = active_index(session)
        assert active_index(session) is first
        assert len(first.index) == len(parse_list(SAMPLE, "ofac_sdn").entries)
    load(db, _sample_plus(tmp_path, ["24283"]))
    with db.transaction(write=False) as session:
        second = active_index(session)
    assert second is not first and second.snapshot_ids != first.snapshot_ids
    assert second.index.screen("Oleg Deripaska", kind="person").matches[0].entry_id == "24283"


# --------------------------------------------------------------------------- payouts


def _funded(db: Database, holder: str) -> str:
    keyring = Keyring.from_settings(get_settings())
    with db.transaction() as session:
        account = shop(session)
        set_external_account(
            session,
            account,
            keyring,
            country="DE",
            currency="EUR",
            account_number=MERCHANT_IBAN,
            account_holder_name=holder,
        )
        capture(session, account, 10_000)
        account_id = account.id
    run_settlement(db, account_id, "EUR", WEDNESDAY)
    return account_id


@pytest.fixture
def payout_screening() -> Iterator[None]:
    set_payout_screener(screen_payout)
    yield
    set_payout_screener(None)


def test_payout_beneficiaries_are_screened_and_reviews_release_them(
    sample: Database, payout_screening: None
) -> None:
    db = sample
    clean, probable, listed = (
        _funded(db, holder) for holder in ("Hans Weber", "Artem Lifshits", "SUEX OTC S.R.O.")
    )
    with db.transaction() as session:
        sent = create_payout(session, clean, amount=1_000)
        held = create_payout(session, probable, amount=1_000)
        blocked = create_payout(session, listed, amount=1_000)
        assert sent.status == "in_transit"
        assert (held.status, held.review_hold) == ("pending", True)
        assert (blocked.status, blocked.failure_code) == ("failed", "declined")
        held_id, case_id = held.id, held.review_reference
    with db.transaction() as session:
        case = reviews.get_review(session, case_id)
        assert (case.object_type, case.object_id) == ("payout", held_id)
        assert case.counterparty["beneficiary"]["name"] == "Artem Lifshits"
        match = case.unresolved_matches[0].key
        assert match == "beneficiary:ofac_sdn:29702"
        reviews.mark_false_positive(
            session, case_id, actor="ann", match=match, note="a different Artem Lifshits"
        )
        effect = carry_out(session, reviews.approve(session, case_id, actor="ann"))
    assert (effect.status, effect.changed) == ("in_transit", True)
    with db.transaction(write=False) as session:
        assert get_payout(session, held_id).status == "in_transit"


def test_rejected_payout_review_cancels_the_payout(
    sample: Database, payout_screening: None
) -> None:
    db = sample
    account_id = _funded(db, "Artem Lifshits")
    with db.transaction() as session:
        held = create_payout(session, account_id, amount=2_500)
        held_id, case_id = held.id, held.review_reference
    with db.transaction() as session:
        outcome = reviews.reject(session, case_id, actor="ann", note="listed beneficiary")
        effect = carry_out(session, outcome)
    assert (effect.status, effect.changed) == ("canceled", True)
    with db.transaction(write=False) as session:
        assert get_payout(session, held_id).status == "canceled"


# --------------------------------------------------------------------------- re-screening


def _sample_plus(tmp_path: Path, entry_ids: list[str]) -> Path:
    """The sample folder plus the full list's rows of ``entry_ids`` (a small real update)."""
    folder = tmp_path / f"update_{'_'.join(entry_ids)}"
    folder.mkdir()
    for name in ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"):
        shutil.copy(SAMPLE / name, folder / name)
    for name in ("sdn.csv", "alt.csv", "add.csv"):
        rows = [
            line
            for line in (FULL / name).read_text(encoding="utf-8").splitlines(keepends=True)
            if line.split(",", 1)[0] in entry_ids
        ]
        with (folder / name).open("a", encoding="utf-8") as handle:
            handle.writelines(rows)
    return folder


def _rescreen_job(db: Database, snapshot_id: str) -> str:
    with db.transaction(write=False) as session:
        return session.scalars(
            select(jobs.Job.id).where(
                jobs.Job.name == JOB, jobs.Job.key == f"rescreen:{snapshot_id}"
            )
        ).one()


def test_a_list_update_rescreens_recent_payers_and_merchants(
    sample: Database, tmp_path: Path
) -> None:
    db = sample
    with db.transaction() as session:
        airline = shop(session, name="Aerocaribbean Airlines")
        payment = facts(airline, {"name": "Oleg Deripaska"})
        assert check_payment(session, payment).decision == "allow"  # not listed yet
        large = facts(airline, {"name": "Oleg Deripaska", "country": "CY"}, amount=1_600_000)
        held = check_payment(session, large)  # EUR 16,000: held for due diligence
        assert held.decision == "review"
        old = context_of(facts(airline, {"name": "Oleg V. Deripaska"}), airline)
        record_payment(session, replace(old, occurred_at=utcnow() - dt.timedelta(days=45)))
        airline_id = airline.id
    with db.transaction() as session:
        report = load_sanctions_list(
            session, _sample_plus(tmp_path, ["24283", "36"]), "ofac_sdn", actor="tests"
        )
    assert sorted(report.added) == ["24283", "36"] and report.removed == ()

    assert jobs.execute(db, _rescreen_job(db, report.snapshot_id)) == "done"
    with db.transaction(write=False) as session:
        payer_case = reviews.review_for_object(session, "payment_intent", payment.intent_id)
        merchant_case = reviews.review_for_object(session, "account", airline_id)
        old_case = reviews.review_for_object(session, "payment_intent", old.ref)
        (rescreened,) = audit.list_entries(session, action="sanctions.rescreened")
        since = recent_counterparties(session, utcnow() - dt.timedelta(days=30))
    assert [m.key for m in payer_case.screening_matches] == ["payer:ofac_sdn:24283"]
    assert payer_case.counterparty["rescreen"]["snapshot_id"] == report.snapshot_id
    assert [m.key for m in merchant_case.screening_matches] == ["merchant:ofac_sdn:36"]
    assert old_case is None  # 45 days ago: outside the 30-day window
    assert "Oleg V. Deripaska" not in [p.counterparty.name for p in since]
    assert sorted(rescreened.payload["reviews"]) == sorted(
        [payer_case.id, merchant_case.id, held.review_id]
    )
    with db.transaction() as session:
        still_held = reviews.get_review(session, held.review_id)
        assert [m.key for m in still_held.unresolved_matches] == ["payer:ofac_sdn:24283"]
        assert reviews.history(session, held.review_id)[-1].action == "matches_added"
        with pytest.raises(reviews.ReviewError) as refused:
            reviews.approve(session, held.review_id, actor="ann")
    assert refused.value.code == "sanctions_unresolved"

    # Run again (a worker died before marking the job done): no second case.
    rescreen_after_list_load(db, report.snapshot_id, report.previous_snapshot_id)
    with db.transaction(write=False) as session:
        cases, _ = reviews.list_reviews(session, limit=100)
    assert sorted(c.id for c in cases) == sorted([payer_case.id, merchant_case.id, held.review_id])
    with db.transaction(write=False) as session:
        actions = [e.action for e in reviews.history(session, held.review_id)]
    assert actions.count("matches_added") == 1
