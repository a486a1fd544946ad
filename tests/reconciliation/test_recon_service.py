"""Reconciliation end to end on the ``db`` fixture: real payouts (settlement's payouts), a
payer's bank transfers and a provider's captures (through the protocols the payments
side implements), a Stripe report and a camt.053 bank statement; every outcome; ledger
effects once; re-imports and re-runs change nothing; breaks resolved and audited; the
daily report balances and the ledger verifies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compliance.audit import AuditLogEntry
from compliance.audit import verify as verify_audit
from core.accounts import Account
from core.database import Database
from payments.rails.creditor_reference import reference_for
from settlement.booking import book_capture
from settlement.ledger import Ledger, verify
from settlement.ledger.tables import transfers
from settlement.payouts import answer_payout, create_payout
from settlement.payouts.tables import Payout
from settlement.reconciliation import (
    AwaitingTransfer,
    BankCredit,
    BankTransferExpectations,
    CaptureExpectations,
    CsvMapping,
    ProviderCapture,
    ReconciliationError,
    StatementRefused,
    Window,
    daily_report,
    get_statement,
    import_statement,
    install_payouts_link,
    list_breaks,
    on_bank_transfer_received,
    reconcile,
    register_provider,
    render_break,
    render_report,
    render_statement,
    report_csv,
    resolve_break,
    save_csv_mapping,
)
from settlement.reconciliation.hooks import remove_hook
from settlement.reconciliation.tables import BreakRow, LineRow, StatementRow
from settlement.runs import run_settlement
from settlement.schedule import cut_off
from tests.reconciliation.statement_files import Entry, StripeRow, camt053, mt940, stripe_report
from tests.settlement.settlement_world import capture, make_bank, make_keyring, merchant

WEDNESDAY = cut_off(dt.date(2025, 3, 5))
SENT_AT = WEDNESDAY + dt.timedelta(hours=9)
THURSDAY = dt.date(2025, 3, 6)
CAPTURED = dt.datetime(2025, 3, 4, 12, 0, tzinfo=dt.UTC)


@dataclass
class Payments:
    """The payments side, as the protocols see it: intents awaiting bank transfers, and
    captures made through Stripe. Completing an intent books its capture for real."""

    account: Account | None = None
    awaiting: dict[str, AwaitingTransfer] = field(default_factory=dict)
    provider_captures: list[ProviderCapture] = field(default_factory=list)
    completed: list[BankCredit] = field(default_factory=list)

    def awaiting_transfers(
        self, session: Session, currency: str, window: Window
    ) -> Iterable[AwaitingTransfer]:
        return [
            t
            for t in self.awaiting.values()
            if t.currency == currency and window.start <= t.since <= window.end
        ]

    def captures(
        self, session: Session, source: str, currency: str, window: Window
    ) -> Iterable[ProviderCapture]:
        return [
            c
            for c in self.provider_captures
            if c.currency == currency and window.start <= c.date <= window.end
        ]

    def complete(self, session: Session, credit: BankCredit) -> None:
        assert self.account is not None
        book_capture(
            session,
            self.account,
            intent_id=credit.intent_id,
            amount=credit.amount,
            currency=credit.currency,
            card_country=None,
        )
        del self.awaiting[credit.intent_id]
        self.completed.append(credit)


class _Awaiting:
    def __init__(self, payments: Payments) -> None:
        self.payments = payments

    def awaiting(
        self, session: Session, currency: str, window: Window
    ) -> Iterable[AwaitingTransfer]:
        return self.payments.awaiting_transfers(session, currency, window)


@pytest.fixture
def payments() -> Iterator[Payments]:
    state = Payments()
    undo = [
        register_provider("test_bank_transfers", BankTransferExpectations(_Awaiting(state))),
        register_provider("test_captures", CaptureExpectations(state)),
        install_payouts_link(),
    ]
    on_bank_transfer_received(state.complete)
    yield state
    remove_hook(state.complete)
    for fn in undo:
        fn()


@dataclass
class World:
    account_id: str
    payouts: dict[str, str]


def build_world(db: Database, payments: Payments) -> World:
    keyring = make_keyring()
    bank = make_bank(keyring)
    with db.transaction() as session:
        account = merchant(session, keyring)
        capture(session, account, 10_000)
        account_id = account.id
    run_settlement(db, account_id, "EUR", WEDNESDAY)
    payouts = {}
    with db.transaction() as session:
        account = session.get(Account, account_id)
        payments.account = account
        for name, amount in (("A", 7_500), ("B", 1_000), ("C", 1_000)):
            payouts[name] = create_payout(
                session, account_id, amount=amount, bank=bank, now=SENT_AT
            ).id
        for intent, amount in (("pi_banktransfer1", 2_000), ("pi_banktransfer2", 4_321)):
            payments.awaiting[intent] = AwaitingTransfer(
                intent, amount, "EUR", reference_for(intent), dt.date(2025, 3, 4)
            )
        for intent, provider_id, amount in (
            ("pi_card1", "pi_3StripeA", 10_000),
            ("pi_card2", "pi_3StripeB", 5_000),
            ("pi_card3", "pi_3StripeC", 800),
        ):
            book_capture(
                session,
                account,
                intent_id=intent,
                amount=amount,
                currency="EUR",
                card_country="DE",
                at=CAPTURED,
            )
            payments.provider_captures.append(
                ProviderCapture(intent, provider_id, amount, "EUR", CAPTURED.date())
            )
    return World(account_id, payouts)


STRIPE = stripe_report(
    [
        StripeRow(
            "txn_1",
            10_000,
            320,
            "charge",
            "ch_1",
            "pi_3StripeA",
            "po_1StripeBatch",
            created=dt.date(2025, 3, 4),
            payout_date=THURSDAY,
        ),
        StripeRow(
            "txn_2",
            5_000,
            175,
            "charge",
            "ch_2",
            "pi_3StripeB",
            "po_1StripeBatch",
            created=dt.date(2025, 3, 4),
            payout_date=THURSDAY,
        ),
        StripeRow(
            "txn_3",
            1_000,
            50,
            "charge",
            "ch_3",
            "pi_3Unknown",
            "po_1StripeBatch",
            created=dt.date(2025, 3, 4),
            payout_date=THURSDAY,
        ),
    ]
)


def bank_statement(world: World) -> bytes:
    return camt053(
        [
            Entry(
                -7_500, THURSDAY, e2e=world.payouts["A"].replace("_", "-"), name="Bäckerei Müller"
            ),
            Entry(
                2_000,
                THURSDAY,
                remittance=f"Order 42 {reference_for('pi_banktransfer1')}",
                name="Jane Payer",
                iban="FR1420041010050500013M02606",
            ),
            Entry(15_455, THURSDAY, remittance="STRIPE TRANSFER", name="Stripe Payments Europe"),
            Entry(3_333, THURSDAY, remittance="no idea", name="Somebody"),
            Entry(-1_200, THURSDAY, e2e=world.payouts["B"].replace("_", "-")),
            Entry(4_321, THURSDAY, remittance="forgot the reference", name="John Payer"),
        ],
        opening=50_000,
        day=THURSDAY,
        statement_id="2025-03-06",
    )


def recon_transfers(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(transfers).where(transfers.c.id.like("recon:%"))
    )


def line_outcomes(session: Session, statement_id: str) -> dict[str, str]:
    rows = session.execute(
        select(LineRow.bank_reference, LineRow.outcome).where(LineRow.statement_id == statement_id)
    )
    return dict(rows.all())


def test_statements_are_matched_posted_once_and_every_break_resolved(
    db: Database, payments: Payments
) -> None:
    world = build_world(db, payments)

    # -- the provider's report: captures matched, fees booked, an unknown charge, a missing one
    with db.transaction() as session:
        stripe = import_statement(session, "stripe", STRIPE, actor="finance", as_of=THURSDAY)
        assert stripe.created and stripe.run is not None
        assert stripe.run.counts == {"matched": 2, "expected": 1, "mismatched": 0, "unmatched": 1}
        assert line_outcomes(session, stripe.statement.id) == {
            "txn_1": "matched",
            "txn_2": "matched",
            "txn_3": "unmatched",
        }
        ledger = Ledger(session)
        fees = ledger.account("platform", "provider_fees", "EUR", normal="debit")
        assert ledger.balance(fees.id).posted == 495

    # -- the bank statement: every outcome
    camt = bank_statement(world)
    with db.transaction() as session:
        result = import_statement(session, "bank-de", camt, actor="finance", as_of=THURSDAY)
        statement_id = result.statement.id
        assert result.run.counts == {"matched": 4, "expected": 1, "mismatched": 1, "unmatched": 1}
        assert line_outcomes(session, statement_id) == {
            "BANKREF0000": "matched",  # payout A, by its end-to-end id
            "BANKREF0001": "matched",  # bank transfer, by the RF reference in free text
            "BANKREF0002": "matched",  # Stripe's payout batch, N:1 by amount and date
            "BANKREF0003": "unmatched",  # nobody knows this money
            "BANKREF0004": "mismatched",  # payout B's reference, a different amount
            "BANKREF0005": "matched",  # a bank transfer without reference: amount + date
        }
        rules = dict(
            session.execute(
                select(LineRow.bank_reference, LineRow.match_id).where(
                    LineRow.statement_id == statement_id, LineRow.match_id.is_not(None)
                )
            ).all()
        )
        assert len(set(rules.values())) == 4
        assert session.get(Payout, world.payouts["A"]).status == "paid"
        assert session.get(Payout, world.payouts["B"]).status == "in_transit"
        assert [c.intent_id for c in payments.completed] == ["pi_banktransfer1", "pi_banktransfer2"]
        shown = render_statement(session, get_statement(session, statement_id))
        assert shown["object"] == "reconciliation.statement"
        assert shown["id"].startswith("stmt_") and shown["format"] == "camt.053"
        assert shown["counts"] == {"matched": 4, "expected": 1, "mismatched": 1, "unmatched": 1}
        assert (
            shown["totals"]["lines"] == 6
            and shown["totals"]["matched"] == 7_500 + 2_000 + 15_455 + 4_321
        )
        assert shown["closing_balance"] == {"amount": 66_409, "date": "2025-03-06"}
        assert len(shown["lines"]["data"]) == 6 and not shown["lines"]["has_more"]
        posted = recon_transfers(session)
        report = daily_report(session, THURSDAY)
        assert [(r.currency, r.statement_balance, r.unexplained) for r in report] == [
            ("EUR", 66_409, 0)
        ]
        assert report[0].unposted_lines == 3_333 - 1_200

    # -- importing the same file again, and re-running, change nothing
    with db.transaction() as session:
        again = import_statement(session, "bank-de", camt, actor="finance", as_of=THURSDAY)
        assert not again.created and again.statement.id == statement_id
        assert import_statement(session, "stripe", STRIPE, as_of=THURSDAY).created is False
        rerun = reconcile(session, "bank-de", as_of=THURSDAY)
        assert rerun.matches == 0 and rerun.counts["matched"] == 0
        assert rerun.counts["mismatched"] == 1 and rerun.counts["unmatched"] == 1
        assert recon_transfers(session) == posted
        assert session.scalar(select(func.count()).select_from(StatementRow)) == 2
        assert session.scalar(select(func.count()).select_from(LineRow)) == 9

    # -- the breaks, in front of finance
    with db.transaction() as session:
        open_breaks, has_more = list_breaks(session, status="open", limit=50)
        assert not has_more
        kinds = sorted((b.source, b.kind, b.amount) for b in open_breaks)
        assert kinds == [
            ("bank-de", "expected", -1_000),
            ("bank-de", "mismatched", -1_200),
            ("bank-de", "unmatched", 3_333),
            ("stripe", "expected", 800),
            ("stripe", "unmatched", 1_000),
        ]
        by_kind = {(b.source, b.kind): b for b in open_breaks}
        mismatch = by_kind[("bank-de", "mismatched")]
        shown = render_break(mismatch, THURSDAY)
        assert shown["object"] == "reconciliation.break" and shown["id"].startswith("brk_")
        assert shown["expected"][0]["id"] == world.payouts["B"] and shown["difference"] == -200
        assert shown["age_days"] == 0 and shown["resolution"] is None
        ids = {key: b.id for key, b in by_kind.items()}

    with db.transaction() as session, pytest.raises(ReconciliationError, match="note"):
        resolve_break(
            session,
            ids[("bank-de", "unmatched")],
            "write_off",
            actor="finance",
            account="reconciliation_suspense",
        )
    with db.transaction() as session, pytest.raises(ReconciliationError, match="account"):
        resolve_break(
            session,
            ids[("bank-de", "unmatched")],
            "write_off",
            actor="finance",
            account="merchant_available",
            note="nope",
        )

    with db.transaction() as session:
        resolve_break(
            session,
            ids[("bank-de", "unmatched")],
            "write_off",
            actor="finance",
            account="reconciliation_suspense",
            note="interest credited by the bank",
        )
        resolve_break(
            session,
            ids[("bank-de", "mismatched")],
            "match_manually",
            actor="finance",
            target=f"payout:{world.payouts['B']}",
            account="bank_fees",
            note="the bank charged 2.00 for the transfer",
        )
        assert session.get(Payout, world.payouts["B"]).status == "paid"
        resolve_break(
            session,
            ids[("stripe", "unmatched")],
            "write_off",
            actor="finance",
            account="reconciliation_suspense",
            note="a charge from another integration",
        )
        resolve_break(
            session,
            ids[("stripe", "expected")],
            "write_off",
            actor="finance",
            account="reconciliation_write_offs",
            note="Stripe never settled it",
        )
    with db.transaction() as session, pytest.raises(ReconciliationError, match="already"):
        resolve_break(
            session, ids[("bank-de", "unmatched")], "ignore", actor="finance", note="twice"
        )
    # The last payout failed at the bank: the payouts side says so, the next run withdraws it.
    with db.transaction() as session:
        answer_payout(session, world.payouts["C"], "failed", failure_code="account_closed")
    with db.transaction() as session:
        reconcile(session, "bank-de", as_of=THURSDAY)
        reconcile(session, "stripe", as_of=THURSDAY)
        assert list_breaks(session, status="open") == ([], False)
        withdrawn = session.scalars(
            select(BreakRow.resolution).where(
                BreakRow.expected_key == f"payout:{world.payouts['C']}"
            )
        ).one()
        assert withdrawn == "withdrawn"

    # -- the day balances to the minor unit, the ledger verifies, the trail is audited
    with db.transaction() as session:
        report = daily_report(session, THURSDAY)
        assert [(r.currency, r.unexplained, r.open_breaks) for r in report] == [("EUR", 0, 0)]
        assert report[0].ledger_balance == report[0].statement_balance == 66_409
        body = render_report(report, THURSDAY)
        assert body["balanced"] and body["currencies"][0]["currency"] == "eur"
        csv_text = report_csv(report)
        assert csv_text.splitlines()[1].startswith("2025-03-06,EUR,66409,66409,0,")
        check = verify(session)
        assert check.ok, check.problems
        ledger = Ledger(session)

        def balance(purpose: str, normal: str | None = None) -> int:
            acct = (
                ledger.account("platform", purpose, "EUR", normal=normal)
                if normal
                else ledger.platform_account(purpose, "EUR")
            )
            return ledger.balance(acct.id).posted

        assert balance("bank") == 66_409
        assert balance("bank_fees", "debit") == 200
        assert balance("reconciliation_suspense", "debit") == -(3_333 + 1_000)
        assert balance("provider_fees", "debit") == 320 + 175 + 50
        assert balance("reconciliation_write_offs", "debit") == 800
        # Only the merchant's own capture (never settled by a provider here) is left owed.
        assert balance("psp_clearing") == 10_000
        assert balance("payouts_in_transit") == 0
        actions = list(
            session.scalars(
                select(AuditLogEntry.action)
                .where(AuditLogEntry.action.like("reconciliation.%"))
                .order_by(AuditLogEntry.sequence)
            )
        )
        assert actions == [
            "reconciliation.break.write_off",
            "reconciliation.break.match_manually",
            "reconciliation.break.write_off",
            "reconciliation.break.write_off",
        ]
        assert verify_audit(session).ok


def test_a_refused_file_leaves_nothing_behind(db: Database, payments: Payments) -> None:
    honest = camt053([Entry(1_000, THURSDAY, remittance="x")], opening=0, day=THURSDAY)
    tampered = honest.replace(
        b'<Amt Ccy="EUR">10.00</Amt>\n        <CdtDbtInd>CRDT</CdtDbtInd>\n        <Dt>',
        b'<Amt Ccy="EUR">11.00</Amt>\n        <CdtDbtInd>CRDT</CdtDbtInd>\n        <Dt>',
    )
    assert tampered != honest
    with pytest.raises(StatementRefused, match="tampered"), db.transaction() as session:
        import_statement(session, "bank-de", tampered)
    lines = mt940([Entry(1_000, THURSDAY), Entry(-500, THURSDAY)], opening=0).decode().split("\r\n")
    lines[6] = ":61:2503060306D5O0,00NTRFNONREF//B1"
    with pytest.raises(StatementRefused) as refused, db.transaction() as session:
        import_statement(session, "bank-de", "\r\n".join(lines).encode())
    assert refused.value.line == 7
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(StatementRow)) == 0
        assert session.scalar(select(func.count()).select_from(LineRow)) == 0
        assert session.scalar(select(func.count()).select_from(transfers)) == 0


def test_mt940_and_mapped_csv_sources(db: Database, payments: Payments) -> None:
    with db.transaction() as session:
        result = import_statement(
            session,
            "bank-mt",
            mt940(
                [
                    Entry(2_500, THURSDAY, remittance="unknown"),
                    Entry(-300, THURSDAY, e2e="po-nothing"),
                ],
                opening=1_000,
                day=THURSDAY,
            ),
            as_of=THURSDAY,
        )
        assert result.statement.format == "mt940"
        assert result.run.counts == {"matched": 0, "expected": 0, "mismatched": 0, "unmatched": 2}
        with pytest.raises(StatementRefused, match="mapping"):
            import_statement(session, "bank-csv", b"day;amount\n2025-03-06;1,00\n")
    with db.transaction() as session:
        save_csv_mapping(
            session,
            "bank-csv",
            CsvMapping(
                booking_date="day",
                amount="amount",
                fixed_currency="EUR",
                delimiter=";",
                decimal_separator=",",
                account="DE02120300000000202051",
            ),
            actor="finance",
        )
        result = import_statement(session, "bank-csv", b"day;amount\n2025-03-06;1,00\n")
        assert (result.statement.format, result.statement.line_count) == ("csv", 1)
        with pytest.raises(ReconciliationError, match="holds bank statements"):
            import_statement(session, "bank-csv", STRIPE)
    with db.transaction() as session:
        report = daily_report(session, THURSDAY)
        # MT940's opening balance was brought into the ledger; its two lines are open breaks.
        assert [
            (r.statement_balance, r.ledger_balance, r.unposted_lines, r.unexplained) for r in report
        ] == [(3_200, 1_000, 2_200, 0)]
        assert verify(session).ok


def test_a_late_report_tolerance_and_the_periodic_rerun(db: Database, payments: Payments) -> None:
    from settlement.reconciliation import configure_source
    from settlement.reconciliation.jobs import rerun_open_sources
    from settlement.reconciliation.rules import DEFAULT_RULES, SourceRules

    world = build_world(db, payments)
    configure_source("bank-tol", SourceRules(tolerance={"EUR": 1}))
    try:
        deposit = 9_680 + 4_825
        camt = camt053(
            [
                Entry(deposit, THURSDAY, remittance="STRIPE TRANSFER"),
                Entry(1_999, THURSDAY, remittance=reference_for("pi_banktransfer1")),
            ],
            opening=0,
            day=THURSDAY,
        )
        with db.transaction() as session:
            first = import_statement(session, "bank-tol", camt, as_of=THURSDAY)
            # The deposit waits for the provider's report; the payer sent 0.01 too little,
            # within this source's tolerance.
            assert first.run.counts["unmatched"] == 1 and first.run.counts["matched"] == 1
            assert payments.completed[0].amount == 2_000
            assert payments.completed[0].received == 1_999
        report = stripe_report(
            [
                StripeRow(
                    "txn_1",
                    10_000,
                    320,
                    "charge",
                    "ch_1",
                    "pi_3StripeA",
                    "po_1Late",
                    created=dt.date(2025, 3, 4),
                    payout_date=THURSDAY,
                ),
                StripeRow(
                    "txn_2",
                    5_000,
                    175,
                    "charge",
                    "ch_2",
                    "pi_3StripeB",
                    "po_1Late",
                    created=dt.date(2025, 3, 4),
                    payout_date=THURSDAY,
                ),
            ]
        )
        with db.transaction() as session:
            import_statement(session, "stripe", report, as_of=THURSDAY)
            outcomes = dict(
                session.execute(
                    select(LineRow.bank_reference, LineRow.outcome).where(
                        LineRow.source == "bank-tol"
                    )
                ).all()
            )
            assert outcomes == {"BANKREF0000": "matched", "BANKREF0001": "matched"}
            ledger = Ledger(session)
            differences = ledger.account(
                "platform", "reconciliation_differences", "EUR", normal="debit"
            )
            assert ledger.balance(differences.id).posted == 1
        # The payout C the bank has not shown yet, and pi_card3 Stripe has not reported,
        # stay open; the periodic job re-runs their sources and changes nothing twice.
        with db.transaction() as session:
            before = recon_transfers(session)
        counts = rerun_open_sources(db, as_of=THURSDAY)
        assert counts["stripe"]["expected"] == 1
        assert rerun_open_sources(db, as_of=THURSDAY) == counts
        with db.transaction() as session:
            assert recon_transfers(session) == before
            report_lines = daily_report(session, THURSDAY)
            assert [(r.statement_balance, r.unexplained) for r in report_lines] == [
                (deposit + 1_999, 0)
            ]
            assert verify(session).ok
        assert world.payouts
    finally:
        configure_source("bank-tol", DEFAULT_RULES)


def test_the_same_file_imported_concurrently_is_stored_once(
    db: Database, payments: Payments
) -> None:
    import threading

    data = camt053(
        [Entry(1_000, THURSDAY, remittance="x"), Entry(-400, THURSDAY)], opening=5_000, day=THURSDAY
    )
    created: list[bool] = []
    barrier = threading.Barrier(4)

    def importer() -> None:
        barrier.wait()
        created.append(db.run(lambda s: import_statement(s, "bank-c", data).created))

    threads = [threading.Thread(target=importer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created) == [False, False, False, True]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(StatementRow)) == 1
        assert session.scalar(select(func.count()).select_from(LineRow)) == 2
        assert [
            (r.statement_balance, r.ledger_balance, r.unexplained)
            for r in daily_report(session, THURSDAY)
        ] == [(5_600, 5_000, 0)]
        assert verify(session).ok
