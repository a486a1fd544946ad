"""Reconciliation fixtures: its tables (and those it posts to), an audit key per test."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# Table modules, imported before the ``db`` fixture creates the schema.
import settlement.ledger.tables
import settlement.reconciliation.tables  # noqa: F401
import tests.settlement.settlement_world  # noqa: F401  (payouts, runs, balance transactions)
from core.settings import get_settings


@pytest.fixture(autouse=True)
def audit_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    monkeypatch.setenv("CORRIDOR_AUDIT_SIGNING_KEY", base64.b64encode(raw).decode())
    monkeypatch.setenv("CORRIDOR_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
