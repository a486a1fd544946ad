"""No card number, CVC, API key or webhook secret in the database, the logs or an error.

A representative run goes through the live service the way clients do (the ``stripe``
SDK's form encoding and JSON, with Idempotency-Keys, so responses are stored): cards sent
raw to ``POST /v1/payment_methods`` and inline in ``payment_method_data``, declined and
3-D Secure cards, malformed card numbers, webhook endpoints (whose ``whsec_`` secret is
shown once), refunds, wrong and near-miss keys. Then every text, JSON and binary column
of every table of the service's database (which by now also holds whatever the rest of
the suite did) and every log record of the run, raw and as the JSON handler writes it,
are searched for each secret that was sent or shown. Nothing may be found.

Logs of a separate Celery worker process (the PostgreSQL run) are not captured here.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import JSON, LargeBinary, MetaData, String, Text, select
from sqlalchemy.types import TypeDecorator

from api.keys import issue_key
from api.logs import configure_logging, make_handler
from core.accounts import open_account

CARDS = {
    "4242424242424242": "271",  # Visa, approves
    "5555555555554444": "828",  # Mastercard
    "378282246310005": "7319",  # American Express (4-digit CVC)
    "4000000000009995": "593",  # insufficient funds
    "4000002500003155": "615",  # 3-D Secure
    "6011111111111117": "947",  # Discover
}
MALFORMED = ["4242424242424241", "4111 1111 1111 1112", "1234567812345678"]
"""Card-like numbers that fail validation: they must not be echoed either."""


CLIENT_LOGGERS = ("stripe", "httpx", "httpcore")
"""The test's own clients: the stripe SDK logs request bodies at DEBUG by design."""


