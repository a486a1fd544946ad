"""Console sign-in sessions: an API key exchanged once for a server-side session.

The browser holds only a random token (in a ``Secure; HttpOnly; SameSite=Strict``
cookie); the table holds its SHA-256, so a copy of the table does not let anyone sign
in. Each session remembers the key, role and account it was opened with and its own
CSRF token. A session ends when it is signed out, when it has been idle too long, when
it reaches its absolute lifetime, or when its API key is revoked — checked on every
request, so revoking a key signs its console sessions out at once.

:func:`expires_at` and :func:`is_live` are the pure policy; the other functions work in
the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import ForeignKey, String, delete, or_
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.keys import ApiKey
from core.database import Base, UTCDateTime, utcnow
from core.ids import random_token

TOKEN_LENGTH = 43
"""Base62 characters of a session or CSRF token: about 256 bits."""


class ConsoleSession(Base):
    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 (hex) of the cookie's token; the token itself is never stored."""
    key_id: Mapped[str] = mapped_column(String(40), ForeignKey("api_keys.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    """The absolute end of the session, whatever its activity."""
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


@dataclass(frozen=True)
class SessionPolicy:
    idle: dt.timedelta = dt.timedelta(minutes=30)
    """A session unused this long has ended."""
    absolute: dt.timedelta = dt.timedelta(hours=12)
    """No session lives longer than this, however active."""
    touch_every: dt.timedelta = dt.timedelta(minutes=1)
    """``last_seen`` is written at most this often, so reading pages rarely writes."""


DEFAULT_POLICY = SessionPolicy()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def expires_at(created: dt.datetime, last_seen: dt.datetime, policy: SessionPolicy) -> dt.datetime:
    """When a session ends if nothing happens: idle timeout or absolute end, whichever first."""
    return min(created + policy.absolute, last_seen + policy.idle)


def is_live(row: ConsoleSession, now: dt.datetime, policy: SessionPolicy) -> bool:
    return now < min(row.expires, expires_at(row.created, row.last_seen, policy))


@dataclass(frozen=True)
class OpenedSession:
    token: str
    """For the cookie, this once."""
    row: ConsoleSession


def open_session(
    session: Session,
    key: ApiKey,
    *,
    policy: SessionPolicy = DEFAULT_POLICY,
    now: dt.datetime | None = None,
) -> OpenedSession:
    """A new session for a key that has just authenticated."""
    now = now or utcnow()
    token = random_token(TOKEN_LENGTH)
    row = ConsoleSession(
        id=token_hash(token),
        key_id=key.id,
        role=key.role,
        account_id=key.account_id,
        csrf_token=random_token(TOKEN_LENGTH),
        created=now,
        expires=now + policy.absolute,
        last_seen=now,
    )
    session.add(row)
    session.flush()
    return OpenedSession(token, row)


def find_session(
    session: Session,
    token: str | None,
    *,
    policy: SessionPolicy = DEFAULT_POLICY,
    now: dt.datetime | None = None,
) -> ConsoleSession | None:
    """The live session of ``token``; an ended one is deleted and ``None`` returned."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    row = session.get(ConsoleSession, token_hash(token))
    if row is None:
        return None
    key = session.get(ApiKey, row.key_id)
    if key is None or key.revoked_at is not None or not is_live(row, now, policy):
        session.delete(row)
        session.flush()
        return None
    if now - row.last_seen >= policy.touch_every:
        row.last_seen = now
        session.flush()
    return row


def close_session(session: Session, token: str | None) -> None:
    """Sign out: the session row goes, so the cookie is worthless even if kept."""
    if token:
        session.execute(delete(ConsoleSession).where(ConsoleSession.id == token_hash(token)))


def purge_ended(
    session: Session, *, policy: SessionPolicy = DEFAULT_POLICY, now: dt.datetime | None = None
) -> int:
    """Delete every session past its absolute end or idle for longer than the policy."""
    now = now or utcnow()
    result = session.execute(
        delete(ConsoleSession).where(
            or_(ConsoleSession.expires <= now, ConsoleSession.last_seen <= now - policy.idle)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def csrf_matches(expected: str, presented: str | None) -> bool:
    """Constant-time comparison of the session's CSRF token with what a form sent."""
    if not presented:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))
