"""Fixtures for the compliance rules, reviews and audit tests.

Every test signs audit entries with a key of its own (given through the settings, as a
deployment would), so tests never touch a developer's data directory.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# Table modules, imported before the ``db`` fixture creates the schema.
import compliance.audit
import compliance.reviews.tables
import compliance.rules.observations
import compliance.rules.store  # noqa: F401
from compliance.rules import Party, PaymentContext
from core.settings import get_settings

T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def audit_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    monkeypatch.setenv("CORRIDOR_AUDIT_SIGNING_KEY", base64.b64encode(raw).decode())
    monkeypatch.setenv("CORRIDOR_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield key
    get_settings.cache_clear()


@pytest.fixture
def make_ctx() -> Callable[..., PaymentContext]:
    """A USD card payment by a US payer at ``T0``; override any field by keyword."""
    counter = iter(range(1, 1_000_000))

    def build(**fields: Any) -> PaymentContext:
        n = next(counter)
        amount = fields.pop("amount", 10_000)
        values: dict[str, Any] = {
            "ref": f"pi_test{n}",
            "amount": amount,
            "currency": "USD",
            "base_amount": amount,
            "base_currency": "USD",
            "occurred_at": T0,
            "payer": Party(name="Jane Miller", country="US", id="cus_1"),
            "account_id": "acct_1",
            "email": "jane@example.com",
            "ip": "203.0.113.7",
            "card_fingerprint": "fp_1",
            "method": "card",
        }
        values.update(fields)
        return PaymentContext(**values)

    return build