class Capture(logging.Handler):
    """Every service record, raw (message and exception as the code logged them)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in CLIENT_LOGGERS:
            return
        text = f"{record.name} {record.getMessage()} {json.dumps(vars(record), default=str)}"
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@pytest.fixture(scope="module")
def logs() -> Iterator[tuple[Capture, io.StringIO]]:
    root = logging.getLogger()
    raw = Capture()
    written = io.StringIO()
    shipped = make_handler("json", written)
    shipped.setLevel(logging.DEBUG)
    level = root.level
    root.addHandler(raw)
    root.addHandler(shipped)
    root.setLevel(logging.INFO)  # what the service ships by default (CORRIDOR_LOG_LEVEL)
    yield raw, written
    root.removeHandler(raw)
    root.removeHandler(shipped)
    root.setLevel(level)


@pytest.fixture(scope="module")
def run(service: Any, logs: Any) -> dict[str, Any]:
    """Drive the representative workload; return the secrets it used and what it saw."""
    with service.db.transaction() as session:
        account = open_account(
            session, business_name="Secrets GmbH", country="DE", default_currency="EUR"
        )
        merchant_key = issue_key(session, "merchant", account.id, "secrets").secret
        finance_key = issue_key(session, "finance", None, "secrets").secret
    secrets: list[str] = [merchant_key, finance_key, service.admin_key]
    responses: list[httpx.Response] = []
    sdk = service.stripe(merchant_key, max_network_retries=2)  # sends Idempotency-Keys
    http = httpx.Client(
        base_url=service.base_url, headers={"Authorization": f"Bearer {merchant_key}"}
    )

    def post(path: str, body: dict[str, Any]) -> httpx.Response:
        response = http.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        responses.append(response)
        return response

    for number, cvc in CARDS.items():
        secrets += [number, f"cvc:{cvc}"]
        card = {"number": number, "exp_month": 11, "exp_year": 2031, "cvc": cvc}
        method = sdk.v1.payment_methods.create(params={"type": "card", "card": card})
        try:
            intent = sdk.v1.payment_intents.create(
                params={
                    "amount": 4200,
                    "currency": "eur",
                    "payment_method": method.id,
                    "confirm": True,
                    "capture_method": "manual",
                    "receipt_email": "payer@example.com",
                }
            )
        except stripe.CardError as declined:
            assert number not in str(declined) and cvc not in str(declined.json_body)
            continue
        if intent.status == "requires_capture":
            sdk.v1.payment_intents.capture(intent.id)
            post("/v1/refunds", {"payment_intent": intent.id, "amount": 100})
        post(
            "/v1/payment_intents",
            {
                "amount": 1300,
                "currency": "eur",
                "confirm": True,
                "payment_method_data": {"type": "card", "card": card},
            },
        )
    for number in MALFORMED:
        card = {"number": number, "exp_month": 11, "exp_year": 2031, "cvc": "1234"}
        response = post("/v1/payment_methods", {"type": "card", "card": card})
        assert response.status_code == 400, response.text
        secrets.append(number.replace(" ", ""))
    bad_month = post(
        "/v1/payment_methods",
        {"type": "card", "card": {"number": "4242424242424242", "exp_month": 13, "cvc": "271"}},
    )
    assert bad_month.status_code == 400
    endpoint = sdk.v1.webhook_endpoints.create(
        params={"url": "http://127.0.0.1:9/hook", "enabled_events": ["payment_intent.created"]}
    )
    assert endpoint.secret and endpoint.secret.startswith("whsec_")
    secrets.append(endpoint.secret)
    sdk.v1.webhook_endpoints.delete(endpoint.id)
    near_miss = merchant_key[:-1] + ("A" if merchant_key[-1] != "A" else "B")
    for key in (near_miss, "sk_test_" + "x" * 40):
        response = httpx.get(
            f"{service.base_url}/v1/payment_intents", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 401
        responses.append(response)
        secrets.append(key)
    http.close()
    return {"secrets": secrets, "responses": responses}


def _needles(secret: str) -> list[str]:
    """A CVC is only a secret next to its name; alone, 3 digits are everywhere."""
    if secret.startswith("cvc:"):
        cvc = secret.removeprefix("cvc:")
        return [f'"cvc":"{cvc}"', f'"cvc": "{cvc}"', f"cvc={cvc}", f"card[cvc]={cvc}"]
    return [secret]


def _text_columns(table: Any) -> list[Any]:
    kinds = (String, Text, JSON, LargeBinary)
    columns = []
    for column in table.columns:
        column_type = column.type
        if isinstance(column_type, TypeDecorator):
            column_type = column_type.impl
        if isinstance(column_type, kinds) or column_type.__class__.__name__ in ("JSONB", "BYTEA"):
            columns.append(column)
    return columns


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("latin-1")
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def test_no_secret_is_stored_in_any_column(service: Any, run: dict[str, Any]) -> None:
    metadata = MetaData()
    metadata.reflect(service.db.engine)
    found: list[str] = []
    scanned = 0
    with service.db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = _text_columns(table)
            if not columns:
                continue
            for row in conn.execute(select(*columns)):
                scanned += 1
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = _as_text(value)
                    for secret in run["secrets"]:
                        if any(needle in text for needle in _needles(secret)):
                            found.append(f"{table.name}.{column.name} holds {secret[:6]}...")
    assert scanned > 50, "the scan must have seen the workload's rows"
    assert not found, found


def test_no_secret_is_logged(run: dict[str, Any], logs: Any) -> None:
    """Raw service records hold none; the shipped JSON lines (which also carry the test
    clients' DEBUG lines with whole request bodies) hold none after masking."""
    raw, written = logs
    assert raw.lines, "the workload must have logged (one access line per request at least)"
    shipped = written.getvalue()
    leaks = [
        (secret[:6], line[:300])
        for secret in run["secrets"]
        for needle in _needles(secret)
        for line in [shipped, *raw.lines]
        if needle in line
    ]
    assert not leaks, leaks


def test_no_secret_is_echoed_in_a_response(run: dict[str, Any]) -> None:
    for response in run["responses"]:
        for secret in run["secrets"]:
            for needle in _needles(secret):
                assert needle not in response.text, (response.status_code, secret[:6])


def test_configured_logging_masks_what_a_careless_line_would_leak() -> None:
    stream = io.StringIO()
    level = logging.getLogger().level
    handler = configure_logging("json", "INFO", stream)
    try:
        logging.getLogger("corridor.careless").error(
            "charging %s with cvc=%s using %s and %s",
            "4242 4242 4242 4242",
            "271",
            "sk_test_" + "k" * 36 + "WXYZ",
            "whsec_abcdefghijklmnop",
            extra={"card": {"number": "5555555555554444", "cvc": "828"}},
        )
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)
        logging.getLogger("uvicorn.access").disabled = False
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    text = json.dumps(line)
    for leaked in ("4242 4242 4242 4242", "5555555555554444", "cvc=271", "kkkkWXYZ", "abcdefgh"):
        assert leaked not in text
    assert "****4242" in line["message"] and "sk_test_****WXYZ" in line["message"]
    assert line["card"]["number"] == "****4444"
