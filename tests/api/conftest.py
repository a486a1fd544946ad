"""API tests share one live service; the ledger must verify after every one of them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from settlement.ledger import verify


@pytest.fixture(autouse=True)
def ledger_verifies_after_each_test(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "service" not in request.fixturenames:
        return
    service = request.getfixturevalue("service")
    with service.db.transaction(write=False) as session:
        report = verify(session)
    assert report.ok, f"ledger.verify() found problems: {report.problems[:5]}"


@pytest.fixture
def hook(service, merchant):
    """A webhook receiver subscribed to every event of ``merchant``."""
    from tests.webhook_receiver import Receiver

    receiver = Receiver().start()
    endpoint = merchant.client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["*"]}
    )
    receiver.secret = endpoint.secret
    yield receiver
    receiver.stop()
