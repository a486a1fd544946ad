"""Request size limits (1 MiB bodies, 32 MiB uploads) and the security headers.

The limits are enforced by the unit of work while it reads the body, so a client that
streams more than it announced (or announces nothing) is cut off at the limit too. The
upload limit is checked on a route declared like the service's upload routes
(``opt={"upload": True}``), mounted with the real unit of work on the live database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar, post
from litestar.params import RawBody
from litestar.testing import TestClient

from api.auth import PUBLIC
from api.errors import error_response
from api.keys import issue_key
from api.unit_of_work import MAX_BODY, MAX_UPLOAD, UnitOfWorkMiddleware
from tests.integrated_app import build_app


@pytest.fixture(scope="module")
def client(service: Any) -> Iterator[TestClient[Any]]:
    with TestClient(build_app(service)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def auth(service: Any) -> dict[str, str]:
    from core.accounts import open_account

    with service.db.transaction() as session:
        account = open_account(
            session, business_name="Limits GmbH", country="DE", default_currency="EUR"
        )
        key = issue_key(session, "merchant", account.id, "limits").secret
    return {"Authorization": f"Bearer {key}"}


def _assert_too_large(response: Any) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "too large" in error["message"]


def test_a_body_over_one_mebibyte_is_refused(client: Any, auth: dict[str, str]) -> None:
    body = b"description=" + b"a" * MAX_BODY
    response = client.post(
        "/v1/payment_intents",
        content=body,
        headers={**auth, "content-type": "application/x-www-form-urlencoded"},
    )
    _assert_too_large(response)


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(
    client: Any, auth: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"amount": 100, "currency": "eur", "description": "'
        for _ in range(40):
            yield b"x" * 32 * 1024  # 1.25 MiB in all, no content-length
        yield b'"}'

    response = client.post(
        "/v1/payment_intents",
        content=chunks(),
        headers={**auth, "content-type": "application/json"},
    )
    _assert_too_large(response)


def test_a_body_at_the_limit_is_read_and_judged_on_its_content(
    client: Any, auth: dict[str, str]
) -> None:
    prefix = b"amount=100&currency=eur&metadata[note]="
    body = prefix + b"a" * (MAX_BODY - len(prefix))
    assert len(body) == MAX_BODY
    response = client.post(
        "/v1/payment_intents",
        content=body,
        headers={**auth, "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"].startswith("metadata")


@post("/upload", opt={**PUBLIC, "upload": True}, status_code=200)
async def _upload(body: RawBody) -> dict[str, int]:
    return {"received": len(body)}


@post("/small", opt=PUBLIC, status_code=200)
async def _small(body: RawBody) -> dict[str, int]:
    return {"received": len(body)}


@pytest.fixture(scope="module")
def upload_client(service: Any) -> Iterator[TestClient[Any]]:
    app = Litestar(
        route_handlers=[_upload, _small],
        middleware=[UnitOfWorkMiddleware(service.db, service.settings)],
        exception_handlers={Exception: error_response},
        # Litestar's own default (10 MB) would cut uploads short of the unit of work's
        # 32 MiB; the service's app must raise it the same way.
        request_max_body_size=MAX_UPLOAD,
    )
    with TestClient(app) as test_client:
        yield test_client


def test_uploads_may_be_32_mebibytes_but_not_more(upload_client: Any) -> None:
    multipart = {"content-type": "multipart/form-data; boundary=x"}
    big = b"u" * (MAX_BODY * 4)
    accepted = upload_client.post("/upload", content=big, headers=multipart)
    assert accepted.status_code == 200 and accepted.json() == {"received": len(big)}
    refused_small = upload_client.post("/small", content=big, headers=multipart)
    _assert_too_large(refused_small)
    at_limit = upload_client.post("/upload", content=b"u" * MAX_UPLOAD, headers=multipart)
    assert at_limit.status_code == 200
    over = upload_client.post("/upload", content=b"u" * (MAX_UPLOAD + 1), headers=multipart)
    _assert_too_large(over)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/health"), ("GET", "/v1/payment_intents"), ("GET", "/v1/nope"), ("POST", "/v1/x")],
)
def test_every_answer_carries_the_security_headers(
    client: Any, auth: dict[str, str], method: str, path: str
) -> None:
    response = client.request(method, path, headers=auth)
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["request-id"].startswith("req_")
