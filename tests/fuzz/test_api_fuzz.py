"""Schemathesis against ``/schema/openapi.json``: every operation, every role, hostile input.

For each operation of the OpenAPI document, generated requests (valid and invalid by the
schema) are sent in-process to the assembled app (:mod:`tests.integrated_app`) on the
live service's database, each with a key drawn from every role (merchant, another
merchant, finance, compliance, admin with and without ``Stripe-Account``) or none, and
with path and body ids sometimes swapped for real objects (:mod:`tests.fuzz.seeds`).
Every answer must:

* never be a 5xx;
* when 4xx, be Stripe's error envelope ``{"error": {"type", "message", ...}}``;
* conform to the document: documented status, media type, headers and schema;
* never show another merchant a seeded object (a 2xx on a non-public route for the other
  merchant's key with a seeded id is a leak).

Default: a quick pass (``QUICK_EXAMPLES`` per operation); ``CORRIDOR_TEST_FULL=1``
(CI's PostgreSQL run) generates ``FULL_EXAMPLES`` per operation. Afterwards the ledger
must still verify.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import update

from api.openapi_contract import route_options
from payments.webhooks import WebhookEndpoint
from settlement.ledger import verify
from tests.api.test_access import ACCESS
from tests.fuzz.seeds import Seeds, seed
from tests.integrated_app import build_app

FULL = os.environ.get("CORRIDOR_TEST_FULL") == "1"
QUICK_EXAMPLES = 8
FULL_EXAMPLES = 100
EXAMPLES = FULL_EXAMPLES if FULL else QUICK_EXAMPLES

PENDING_POLICY = {("GET", "/metrics")} - set(ACCESS)
"""Routes whose access policy the lead adds to tests/api/test_access.py with their wiring."""
ROUTES = sorted(set(ACCESS) | PENDING_POLICY)

ROLES = ("anonymous", "merchant", "other_merchant", "finance", "compliance", "admin", "acting")
"""``acting``: the admin key with ``Stripe-Account`` naming the fuzzed merchant."""


class _Sink(BaseHTTPRequestHandler):
    """Where fuzzed webhook endpoints point: accepts everything, on the loopback only."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


@pytest.fixture(scope="module")
def seeds(service: Any, sink: str) -> Iterator[Seeds]:
    seeded = seed(service, sink)
    yield seeded
    # Endpoints the fuzzer created must not receive the rest of the suite's events.
    with service.db.transaction() as session:
        session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.url == sink).values(deleted=True)
        )


@pytest.fixture(scope="module")
def app(service: Any, seeds: Seeds) -> Any:
    return build_app(service)


@pytest.fixture(scope="module")
def public_routes(app: Any) -> set[tuple[str, str]]:
    return {route for route, opt in route_options(app).items() if opt.get("public")}


@pytest.fixture(scope="module")
def api_schema(app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/schema/openapi.json", app)


def stripe_error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx is ``{"error": {"type": str, "message": str, ...}}``."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except Exception as exc:
        raise AssertionError(f"{response.status_code} without a JSON body") from exc
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"{response.status_code} body is not an error envelope: {body}"
    assert isinstance(error.get("type"), str) and error["type"], body
    assert isinstance(error.get("message"), str) and error["message"], body
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    stripe_error_envelope,
]


def _headers(role: str, seeds: Seeds) -> dict[str, str]:
    if role == "anonymous":
        return {}
    key = seeds.keys["admin" if role == "acting" else role]
    headers = {"Authorization": f"Bearer {key}"}
    if role == "acting":
        headers["Stripe-Account"] = seeds.account_id
    return headers


