"""Object identifiers in Stripe's style: a type prefix and random base62 characters.

The prefix tells a reader (and a router) what an id names (``pi_``, ``re_``, ...);
the random part is 24 characters from ``secrets`` so ids cannot be guessed or probed.
"""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


_UNIFORM = 4 * len(_ALPHABET)
"""Random bytes below 248 (four times 62) map evenly onto the alphabet; the rest are
dropped, so every character stays equally likely."""
_TO_ALPHABET = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))
_OVER = bytes(range(_UNIFORM, 256))


def random_token(length: int = 24) -> str:
    """``length`` characters from ``secrets``: one read of random bytes, not one per
    character (ids are made several times a request)."""
    token = b""
    while len(token) < length:
        token += secrets.token_bytes(length + 4).translate(_TO_ALPHABET, _OVER)
    return token[:length].decode("ascii")


def new_id(prefix: str, length: int = 24) -> str:
    """``new_id("pi")`` -> ``"pi_3Nf0aV..."``."""
    return f"{prefix}_{random_token(length)}"
