"""Secret API keys: random, shown once, stored only as a hash, each with one role.

Keys carry 238 bits of randomness, so a single SHA-256 is the right hash (a slow password
hash adds nothing against brute force of that space but would slow every request); the
lookup is by hash and the final comparison is constant-time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, UTCDateTime, utcnow
from core.ids import new_id, random_token

ROLES = ("merchant", "finance", "compliance", "admin")
PLATFORM_ROLES = ("finance", "compliance", "admin")
KEY_PREFIX = "sk_test_"


class InvalidKeyRequest(ValueError):
    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("accounts.id"), nullable=True, index=True
    )
    last4: Mapped[str] = mapped_column(String(4))
    description: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str
    """The only time the plain secret exists: show it once, then forget it."""


def issue_key(
    session: Session, role: str, account_id: str | None = None, description: str | None = None
) -> IssuedKey:
    if role not in ROLES:
        raise InvalidKeyRequest(f"role must be one of {', '.join(ROLES)}", "role")
    if role == "merchant" and not account_id:
        raise InvalidKeyRequest("a merchant key must be bound to an account", "account")
    if role != "merchant" and account_id:
        raise InvalidKeyRequest(
            f"a {role} key is a platform key and is not bound to an account", "account"
        )
    secret = KEY_PREFIX + random_token(40)
    key = ApiKey(
        id=new_id("key", 16),
        secret_hash=hash_secret(secret),
        role=role,
        account_id=account_id,
        last4=secret[-4:],
        description=description,
        created=utcnow(),
    )
    session.add(key)
    session.flush()
    return IssuedKey(key, secret)


def authenticate(session: Session, secret: str) -> ApiKey | None:
    if not secret.startswith(KEY_PREFIX):
        return None
    digest = hash_secret(secret)
    key = session.scalar(select(ApiKey).where(ApiKey.secret_hash == digest))
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, digest):  # pragma: no cover - index equality
        return None
    return key


@dataclass(frozen=True)
class KeyIdentity:
    """Who a valid key is: what every API request needs, with no database row attached."""

    id: str
    role: str
    account_id: str | None


IDENTITY_TTL_SECONDS = 5.0
"""How long a process remembers a valid key. Revoking a key here forgets it at once;
other processes stop accepting it within this many seconds."""

_identities: dict[str, tuple[float, KeyIdentity]] = {}
_identities_lock = threading.Lock()


def _recall(digest: str) -> KeyIdentity | None:
    with _identities_lock:
        cached = _identities.get(digest)
    return cached[1] if cached is not None and cached[0] > time.monotonic() else None


def remembered(secret: str) -> KeyIdentity | None:
    """The key's identity if :func:`identify` found it moments ago (no database needed)."""
    return _recall(hash_secret(secret)) if secret.startswith(KEY_PREFIX) else None


def identify(session: Session, secret: str) -> KeyIdentity | None:
    """:func:`authenticate`, remembered briefly: most requests then need no lookup at all."""
    if not secret.startswith(KEY_PREFIX):
        return None
    digest = hash_secret(secret)
    known = _recall(digest)
    if known is not None:
        return known
    now = time.monotonic()
    key = authenticate(session, secret)
    if key is None:
        return None
    identity = KeyIdentity(key.id, key.role, key.account_id)
    with _identities_lock:
        if len(_identities) > 10_000:
            _identities.clear()
        _identities[digest] = (now + IDENTITY_TTL_SECONDS, identity)
    return identity


def forget(key_id: str) -> None:
    with _identities_lock:
        for digest in [d for d, (_, who) in _identities.items() if who.id == key_id]:
            del _identities[digest]


def revoke_key(session: Session, key_id: str) -> ApiKey | None:
    key = session.get(ApiKey, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = utcnow()
    forget(key_id)
    return key