def _aim(case: Any, data: st.DataObject, seeds: Seeds, sink: str) -> bool:
    """Swap some ids for seeded ones; point webhook URLs at the sink. True if ids swapped."""
    swapped = False
    for name in list(case.path_parameters or {}):
        if name in seeds.ids and data.draw(st.booleans(), label=f"seed {name}"):
            case.path_parameters[name] = data.draw(st.sampled_from(seeds.ids[name]), label=name)
            swapped = True
    body = case.body if isinstance(case.body, dict) else None
    if body is not None:
        for name in list(body):
            if name in seeds.ids and data.draw(st.booleans(), label=f"seed body {name}"):
                body[name] = data.draw(st.sampled_from(seeds.ids[name]), label=name)
        if "url" in body and case.path.startswith("/v1/webhook_endpoints"):
            body["url"] = sink  # never let a generated URL send traffic off this machine
    return swapped


def _strategy(operation: Any) -> st.SearchStrategy[Any]:
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in modes))


def _route_param(route: tuple[str, str]) -> Any:
    # A receipt may be asked for as a PDF, which needs the Noto fonts installed.
    marks = [pytest.mark.fonts] if route[1].endswith("/receipt") else []
    return pytest.param(route, marks=marks, id=f"{route[0]} {route[1]}")


@pytest.mark.parametrize("route", [_route_param(route) for route in ROUTES])
def test_api_fuzz(
    route: tuple[str, str],
    api_schema: Any,
    seeds: Seeds,
    sink: str,
    public_routes: set[tuple[str, str]],
) -> None:
    method, path = route
    operation = api_schema[path][method]
    public = (method.lower(), path) in public_routes

    @given(case=_strategy(operation), data=st.data())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not FULL,
        database=None,
    )
    def fuzz(case: Any, data: st.DataObject) -> None:
        role = data.draw(st.sampled_from(ROLES), label="role")
        swapped = _aim(case, data, seeds, sink)
        response = case.call_and_validate(headers=_headers(role, seeds), checks=CHECKS)
        if role == "other_merchant" and swapped and not public:
            assert response.status_code >= 400, (
                f"another merchant's key got {response.status_code} on {case.method} "
                f"{case.formatted_path} with the fuzzed merchant's object"
            )

    fuzz()


def test_every_operation_is_fuzzed(api_schema: Any) -> None:
    operations = {
        (result.ok().method.upper(), result.ok().path) for result in api_schema.get_all_operations()
    }
    assert operations == set(ROUTES), sorted(operations ^ set(ROUTES))


def test_ledger_verifies_after_fuzzing(service: Any, seeds: Seeds) -> None:
    with service.db.transaction(write=False) as session:
        report = verify(session)
    assert report.ok, report.problems[:5]


POST_ROUTES = sorted(
    path
    for method, path in ACCESS
    # A webhook endpoint created from raw bytes could point off this machine.
    if method == "POST" and "{" not in path and not path.startswith("/v1/webhook_endpoints")
)
form_text = st.text(alphabet="abcdeinoprtuy_0129[]=&%+. \x00é", max_size=200)


@pytest.fixture(scope="module")
def raw_client(app: Any) -> Iterator[Any]:
    from litestar.testing import TestClient

    with TestClient(app) as client:
        yield client


@settings(
    max_examples=EXAMPLES * 5,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not FULL,
    database=None,
)
@given(
    path=st.sampled_from(POST_ROUTES),
    body=st.one_of(st.binary(max_size=300), form_text.map(str.encode)),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "application/json", "", "text/plain", "x/y;q=1"]
    ),
)
def test_any_body_on_any_create_route_is_a_4xx_envelope_or_success(
    raw_client: Any, seeds: Seeds, path: str, body: bytes, content_type: str
) -> None:
    """What the SDKs send is form encoding, which the schema above cannot describe: raw
    bytes and bracket soup, in every content type, to every create route."""
    headers = {**_headers("acting", seeds), "Idempotency-Key": os.urandom(8).hex()}
    if content_type:
        headers["content-type"] = content_type
    response = raw_client.post(path, content=body, headers=headers)
    assert response.status_code < 500, (path, body, response.text)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["type"] and error["message"]
