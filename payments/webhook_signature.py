"""Webhook signatures exactly as Stripe makes them, for both directions.

Header: ``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`` where the MAC is
over ``"<t>.<raw body>"`` keyed with the endpoint secret (the whole ``whsec_...``
string, UTF-8). Outbound deliveries to merchants are signed here so that
``stripe.Webhook.construct_event(payload, header, secret)`` accepts them; inbound
Stripe webhooks are verified here. The same scheme, under other header names, signs
the wallet and bank notifications of the sandbox rails.

Verification accepts any of several ``v1`` values (a secret being rolled sends one per
secret), compares in constant time, and refuses timestamps outside a tolerance window
(replay protection) in either direction.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Final

from core.ids import random_token

SCHEME: Final = "v1"
DEFAULT_TOLERANCE_SECONDS: Final = 300
HEADER: Final = "Stripe-Signature"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a prefix, not a secret


class SignatureError(ValueError):
    """A missing, malformed, stale or non-matching signature."""


@dataclass(frozen=True)
class ParsedSignature:
    timestamp: int
    signatures: tuple[str, ...]


def generate_endpoint_secret() -> str:
    """A new endpoint signing secret (``whsec_`` + 32 random base62 characters)."""
    return SECRET_PREFIX + random_token(32)


def _as_text(payload: bytes | str) -> str:
    return payload.decode("utf-8") if isinstance(payload, bytes | bytearray) else payload


def compute_signature(payload: bytes | str, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.{_as_text(payload)}".encode()
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(payload: bytes | str, secret: str, *, timestamp: int | None = None) -> str:
    """The header value for ``payload``: ``t=...,v1=...``."""
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},{SCHEME}={compute_signature(payload, secret, ts)}"


def sign_with_secrets(
    payload: bytes | str, secrets: list[str], *, timestamp: int | None = None
) -> str:
    """One ``v1`` per secret, for the overlap while an endpoint's secret is rolled."""
    if not secrets:
        raise ValueError("at least one secret is needed")
    ts = int(time.time()) if timestamp is None else timestamp
    parts = [f"t={ts}"] + [f"{SCHEME}={compute_signature(payload, s, ts)}" for s in secrets]
    return ",".join(parts)


def parse_header(header: str | None) -> ParsedSignature:
    if not header:
        raise SignatureError("no signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as exc:
                raise SignatureError("signature timestamp is not an integer") from exc
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("signature header has no timestamp")
    if not signatures:
        raise SignatureError(f"signature header has no {SCHEME} signature")
    return ParsedSignature(timestamp=timestamp, signatures=tuple(signatures))


def verify(
    payload: bytes | str,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: int | None = None,
) -> int:
    """Check ``header`` against ``payload``; return the signed timestamp or raise.

    ``tolerance`` <= 0 disables the age check (for replaying stored events in tests).
    """
    parsed = parse_header(header)
    expected = compute_signature(payload, secret, parsed.timestamp)
    # Compare against every candidate without short-circuiting on the first match.
    matched = False
    for candidate in parsed.signatures:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("no signature matches the payload and secret")
    if tolerance > 0:
        current = int(time.time()) if now is None else now
        if abs(current - parsed.timestamp) > tolerance:
            raise SignatureError("signature timestamp is outside the tolerance window")
    return parsed.timestamp
