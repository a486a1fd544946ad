"""The payment reference a payer copies into a bank transfer: an ISO 11649 "RF" reference.

Bank systems truncate, re-case and re-space free text, so the reference is built to
survive that: ``RF`` + two mod-97 check digits + 16 characters of ``[0-9A-Z]`` (case
does not matter, spaces do not matter, a typo fails the check digits instead of
matching someone else's payment). It is a hash of the intent id, so the same intent
always gets the same reference (a retried confirm shows the same instructions) and the
reference does not disclose the id. The 80-bit body makes a collision practically
impossible, and the intent table's unique index makes it impossible.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

BODY_LENGTH: Final = 16
_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# "RF", two digits, then BODY_LENGTH alphanumerics with any spacing between them.
_CANDIDATE: Final = re.compile(
    rf"R\s*F\s*\d\s*\d(?:[\s\-.]*[0-9A-Z]){{{BODY_LENGTH}}}(?![0-9A-Z])", re.IGNORECASE
)


def _base36(value: int, width: int) -> str:
    out = []
    while value:
        value, rem = divmod(value, 36)
        out.append(_ALPHABET[rem])
    return "".join(reversed(out)).rjust(width, "0")


def with_check_digits(body: str) -> str:
    """``RF`` + check digits + ``body`` (ISO 11649, ISO 7064 mod 97-10)."""
    body = body.upper()
    if not 1 <= len(body) <= 21 or not body.isalnum() or not body.isascii():
        raise ValueError("an RF reference body is 1-21 characters of [0-9A-Z]")
    check = mod_97_10.calc_check_digits(body + "RF")
    return f"RF{check}{body}"


def reference_for(object_id: str) -> str:
    """The stable RF reference of an intent (``RF`` + 2 digits + 16 characters)."""
    digest = hashlib.sha256(f"corridor.bank-reference.{object_id}".encode()).digest()
    return with_check_digits(_base36(int.from_bytes(digest[:10], "big"), BODY_LENGTH))


def is_valid(reference: str) -> bool:
    return iso11649.is_valid(reference)


def compact(reference: str) -> str:
    return iso11649.compact(reference)


def format_reference(reference: str) -> str:
    """``RF18 5390 0754 7034``: groups of four, as payers should type it."""
    return iso11649.format(reference)


def find_reference(text: str) -> str | None:
    """The first valid Corridor RF reference inside free remittance text, compacted.

    Tolerates lower case, spaces, dashes and dots between characters and text around
    it; ignores RF-looking strings whose check digits fail.
    """
    for match in _CANDIDATE.finditer(text):
        candidate = re.sub(r"[\s\-.]", "", match.group(0)).upper()
        if iso11649.is_valid(candidate):
            return candidate
    return None
