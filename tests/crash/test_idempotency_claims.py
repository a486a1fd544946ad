"""Idempotency claims after a crash: taken over safely, and never applied twice.

A request that dies leaves its key claimed. These tests pin down what the crash run
relies on: a claim's lease is a fencing token (a request that outlived its lease and was
taken over can neither store its response nor release the key), and on PostgreSQL a
claim whose request is gone is taken over at once, while a live one never is.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from api import idempotency
from api.idempotency import Claimed, IdempotencyRecord, InFlight, LeaseLost, Replay
from core.database import Database, utcnow

TTL = dt.timedelta(hours=24)
SCOPE = "acct_claims"


pytestmark = pytest.mark.usefixtures("own_data_dir")  # responses are sealed with the vault key


def claim(db: Database, key: str = "order-1", print_: str = "f" * 64) -> idempotency.Outcome:
    return db.run(lambda s: idempotency.claim(s, SCOPE, key, print_, TTL))


def age(db: Database, record_id: str, lease_left: dt.timedelta) -> dt.datetime:
    """Pretend the claim was taken long ago: its lease now ends ``lease_left`` from now."""
    until = utcnow() + lease_left
    db.run(
        lambda s: s.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)
            .values(locked_until=until)
        )
    )
    return until


def complete(db: Database, owner: Claimed, body: bytes) -> None:
    db.run(lambda s: idempotency.complete(s, owner, 200, [], body, "req_1"))


def test_a_request_that_outlived_its_lease_cannot_store_its_response(db: Database) -> None:
    first = claim(db)
    assert isinstance(first, Claimed)
    age(db, first.record_id, -dt.timedelta(seconds=1))
    second = claim(db)
    assert isinstance(second, Claimed) and second.record_id == first.record_id
    assert second.lease != first.lease

    with pytest.raises(LeaseLost):
        complete(db, first, b'{"from": "first"}')
    with pytest.raises(LeaseLost), db.transaction() as session:
        idempotency.hold(session, first)

    complete(db, second, b'{"from": "second"}')
    replay = claim(db)
    assert isinstance(replay, Replay) and replay.body == b'{"from": "second"}'


def test_release_leaves_a_key_that_was_taken_over_alone(db: Database) -> None:
    first = claim(db)
    assert isinstance(first, Claimed)
    age(db, first.record_id, -dt.timedelta(seconds=1))
    second = claim(db)
    assert isinstance(second, Claimed)

    db.run(lambda s: idempotency.release(s, first))  # the first one's 4xx, say
    assert isinstance(claim(db), InFlight)  # still the second request's
    db.run(lambda s: idempotency.release(s, second))
    assert isinstance(claim(db), Claimed)


def test_a_live_claim_within_its_lease_is_in_flight(db: Database) -> None:
    first = claim(db)
    assert isinstance(first, Claimed)
    with db.transaction() as session:
        idempotency.hold(session, first)  # still ours: no error
    assert isinstance(claim(db), InFlight)


@pytest.mark.postgres
def test_a_claim_whose_request_died_is_taken_over_at_once(db: Database) -> None:
    first = claim(db)
    assert isinstance(first, Claimed)
    # Old enough to have begun its transaction, with most of its lease left.
    lease = age(db, first.record_id, idempotency.LEASE - dt.timedelta(seconds=5))
    first = Claimed(first.record_id, lease)

    # The request's transaction holds the claim: a duplicate must wait (409).
    request = db.session()
    idempotency.hold(request, first)
    assert isinstance(claim(db), InFlight)

    # Its process dies: the server ends the connection, and with it the lock.
    request.connection().invalidate()
    request.close()
    taken = claim(db)
    assert isinstance(taken, Claimed) and taken.record_id == first.record_id
    with pytest.raises(LeaseLost):
        complete(db, first, b"{}")


@pytest.mark.postgres
def test_a_fresh_claim_is_not_taken_over_before_its_request_begins(db: Database) -> None:
    first = claim(db)
    assert isinstance(first, Claimed)
    # Nobody holds the lock yet, but the claim is younger than the grace period.
    assert isinstance(claim(db), InFlight)
