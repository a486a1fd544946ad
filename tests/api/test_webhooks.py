"""Events and outbound webhooks, verified the way a merchant verifies them."""

from __future__ import annotations

import pytest
import stripe
from sqlalchemy import select

from payments.webhooks import DeliveryAttempt, WebhookDelivery
from tests.conftest import free_port
from tests.webhook_receiver import Receiver


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        r = Receiver(**kwargs).start()
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()


def _update_account(service, account_id: str, note: str):
    admin = service.stripe(service.admin_key)
    return admin.v1.accounts.update(account_id, params={"metadata": {"note": note}})


def test_events_are_signed_and_delivered_once(service, merchant, receiver):
    hook = receiver()
    endpoint = merchant.client.v1.webhook_endpoints.create(
        params={"url": hook.url, "enabled_events": ["account.updated"]}
    )
    assert endpoint.secret.startswith("whsec_")
    hook.secret = endpoint.secret
    assert "secret" not in merchant.client.v1.webhook_endpoints.retrieve(endpoint.id)

    _update_account(service, merchant.account_id, "first")
    service.wait_for(lambda: len(hook.events) == 1)
    event = hook.events[0]
    assert event.type == "account.updated"
    assert event.data.object.metadata["note"] == "first"
    assert event.data.previous_attributes["metadata"].to_dict() == {}
    listed = merchant.client.v1.events.list(params={"type": "account.updated"})
    assert [e.id for e in listed.data] == [event.id]
    assert merchant.client.v1.events.retrieve(event.id).id == event.id


def test_a_failing_receiver_still_gets_the_event_exactly_once(service, merchant, receiver):
    hook = receiver(fail_first=2, drop_first=1)
    endpoint = merchant.client.v1.webhook_endpoints.create(
        params={"url": hook.url, "enabled_events": ["*"]}
    )
    hook.secret = endpoint.secret
    _update_account(service, merchant.account_id, "retry me")
    service.wait_for(lambda: len(hook.events) == 1)
    with service.db.transaction(write=False) as session:
        delivery = session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        )
        service.wait_for(lambda: session.get(WebhookDelivery, delivery.id) is not None)

    def succeeded():
        with service.db.transaction(write=False) as session:
            d = session.get(WebhookDelivery, delivery.id)
            attempts = session.scalars(
                select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == d.id)
            ).all()
            return d.status == "succeeded" and len(attempts) == 4 and attempts

    attempts = service.wait_for(succeeded)
    assert [a.status_code for a in sorted(attempts, key=lambda a: a.number)][1:] == [500, 500, 200]
    assert len(hook.hits) == 4
    assert hook.event_ids() == [hook.events[0].id]


def _attempts(service, endpoint_id: str) -> list[DeliveryAttempt]:
    with service.db.transaction(write=False) as session:
        return list(
            session.scalars(
                select(DeliveryAttempt)
                .join(WebhookDelivery, WebhookDelivery.id == DeliveryAttempt.delivery_id)
                .where(WebhookDelivery.endpoint_id == endpoint_id)
                .order_by(DeliveryAttempt.number)
            )
        )


def _delivery(service, endpoint_id: str) -> WebhookDelivery | None:
    with service.db.transaction(write=False) as session:
        return session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        )


def test_a_receiver_that_times_out_is_retried_until_it_answers(service, merchant, receiver):
    """The endpoint takes longer than the delivery timeout: that attempt is logged as a
    timeout and retried, and the event is accepted once."""
    hook = receiver(hang_first=1)
    endpoint = merchant.client.v1.webhook_endpoints.create(
        params={"url": hook.url, "enabled_events": ["account.updated"]}
    )
    hook.secret = endpoint.secret
    _update_account(service, merchant.account_id, "slow receiver")
    service.wait_for(
        lambda: (d := _delivery(service, endpoint.id)) is not None and d.status == "succeeded"
    )
    attempts = _attempts(service, endpoint.id)
    assert [a.status_code for a in attempts] == [None, 200]
    assert "Timeout" in (attempts[0].error or "")
    assert len(hook.hits) == 2
    assert len(hook.events) == 1 and hook.events[0].type == "account.updated"


def test_deliveries_resume_when_a_down_endpoint_comes_back(service, merchant, receiver):
    """Nothing listens at the endpoint for a while (connection refused), then it starts:
    the event arrives once, and the log shows the failed attempts before it."""
    port = free_port()
    endpoint = merchant.client.v1.webhook_endpoints.create(
        params={"url": f"http://127.0.0.1:{port}/webhooks", "enabled_events": ["account.updated"]}
    )
    _update_account(service, merchant.account_id, "endpoint down")
    service.wait_for(lambda: len(_attempts(service, endpoint.id)) >= 2)
    assert _delivery(service, endpoint.id).status == "pending"

    hook = receiver(port=port, secret=endpoint.secret)
    service.wait_for(
        lambda: (d := _delivery(service, endpoint.id)) is not None and d.status == "succeeded",
        timeout=60,
    )
    attempts = _attempts(service, endpoint.id)
    assert all(a.status_code is None and "Connect" in (a.error or "") for a in attempts[:-1])
    assert attempts[-1].status_code == 200
    assert len(hook.events) == 1
    assert hook.events[0].data.object.metadata["note"] == "endpoint down"


def test_other_merchants_events_are_not_delivered(service, make_merchant, receiver):
    mine, theirs = make_merchant(name="Mine"), make_merchant(name="Theirs")
    hook = receiver()
    endpoint = mine.client.v1.webhook_endpoints.create(
        params={"url": hook.url, "enabled_events": ["*"]}
    )
    hook.secret = endpoint.secret
    _update_account(service, theirs.account_id, "not yours")
    _update_account(service, mine.account_id, "yours")
    service.wait_for(lambda: len(hook.events) >= 1)
    assert {e.account for e in hook.events} == {mine.account_id}
    with pytest.raises(stripe.InvalidRequestError) as hidden:
        theirs.client.v1.webhook_endpoints.retrieve(endpoint.id)
    assert hidden.value.http_status == 404
    mine_events = {e.id for e in mine.client.v1.events.list().data}
    theirs_events = {e.id for e in theirs.client.v1.events.list().data}
    assert not mine_events & theirs_events


def test_endpoint_validation_and_deletion(merchant):
    with pytest.raises(stripe.InvalidRequestError) as bad:
        merchant.client.v1.webhook_endpoints.create(
            params={"url": "ftp://example.com/hook", "enabled_events": ["*"]}
        )
    assert bad.value.param == "url"
    endpoint = merchant.client.v1.webhook_endpoints.create(
        params={"url": "https://example.com/hook", "enabled_events": ["charge.refunded"]}
    )
    deleted = merchant.client.v1.webhook_endpoints.delete(endpoint.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        merchant.client.v1.webhook_endpoints.retrieve(endpoint.id)
