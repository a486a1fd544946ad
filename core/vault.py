"""The vault: card and bank account numbers, stored only encrypted, behind a token.

Everything else in Corridor holds the token (``tok_...``) plus what may be shown —
brand, last4, expiry, fingerprint. The number itself is sealed with AES-256-GCM under
the keyring's active key; the row records the key id so keys rotate without a flag
day (:func:`reencrypt_all`). Only the processor adapters call :func:`reveal`, right
before sending a number to a processor. The CVC never reaches this module.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import LargeBinary, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, UTCDateTime, utcnow
from core.ids import new_id
from core.keyring import Keyring, KeyringError, Sealed

SecretKind = Literal["card_number", "bank_account_number"]
_KINDS: Final = frozenset({"card_number", "bank_account_number"})
TOKEN_PREFIX: Final = "tok"  # noqa: S105 - an id prefix, not a secret


class VaultError(LookupError):
    """An unknown token, a token of another kind, or a ciphertext that will not open."""


class VaultEntry(Base):
    """One sealed secret. No column holds anything readable about the number."""

    __tablename__ = "payments_vault_entries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    kid: Mapped[str] = mapped_column(String(32), index=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


def _binding(token: str, kind: str) -> bytes:
    return f"{token}|{kind}".encode("ascii")


def store(session: Session, keyring: Keyring, kind: SecretKind, secret: str) -> str:
    """Seal ``secret`` and return its new token. The caller's transaction commits it."""
    if kind not in _KINDS:
        raise ValueError(f"unknown vault secret kind {kind!r}")
    if not secret:
        raise ValueError("refusing to vault an empty secret")
    token = new_id(TOKEN_PREFIX)
    sealed = keyring.seal(secret.encode("utf-8"), _binding(token, kind))
    session.add(
        VaultEntry(
            id=token,
            kind=kind,
            kid=sealed.kid,
            nonce=sealed.nonce,
            ciphertext=sealed.ciphertext,
            created=utcnow(),
        )
    )
    session.flush()
    return token


def store_card_number(session: Session, keyring: Keyring, number: str) -> str:
    """Vault a validated PAN (see :func:`payments.cards.validate_card`)."""
    if not number.isascii() or not number.isdigit():
        raise ValueError("vault card numbers as bare digits (validate them first)")
    return store(session, keyring, "card_number", number)


def store_bank_account_number(session: Session, keyring: Keyring, number: str) -> str:
    """Vault an account number or IBAN, compacted (no spaces), upper-case."""
    compact = number.replace(" ", "").upper()
    if not compact.isascii() or not compact.isalnum():
        raise ValueError("a bank account number is letters and digits only")
    return store(session, keyring, "bank_account_number", compact)


def reveal(
    session: Session, keyring: Keyring, token: str, *, kind: SecretKind | None = None
) -> str:
    """The plain secret behind ``token`` — for processor adapters only; never log it."""
    # No autoflush: :func:`store` writes an entry at once, so nothing pending in the
    # session can change this read, and the caller's pending changes stay batched.
    with session.no_autoflush:
        entry = session.get(VaultEntry, token)
    if entry is None:
        raise VaultError(f"no vault entry {token!r}")
    if kind is not None and entry.kind != kind:
        raise VaultError(f"vault entry {token!r} holds a {entry.kind}, not a {kind}")
    return _open(keyring, entry).decode("utf-8")


def _open(keyring: Keyring, entry: VaultEntry) -> bytes:
    sealed = Sealed(kid=entry.kid, nonce=entry.nonce, ciphertext=entry.ciphertext)
    try:
        return keyring.open(sealed, _binding(entry.id, entry.kind))
    except (KeyringError, ValueError) as exc:
        raise VaultError(f"vault entry {entry.id!r} cannot be opened: {exc}") from exc


@dataclass(frozen=True)
class RotationReport:
    examined: int
    reencrypted: int
    already_current: int


def reencrypt_all(session: Session, keyring: Keyring, *, batch_size: int = 500) -> RotationReport:
    """Re-seal every entry not under the active key; idempotent.

    Refuses up front (changing nothing) if any entry is under a key the keyring no
    longer holds: dropping a key before rotating is the one mistake that loses data.
    Entries are rewritten in batches inside the caller's transaction.
    """
    stale_kids = set(
        session.scalars(
            select(VaultEntry.kid).where(VaultEntry.kid != keyring.active_kid).distinct()
        )
    )
    missing = stale_kids - keyring.kids
    if missing:
        raise VaultError(
            f"entries are sealed under keys not in the keyring: {sorted(missing)}; "
            "add those keys back before rotating"
        )
    total = session.scalar(select(func.count()).select_from(VaultEntry)) or 0
    reencrypted = 0
    last_id = ""
    while True:
        batch = session.scalars(
            select(VaultEntry)
            .where(VaultEntry.kid != keyring.active_kid, VaultEntry.id > last_id)
            .order_by(VaultEntry.id)
            .limit(batch_size)
        ).all()
        if not batch:
            break
        now = utcnow()
        for entry in batch:
            binding = _binding(entry.id, entry.kind)
            resealed = keyring.seal(_open(keyring, entry), binding)
            entry.kid, entry.nonce, entry.ciphertext = (
                resealed.kid,
                resealed.nonce,
                resealed.ciphertext,
            )
            entry.rotated = now
            reencrypted += 1
        last_id = batch[-1].id
        session.flush()
    return RotationReport(
        examined=total, reencrypted=reencrypted, already_current=total - reencrypted
    )


def last4(number: str) -> str:
    """The only part of a number that may be shown or logged."""
    compact = number.replace(" ", "")
    return compact[-4:]


def mask(number: str) -> str:
    """``"•••• 4242"`` — for receipts, logs and support screens."""
    return f"•••• {last4(number)}"
