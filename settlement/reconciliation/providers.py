"""Expected-item providers: what each part of the system expects on statements.

- :class:`ProviderReportBatches` (built in, registered by the service): the lines of
  imported provider reports (Stripe) that were paid out in a provider payout are
  expected at the bank, batched by that payout: a bank deposit equal to a batch's sum
  matches it (N:1), or the payout id in the deposit's remittance text does.
- :class:`PayoutExpectations`: payouts sent to merchants' banks, from the ``payouts``
  table (:func:`install_payouts_link` registers it, with the hook that confirms a payout
  as ``paid`` when its debit shows on the statement).
- :class:`BankTransferExpectations` and :class:`CaptureExpectations`: adapters over
  protocols the payments side implements on its own tables (:class:`AwaitingBankTransfers`:
  intents waiting for a bank transfer; :class:`ProviderCaptures`: captures a provider
  such as Stripe must report), so reconciliation never reads payments' tables.

Bank-kind sources get payouts, bank transfers and provider batches; provider-kind
sources (a Stripe report) get captures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from .expected import Expected, ExpectedKind, Window, register_provider
from .statement import StatementKind
from .tables import LineRow, StatementRow


def source_kind(session: Session, source: str) -> StatementKind | None:
    kind = session.scalars(
        select(StatementRow.kind).where(StatementRow.source == source).limit(1)
    ).first()
    return StatementKind(kind) if kind is not None else None


class ProviderReportBatches:
    """Lines of provider reports, expected at the bank as their provider payout's batch."""

    def expected_items(
        self, session: Session, source: str, currency: str, window: Window
    ) -> Iterable[Expected]:
        if source_kind(session, source) is not StatementKind.BANK:
            return []
        rows = session.execute(
            select(
                LineRow.id,
                LineRow.amount,
                LineRow.direction,
                LineRow.fee,
                LineRow.value_date,
                LineRow.batch_id,
                LineRow.provider_id,
                LineRow.bank_reference,
            )
            .where(
                LineRow.kind == StatementKind.PROVIDER.value,
                LineRow.currency == currency,
                LineRow.batch_id.is_not(None),
                LineRow.value_date >= window.start,
                LineRow.value_date <= window.end,
            )
            .order_by(LineRow.value_date, LineRow.id)
        )
        items = []
        for row in rows:
            signed = row.amount if row.direction == "credit" else -row.amount
            references = {"balance_transaction": row.bank_reference} if row.bank_reference else {}
            items.append(
                Expected(
                    kind=ExpectedKind.PROVIDER_SETTLEMENT,
                    id=row.id,
                    amount=signed - row.fee,
                    currency=currency,
                    date=row.value_date,
                    references=references,
                    batch=row.batch_id,
                )
            )
        return items


# -- payouts ----------------------------------------------------------------------------


class PayoutExpectations:
    """Payouts sent to the bank (``in_transit``) or answered ``paid``, due on bank statements.

    A ``paid`` payout is already booked at the bank (the payouts side posted
    ``payouts_in_transit -> bank`` on the bank's answer). The statement shows the payout
    as a debit of its amount, named by its end-to-end id (``po-...``, see
    :func:`settlement.bankfiles.end_to_end_id`) or its id.
    """

    statuses = ("in_transit", "paid")

    def expected_items(
        self, session: Session, source: str, currency: str, window: Window
    ) -> Iterable[Expected]:
        from settlement.bankfiles import end_to_end_id
        from settlement.payouts.tables import Payout

        if source_kind(session, source) is not StatementKind.BANK:
            return []
        start = dt.datetime.combine(window.start, dt.time.min, dt.UTC)
        end = dt.datetime.combine(window.end, dt.time.max, dt.UTC)
        rows = session.scalars(
            select(Payout)
            .where(
                Payout.currency == currency,
                Payout.status.in_(self.statuses),
                Payout.arrival_date >= start,
                Payout.arrival_date <= end,
            )
            .order_by(Payout.arrival_date, Payout.id)
        )
        return [
            Expected(
                kind=ExpectedKind.PAYOUT,
                id=payout.id,
                amount=-payout.amount,
                currency=payout.currency,
                date=payout.arrival_date.date(),
                references={"payout_id": payout.id, "end_to_end_id": end_to_end_id(payout.id)},
                booked_at_bank=payout.status == "paid",
            )
            for payout in rows
        ]


def confirm_payout_paid(session: Session, payout_id: str) -> None:
    """The payout hook: the bank statement shows the payout left, so the bank's answer is
    ``paid`` (a payout already paid stays as it is; the payouts side makes it a no-op)."""
    from settlement.payouts.service import answer_payout

    answer_payout(session, payout_id, "paid")


def install_payouts_link() -> Callable[[], None]:
    """Register payouts as expected items and the confirmation hook; returns an undo."""
    from .hooks import on_payout_confirmed, remove_hook

    unregister = register_provider("payouts", PayoutExpectations())
    on_payout_confirmed(confirm_payout_paid)

    def undo() -> None:
        unregister()
        remove_hook(confirm_payout_paid)

    return undo


# -- payments (protocols the payments side implements) -----------------------------------


@dataclass(frozen=True, slots=True)
class AwaitingTransfer:
    intent_id: str
    amount_remaining: int
    currency: str
    reference: str
    """The intent's RF creditor reference the payer was told to quote."""
    since: dt.date


class AwaitingBankTransfers(Protocol):
    def awaiting(
        self, session: Session, currency: str, window: Window
    ) -> Iterable[AwaitingTransfer]:
        """Intents in ``currency`` waiting for a payer's bank transfer, created in ``window``."""
        ...


class BankTransferExpectations:
    def __init__(self, intents: AwaitingBankTransfers) -> None:
        self.intents = intents

    def expected_items(
        self, session: Session, source: str, currency: str, window: Window
    ) -> Iterable[Expected]:
        if source_kind(session, source) is not StatementKind.BANK:
            return []
        return [
            Expected(
                kind=ExpectedKind.BANK_TRANSFER_CREDIT,
                id=t.intent_id,
                amount=t.amount_remaining,
                currency=t.currency,
                date=t.since,
                references={"rf_reference": t.reference, "payment_intent": t.intent_id},
            )
            for t in self.intents.awaiting(session, currency, window)
        ]


@dataclass(frozen=True, slots=True)
class ProviderCapture:
    id: str
    """Corridor's id of what was captured (the payment intent)."""
    provider_id: str
    """The provider's id of it (Stripe ``pi_``/``ch_``), as its report names it."""
    amount: int
    """Gross captured (minus refunds are separate items, negative)."""
    currency: str
    date: dt.date


class ProviderCaptures(Protocol):
    def captures(
        self, session: Session, source: str, currency: str, window: Window
    ) -> Iterable[ProviderCapture]:
        """What the provider behind ``source`` should report, dated within ``window``."""
        ...


class CaptureExpectations:
    def __init__(self, captures: ProviderCaptures) -> None:
        self.captures = captures

    def expected_items(
        self, session: Session, source: str, currency: str, window: Window
    ) -> Iterable[Expected]:
        if source_kind(session, source) is not StatementKind.PROVIDER:
            return []
        return [
            Expected(
                kind=ExpectedKind.PROVIDER_SETTLEMENT,
                id=c.id,
                amount=c.amount,
                currency=c.currency,
                date=c.date,
                references={"provider_id": c.provider_id},
            )
            for c in self.captures.captures(session, source, currency, window)
        ]
