"""Process-wide configuration, read once from ``CORRIDOR_*`` environment variables.

Every command (serve, migrate, keys, worker, beat) reads the same settings, so one
environment describes one deployment. Unset, everything points at the embedded default:
a SQLite file and in-process background work under ``CORRIDOR_DATA_DIR``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PREFIX = "CORRIDOR_"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(PREFIX + name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{PREFIX}{name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    """One deployment's configuration. Build with :func:`get_settings`."""

    data_dir: Path
    database_url: str
    broker_url: str | None = None
    """``None`` selects the embedded task runner (no broker server needed)."""
    vault_keys: str | None = None
    """``kid:base64key,kid2:base64key``; the first key encrypts, all decrypt."""
    audit_signing_key: str | None = None
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secret: str | None = None
    wallet_notification_secret: str | None = None
    smtp_url: str | None = None
    receipt_sender: str = "Corridor receipts <receipts@corridor.invalid>"
    card_fingerprint_key: str | None = None
    """base64; must be the same on every machine so a card keeps one fingerprint."""
    bank_receiving_iban: str | None = None
    bank_receiving_bic: str | None = None
    bank_receiving_name: str = "Corridor Payments"
    authorization_ttl_seconds: int = 7 * 24 * 3600
    idempotency_ttl_seconds: int = 24 * 3600
    rate_limit_per_minute: int = 0
    """0 disables per-key rate limiting."""
    transactions_per_worker: int = 3
    """How many requests one server process runs against the database at once; the
    rest wait their turn, first come first served. Near the cores a process can use:
    more only makes each transaction (and the row locks it holds) wait for the CPU."""
    public_base_url: str = "http://127.0.0.1:8000"
    webhook_retry_base_seconds: float = 60.0
    """First retry delay of an outbound webhook; it doubles up to 12 hours, for 3 days."""
    webhook_timeout_seconds: float = 10.0
    webhook_allow_private: bool = False
    """Allow webhook endpoints on loopback/private addresses (sandboxes and tests only)."""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_tasks(self) -> bool:
        return self.broker_url is None


def default_data_dir() -> Path:
    return Path(_env("DATA_DIR", "./corridor-data") or "./corridor-data").resolve()


def load_settings() -> Settings:
    data_dir = default_data_dir()
    database_url = _env("DATABASE_URL") or f"sqlite:///{data_dir / 'corridor.db'}"
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        broker_url=_env("BROKER_URL"),
        vault_keys=_env("VAULT_KEYS"),
        audit_signing_key=_env("AUDIT_SIGNING_KEY"),
        stripe_api_key=_env("STRIPE_API_KEY"),
        stripe_api_base=_env("STRIPE_API_BASE"),
        stripe_webhook_secret=_env("STRIPE_WEBHOOK_SECRET"),
        wallet_notification_secret=_env("WALLET_NOTIFICATION_SECRET"),
        smtp_url=_env("SMTP_URL"),
        receipt_sender=_env("RECEIPT_SENDER", "Corridor receipts <receipts@corridor.invalid>")
        or "",
        card_fingerprint_key=_env("CARD_FINGERPRINT_KEY"),
        bank_receiving_iban=_env("BANK_RECEIVING_IBAN"),
        bank_receiving_bic=_env("BANK_RECEIVING_BIC"),
        bank_receiving_name=_env("BANK_RECEIVING_NAME", "Corridor Payments") or "",
        authorization_ttl_seconds=_env_int("AUTHORIZATION_TTL_SECONDS", 7 * 24 * 3600),
        idempotency_ttl_seconds=_env_int("IDEMPOTENCY_TTL_SECONDS", 24 * 3600),
        rate_limit_per_minute=_env_int("RATE_LIMIT_PER_MINUTE", 0),
        transactions_per_worker=_env_int("TRANSACTIONS_PER_WORKER", 3),
        public_base_url=_env("PUBLIC_BASE_URL", "http://127.0.0.1:8000") or "",
        webhook_retry_base_seconds=float(_env("WEBHOOK_RETRY_BASE_SECONDS", "60") or 60),
        webhook_timeout_seconds=float(_env("WEBHOOK_TIMEOUT_SECONDS", "10") or 10),
        webhook_allow_private=(_env("WEBHOOK_ALLOW_PRIVATE", "0") or "0").lower()
        in ("1", "true", "yes"),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process; tests call ``get_settings.cache_clear()``."""
    return load_settings()
