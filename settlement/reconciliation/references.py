"""The reference tokens a statement line carries, in the order they are trusted.

Structured references first (the end-to-end id the payer's bank must carry through, the
provider's own id), then what can be recognised inside free remittance text (an ISO
11649 ``RF`` creditor reference with valid check digits, Stripe-style object ids such
as ``po_...``), then the batch and the bank's own reference. The matching engine looks
each token up in its index of expected references; the first hit wins.
"""

from __future__ import annotations

import re
from typing import Final

from .statement import References

_OBJECT_ID: Final = re.compile(r"\b(?:po|pi|ch|py|re|tr|txn|pyr|obp)_[A-Za-z0-9]+\b")
_RF: Final = re.compile(r"R\s*F\s*\d\s*\d(?:[\s\-.]*[0-9A-Za-z]){1,21}", re.IGNORECASE)


_LETTERS: Final = str.maketrans({chr(c): str(c - 55) for c in range(ord("A"), ord("Z") + 1)})
"""ISO 7064's letter values: A=10 ... Z=35."""
_SEPARATOR: Final = re.compile(r"[\s\-.]+")


def is_creditor_reference(value: str) -> bool:
    """ISO 11649: ``RF``, two check digits, 1-21 of ``[0-9A-Z]``, mod 97-10 of the body
    followed by ``RF`` and the check digits is 1 (compact, upper-case input)."""
    if not 5 <= len(value) <= 25 or value[:2] != "RF" or not value[2:4].isdigit():
        return False
    body = value[4:]
    if not (body.isascii() and body.isalnum()):
        return False
    return int((body + value[:4]).translate(_LETTERS)) % 97 == 1


def creditor_references(text: str) -> list[str]:
    """Candidate ISO 11649 references in free text, compacted (spaces, dashes, dots
    removed, upper case).

    Free text does not say where a reference ends, so each end at a separator (and the
    end of the run of reference characters) is a candidate, longest first:
    ``RF18 5390 0754 7034 thanks`` yields ``RF18539007547034THANKS`` (compacted) and
    each shorter one down to ``RF18``, among them ``RF18539007547034``. Candidates are
    only looked up in the index of expected references (which holds valid ones), so
    their check digits need no checking here: a mistyped reference finds nothing.
    """
    found: list[str] = []
    if "rf" not in text and "RF" not in text and "rF" not in text and "Rf" not in text:
        return found
    for match in _RF.finditer(text):
        raw = match.group(0)
        ends = [m.start() for m in _SEPARATOR.finditer(raw)]
        ends.append(len(raw))
        for end in reversed(ends):
            found.append(_SEPARATOR.sub("", raw[:end]).upper())
    return found


def valid_creditor_references(text: str) -> list[str]:
    """:func:`creditor_references` whose check digits hold."""
    return [ref for ref in creditor_references(text) if is_creditor_reference(ref)]


def line_tokens(refs: References) -> tuple[str, ...]:
    """The line's tokens in trust order (a token may repeat; lookups do not mind)."""
    tokens: list[str] = []
    if refs.end_to_end_id:
        tokens.append(refs.end_to_end_id)
    if refs.provider_id:
        tokens.append(refs.provider_id)
    text = refs.remittance_info
    if text:
        tokens += creditor_references(text)
        tokens += _OBJECT_ID.findall(text)
    if refs.batch_id:
        tokens.append(refs.batch_id)
    if refs.bank_reference:
        tokens.append(refs.bank_reference)
    return tuple(tokens)


def normalise_reference(value: str) -> str:
    """How an expected item's reference is indexed: RF references compacted and upper
    case (as :func:`creditor_references` yields them), others as they are."""
    if value[:2] in ("RF", "rf", "Rf", "rF") and not (value.isalnum() and value.isupper()):
        compact = _SEPARATOR.sub("", value).upper()
        if is_creditor_reference(compact):
            return compact
    return value.strip()
