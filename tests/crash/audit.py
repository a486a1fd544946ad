"""After the run: compare the database with the model of acknowledged operations.

Each check returns problems in words (an empty list is a pass), so the test can show
every discrepancy at once rather than the first:

* the ledger verifies (every invariant of ``settlement.ledger.verify``);
* each merchant's ledger balance (pending + available + reserve, net of reservations)
  and the sum of its BalanceTransactions equal the model's prediction, and what is still
  reserved equals the payouts the bank has not answered;
* the objects are exactly those acknowledged (none lost, none extra), each in its
  acknowledged state; one ``payment_intent.created`` per idempotency key; one capture,
  refund or payout booking per object; no refund beyond what was captured;
* no idempotency claim is left hanging, and no background job gave up;
* every event of a merchant has exactly one successful delivery to its endpoint, whose
  log holds exactly one 2xx attempt, and the endpoint accepted every event id; an event
  it accepted more than once must be explained by a worker killed mid-delivery.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.idempotency import IdempotencyRecord
from core.events import Event
from core.jobs import Job
from payments.charges import Charge
from payments.intents import PaymentIntent
from payments.refunds import Refund
from payments.webhooks import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from settlement.balance_transactions import BalanceTransaction
from settlement.ledger import Ledger, verify
from settlement.ledger.tables import LedgerAccount
from settlement.payouts.tables import Payout
from settlement.runs.tables import SettlementRun
from tests.crash.endpoint import MerchantEndpoints
from tests.crash.model import Merchant, Model

MERCHANT_PURPOSES = ("merchant_pending", "merchant_available", "merchant_reserve")
MONEY_TYPES = ("charge", "refund", "payout", "payout_failure")


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            self.problems.append(message)


def audit(session: Session, model: Model, endpoints: MerchantEndpoints) -> Findings:
    found = Findings()
    _ledger(session, found)
    for merchant in model.merchants:
        _balances(session, model, merchant, found)
        _objects(session, model, merchant, found)
        _deliveries(session, merchant, endpoints, found)
    _leftovers(session, found)
    return found


def _ledger(session: Session, found: Findings) -> None:
    report = verify(session)
    found.figures["ledger_verify"] = "clean" if report.ok else f"{len(report.problems)} problems"
    found.figures["ledger_transfers"] = report.transfers
    for problem in report.problems[:20]:
        found.problems.append(f"ledger.verify: {problem}")


def _balances(session: Session, model: Model, merchant: Merchant, found: Findings) -> None:
    ledger = Ledger(session)
    owned = 0
    reserved = 0
    for account in session.scalars(
        select(LedgerAccount).where(
            LedgerAccount.owner == merchant.id, LedgerAccount.purpose.in_(MERCHANT_PURPOSES)
        )
    ):
        balance = ledger.balance(account.id)
        owned += balance.available
        reserved += balance.posted - balance.available
    expected = model.expected_balance(merchant.id)
    found.figures[f"balance {merchant.id}"] = owned
    found.check(
        owned == expected,
        f"{merchant.id}: ledger balance {owned} != {expected} predicted by the acknowledged "
        "operations",
    )
    in_flight = model.expected_in_flight_payouts(merchant.id)
    found.check(
        reserved == in_flight,
        f"{merchant.id}: {reserved} reserved in the ledger != {in_flight} for unanswered payouts",
    )
    net = session.scalar(
        select(func.coalesce(func.sum(BalanceTransaction.net), 0)).where(
            BalanceTransaction.account_id == merchant.id
        )
    )
    found.check(
        net == expected, f"{merchant.id}: BalanceTransactions sum to {net}, predicted {expected}"
    )
    counts = Counter(
        dict(
            session.execute(
                select(BalanceTransaction.type, func.count())
                .where(
                    BalanceTransaction.account_id == merchant.id,
                    BalanceTransaction.type.in_(MONEY_TYPES),
                )
                .group_by(BalanceTransaction.type)
            ).all()
        )
    )
    wanted = model.expected_balance_transactions(merchant.id)
    found.check(
        counts == wanted,
        f"{merchant.id}: BalanceTransactions by type {dict(counts)} != {dict(wanted)}",
    )
    duplicated = session.execute(
        select(BalanceTransaction.source, BalanceTransaction.type, func.count())
        .where(
            BalanceTransaction.account_id == merchant.id,
            BalanceTransaction.type.in_(MONEY_TYPES),
        )
        .group_by(BalanceTransaction.source, BalanceTransaction.type)
        .having(func.count() > 1)
    ).all()
    found.check(not duplicated, f"{merchant.id}: booked twice: {duplicated[:5]}")


def _objects(session: Session, model: Model, merchant: Merchant, found: Findings) -> None:
    acknowledged = {i.id: i for i in model.intents.values() if i.account == merchant.id}
    stored = {
        i.id: i
        for i in session.scalars(
            select(PaymentIntent).where(PaymentIntent.account_id == merchant.id)
        )
    }
    found.check(
        set(stored) == set(acknowledged),
        f"{merchant.id}: intents never acknowledged {sorted(set(stored) - set(acknowledged))[:5]}"
        f", acknowledged but missing {sorted(set(acknowledged) - set(stored))[:5]}",
    )
    charges = {
        c.id: c for c in session.scalars(select(Charge).where(Charge.account_id == merchant.id))
    }
    for intent_id, expected in acknowledged.items():
        row = stored.get(intent_id)
        if row is None:
            continue
        state = (row.status, row.amount_received, row.amount_capturable)
        wanted = (expected.status, expected.amount_received, expected.amount_capturable)
        found.check(
            state == wanted, f"{intent_id}: (status, received, capturable) {state} != {wanted}"
        )
        charge = charges.get(row.latest_charge_id or "")
        refunded = charge.amount_refunded if charge is not None else 0
        found.check(
            refunded == expected.refunded,
            f"{intent_id}: charge refunded {refunded}, acknowledged refunds {expected.refunded}",
        )
        if charge is not None:
            found.check(
                charge.amount_refunded <= charge.amount_captured,
                f"{charge.id}: refunded {charge.amount_refunded} "
                f"> captured {charge.amount_captured}",
            )

    _same_objects(
        found,
        f"{merchant.id}: refunds",
        {r.id: r for r in session.scalars(select(Refund).where(Refund.account_id == merchant.id))},
        {r.id: r for r in model.refunds.values() if r.account == merchant.id},
        lambda r: (r.amount, r.intent_id, r.status),
        lambda r: (r.amount, r.intent, r.status),
    )
    _same_objects(
        found,
        f"{merchant.id}: payouts",
        {p.id: p for p in session.scalars(select(Payout).where(Payout.account_id == merchant.id))},
        {p.id: p for p in model.payouts.values() if p.account == merchant.id},
        lambda p: (p.status, p.amount, p.fee),
        lambda p: (p.status, p.amount, p.fee),
    )

    runs = {
        r.id: (r.account_id, r.status)
        for r in session.scalars(
            select(SettlementRun).where(SettlementRun.account_id == merchant.id)
        )
    }
    for run_id, acknowledged_run in model.settlement_runs.items():
        if acknowledged_run[0] == merchant.id:
            found.check(
                runs.get(run_id) == acknowledged_run,
                f"{run_id}: stored {runs.get(run_id)}, acknowledged {acknowledged_run}",
            )

    created_per_key = session.execute(
        select(Event.idempotency_key, func.count(func.distinct(Event.object_id)))
        .where(Event.account_id == merchant.id, Event.type == "payment_intent.created")
        .group_by(Event.idempotency_key)
        .having(func.count(func.distinct(Event.object_id)) > 1)
    ).all()
    found.check(not created_per_key, f"{merchant.id}: keys that made two intents {created_per_key}")


def _same_objects(
    found: Findings,
    what: str,
    stored: dict[str, Any],
    acknowledged: dict[str, Any],
    stored_view: Callable[[Any], tuple[Any, ...]],
    acknowledged_view: Callable[[Any], tuple[Any, ...]],
) -> None:
    """Exactly the acknowledged objects exist, each as the client was told it is."""
    found.check(
        set(stored) == set(acknowledged),
        f"{what} never acknowledged {sorted(set(stored) - set(acknowledged))[:5]}, "
        f"acknowledged but missing {sorted(set(acknowledged) - set(stored))[:5]}",
    )
    for object_id, expected in acknowledged.items():
        row = stored.get(object_id)
        if row is not None:
            seen, told = stored_view(row), acknowledged_view(expected)
            found.check(seen == told, f"{object_id}: stored {seen}, acknowledged {told}")


def owed_events(session: Session, merchant: Merchant) -> set[str]:
    """The merchant's events its endpoint must receive: those from before the endpoint
    existed (the account's opening) are owed to nobody."""
    endpoint = session.get(WebhookEndpoint, merchant.endpoint_id)
    assert endpoint is not None
    return set(
        session.scalars(
            select(Event.id).where(
                Event.account_id == merchant.id, Event.created >= endpoint.created
            )
        )
    )


def _deliveries(
    session: Session, merchant: Merchant, endpoints: MerchantEndpoints, found: Findings
) -> None:
    events = owed_events(session, merchant)
    deliveries = {
        d.event_id: d
        for d in session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == merchant.endpoint_id)
        )
    }
    undelivered = sorted(
        e for e in events if e not in deliveries or deliveries[e].status != "succeeded"
    )
    found.check(not undelivered, f"{merchant.id}: events not delivered: {undelivered[:5]}")
    successes = dict(
        session.execute(
            select(DeliveryAttempt.delivery_id, func.count())
            .join(WebhookDelivery, WebhookDelivery.id == DeliveryAttempt.delivery_id)
            .where(
                WebhookDelivery.endpoint_id == merchant.endpoint_id,
                DeliveryAttempt.status_code >= 200,
                DeliveryAttempt.status_code < 300,
            )
            .group_by(DeliveryAttempt.delivery_id)
        ).all()
    )
    wrong = [
        (d.event_id, successes.get(d.id, 0))
        for d in deliveries.values()
        if successes.get(d.id, 0) != 1
    ]
    found.check(
        not wrong, f"{merchant.id}: deliveries without exactly one 2xx attempt: {wrong[:5]}"
    )
    seen = endpoints.seen(merchant.id)
    missing = sorted(events - set(seen))
    found.check(not missing, f"{merchant.id}: the endpoint never accepted {missing[:5]}")
    # A duplicate is explained only by a worker that died between the endpoint's 2xx and
    # recording it: its job was then claimed again. A failed attempt gives its claim back
    # (RetryLater does not count), so a job claimed more than once lost a worker.
    for event_id in sorted(e for e, n in seen.items() if n > 1):
        delivery = deliveries.get(event_id)
        claims = (
            session.scalar(select(Job.attempts).where(Job.key == f"deliver:{delivery.id}"))
            if delivery is not None
            else None
        )
        found.check(
            claims is not None and claims >= 2,
            f"{merchant.id}: {event_id} reached the endpoint {seen[event_id]} times, but no "
            f"worker died delivering it (its job was claimed {claims} times)",
        )
    found.figures[f"events {merchant.id}"] = len(events)


def _leftovers(session: Session, found: Findings) -> None:
    hanging = session.scalar(
        select(func.count())
        .select_from(IdempotencyRecord)
        .where(IdempotencyRecord.status == "in_flight")
    )
    found.check(hanging == 0, f"{hanging} idempotency keys are still claimed in flight")
    failed = session.execute(
        select(Job.name, Job.last_error).where(Job.status == "failed").limit(5)
    ).all()
    found.check(not failed, f"background jobs gave up: {failed}")
