"""Object identifiers in Stripe's style: a type prefix and random base62 characters.

The prefix tells a reader (and a router) what an id names (``pi_``, ``re_``, ...);
the random part is 24 characters from ``secrets`` so ids cannot be guessed or probed.
"""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int = 24) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str, length: int = 24) -> str:
    """``new_id("pi")`` -> ``"pi_3Nf0aV..."``."""
    return f"{prefix}_{random_token(length)}"
