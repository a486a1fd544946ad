"""Events fan out to webhook endpoints inside the transaction that emitted them.

The deliveries (and their jobs) commit with the events or not at all; an event emitted
in a savepoint that rolled back, or in a transaction that rolled back, is owed to
nobody, and neither stops a later event of the same session from fanning out.
"""

from __future__ import annotations

from sqlalchemy import select

from core.database import Database
from core.events import Event, emit
from core.jobs import Job
from core.keyring import Keyring, new_key_spec
from payments.webhooks import WebhookDelivery, create_endpoint


def _endpoint(db: Database, account_id: str, events: list[str]) -> str:
    keyring = Keyring.parse(new_key_spec())

    def work(session):
        endpoint, _secret = create_endpoint(
            session,
            keyring,
            account_id=account_id,
            url="https://merchant.example/hooks",
            enabled_events=events,
        )
        return endpoint.id

    return db.run(work)


def _delivered(db: Database) -> dict[str, str]:
    """Event type by delivered event id."""
    with db.transaction(write=False) as session:
        rows = session.execute(
            select(WebhookDelivery.event_id, Event.type).join(
                Event, Event.id == WebhookDelivery.event_id
            )
        )
        return {event_id: type_ for event_id, type_ in rows}


def test_deliveries_commit_with_their_events_in_one_transaction(db: Database) -> None:
    endpoint = _endpoint(db, "acct_a", ["payment_intent.succeeded"])
    _endpoint(db, "acct_other", ["*"])

    def work(session):
        emit(session, "acct_a", "payment_intent.created", {"id": "pi_1"})
        emit(session, "acct_a", "payment_intent.succeeded", {"id": "pi_1"})
        emit(session, "acct_b", "payment_intent.succeeded", {"id": "pi_2"})  # no endpoint

    db.run(work)
    assert sorted(_delivered(db).values()) == ["payment_intent.succeeded"]
    with db.transaction(write=False) as session:
        jobs = session.scalars(select(Job.name)).all()
        delivery = session.scalars(select(WebhookDelivery)).one()
    assert delivery.endpoint_id == endpoint
    assert "webhooks.fan_out" not in jobs  # fanned out in the transaction itself
    assert jobs.count("webhooks.deliver") == 1


def test_a_rolled_back_transaction_owes_nothing_and_does_not_stop_the_next(
    db: Database,
) -> None:
    _endpoint(db, "acct_a", ["*"])
    session = db.session(write=True)
    try:
        emit(session, "acct_a", "doomed", {"id": "x"})
        session.rollback()
        emit(session, "acct_a", "kept", {"id": "y"})
        session.commit()
    finally:
        session.close()
    assert sorted(_delivered(db).values()) == ["kept"]


def test_a_rolled_back_savepoint_owes_nothing_and_does_not_stop_the_next(
    db: Database,
) -> None:
    _endpoint(db, "acct_a", ["*"])

    def work(session):
        savepoint = session.begin_nested()
        emit(session, "acct_a", "in_savepoint", {"id": "x"})  # the first: queues the fan-out
        savepoint.rollback()
        emit(session, "acct_a", "after_savepoint", {"id": "y"})

    db.run(work)
    assert sorted(_delivered(db).values()) == ["after_savepoint"]
