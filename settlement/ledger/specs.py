"""What a caller asks the ledger to do: the operations a posting is made of.

Four operations, as in TigerBeetle's transfer modes:

- :class:`TransferSpec` moves ``amount`` from the debit to the credit account, either
  at once (``pending=False``) or as a reservation (``pending=True``), optionally timing
  out after ``timeout_seconds``;
- :class:`PostPending` posts a reservation, fully or partly (the rest is released);
- :class:`VoidPending` releases a reservation;
- :class:`Reversal` writes the correcting transfer of a posted one (sides swapped).

Each carries a client-supplied unique ``id`` that makes it idempotent. A
:class:`Journal` groups operations that all apply or none do.

The constructors reject *types* that can never be right (a float amount, a non-string
id) with ``TypeError``, because that is a programming error and must fail loudly; the
*values* (an empty id, a negative amount) are reported as result codes by
:func:`input_error`, like every other refusal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Final

from core.money import MAX_MINOR_AMOUNT, CurrencyError, currency_code

from .codes import ResultCode

MetadataValue = str | int | bool | None
Metadata = Mapping[str, MetadataValue]

MAX_ID_LENGTH: Final = 128
MAX_CODE_LENGTH: Final = 64
MAX_REFERENCE_LENGTH: Final = 255
RESERVED_ID_PREFIX: Final = "ledger:"
"""Ids the ledger writes itself (expiries) start with this; clients may not use it."""

MAX_TIMEOUT_SECONDS: Final = 10 * 366 * 24 * 3600
"""Ten years: a reservation that must outlive that is not a reservation."""


def _check_int(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if type(value) is not int:
        raise TypeError(f"{name} must be an int (minor units / seconds), got {value!r}")


def _check_str(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {value!r}")


def freeze_metadata(metadata: object) -> dict[str, MetadataValue]:
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping, got {metadata!r}")
    out: dict[str, MetadataValue] = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be str, got {key!r}")
        if value is not None and type(value) not in (str, int, bool):
            raise TypeError(
                f"metadata[{key!r}] must be str, int, bool or None (never a float), got {value!r}"
            )
        out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class TransferSpec:
    """Move ``amount`` minor units of ``currency`` from ``debit`` to ``credit``."""

    id: str
    debit: str
    credit: str
    amount: int
    currency: str
    code: str
    reference: str
    pending: bool = False
    timeout_seconds: int | None = None
    metadata: Metadata = field(default_factory=dict)

    def __post_init__(self) -> None:
        # One combined test for the usual case (built for every transfer of a batch);
        # the field-by-field checks below name the culprit when it fails.
        if not (
            type(self.id) is str
            and type(self.debit) is str
            and type(self.credit) is str
            and type(self.currency) is str
            and type(self.code) is str
            and type(self.reference) is str
            and type(self.amount) is int
        ):
            for name in ("id", "debit", "credit", "currency", "code", "reference"):
                _check_str(name, getattr(self, name))
            _check_int("amount", self.amount)
        _check_int("timeout_seconds", self.timeout_seconds, optional=True)
        if type(self.pending) is not bool:
            raise TypeError(f"pending must be a bool, got {self.pending!r}")
        metadata = self.metadata
        frozen = {} if type(metadata) is dict and not metadata else freeze_metadata(metadata)
        object.__setattr__(self, "metadata", frozen)


@dataclass(frozen=True, slots=True)
class PostPending:
    """Post the reservation ``pending_id``: all of it (``amount=None``) or part of it.

    ``code`` and ``reference`` default to the reservation's own.
    """

    id: str
    pending_id: str
    amount: int | None = None
    code: str | None = None
    reference: str | None = None
    metadata: Metadata = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_str("id", self.id)
        _check_str("pending_id", self.pending_id)
        _check_int("amount", self.amount, optional=True)
        _check_str("code", self.code, optional=True)
        _check_str("reference", self.reference, optional=True)
        object.__setattr__(self, "metadata", freeze_metadata(self.metadata))


@dataclass(frozen=True, slots=True)
class VoidPending:
    """Release the reservation ``pending_id`` without moving any money."""

    id: str
    pending_id: str
    code: str | None = None
    reference: str | None = None
    metadata: Metadata = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_str("id", self.id)
        _check_str("pending_id", self.pending_id)
        _check_str("code", self.code, optional=True)
        _check_str("reference", self.reference, optional=True)
        object.__setattr__(self, "metadata", freeze_metadata(self.metadata))


@dataclass(frozen=True, slots=True)
class Reversal:
    """Undo the posted transfer ``reverses`` with a transfer of the same amount, sides swapped.

    ``reference`` defaults to the reversed transfer's; ``code`` to ``"reversal"``.
    """

    id: str
    reverses: str
    code: str | None = None
    reference: str | None = None
    metadata: Metadata = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_str("id", self.id)
        _check_str("reverses", self.reverses)
        _check_str("code", self.code, optional=True)
        _check_str("reference", self.reference, optional=True)
        object.__setattr__(self, "metadata", freeze_metadata(self.metadata))


@dataclass(frozen=True, slots=True)
class Expiry:
    """The ledger's own operation that voids a timed-out reservation (see ``expire_pending``)."""

    id: str
    pending_id: str

    @classmethod
    def of(cls, pending_id: str) -> Expiry:
        return cls(id=f"{RESERVED_ID_PREFIX}expire:{pending_id}", pending_id=pending_id)


Operation = TransferSpec | PostPending | VoidPending | Reversal | Expiry


@dataclass(frozen=True, slots=True)
class Journal:
    """Header of a journal: operations that all apply or none do.

    ``rate`` and ``quote_id`` record the exchange a cross-currency journal was built
    from (see :mod:`.exchange`); the rate is kept as an exact decimal string.
    """

    code: str = ""
    reference: str = ""
    metadata: Metadata = field(default_factory=dict)
    rate: Decimal | None = None
    quote_id: str | None = None

    def __post_init__(self) -> None:
        _check_str("code", self.code)
        _check_str("reference", self.reference)
        _check_str("quote_id", self.quote_id, optional=True)
        if self.rate is not None and not isinstance(self.rate, Decimal):
            raise TypeError(f"rate must be a Decimal, got {self.rate!r}")
        object.__setattr__(self, "metadata", freeze_metadata(self.metadata))


def _id_ok(value: str, *, client: bool = True) -> bool:
    """1 to 128 printable ASCII characters, no spaces; clients may not use the ledger's prefix."""
    if not 0 < len(value) <= MAX_ID_LENGTH:
        return False
    if not (value.isascii() and value.isprintable()) or " " in value:
        return False
    return not (client and value.startswith(RESERVED_ID_PREFIX))


@lru_cache(maxsize=1024)
def valid_currency(code: str) -> str | None:
    """The upper-case ISO 4217 code, or ``None`` (cached: a handful of currencies repeat)."""
    try:
        return currency_code(code)
    except CurrencyError:
        return None


def _amount_error(amount: int) -> ResultCode | None:
    if amount <= 0:
        return ResultCode.AMOUNT_MUST_BE_POSITIVE
    if amount > MAX_MINOR_AMOUNT:
        return ResultCode.AMOUNT_TOO_LARGE
    return None


def _label_error(code: str | None, reference: str | None) -> ResultCode | None:
    if code is not None and not 0 < len(code) <= MAX_CODE_LENGTH:
        return ResultCode.CODE_INVALID
    if reference is not None and len(reference) > MAX_REFERENCE_LENGTH:
        return ResultCode.REFERENCE_INVALID
    return None


def input_error(op: Operation) -> ResultCode | None:
    """The first input rule ``op`` breaks, or ``None``. Depends on ``op`` alone."""
    if isinstance(op, Expiry):
        return None if _id_ok(op.id, client=False) else ResultCode.ID_INVALID
    if not _id_ok(op.id):
        return ResultCode.ID_INVALID
    if isinstance(op, TransferSpec):
        if op.debit == op.credit:
            return ResultCode.ACCOUNTS_MUST_BE_DIFFERENT
        error = _amount_error(op.amount)
        if error:
            return error
        if valid_currency(op.currency) is None:
            return ResultCode.CURRENCY_INVALID
        error = _label_error(op.code, op.reference)
        if error:
            return error
        if op.timeout_seconds is not None:
            if not op.pending:
                return ResultCode.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
            if op.timeout_seconds <= 0:
                return ResultCode.TIMEOUT_MUST_BE_POSITIVE
        return None
    if isinstance(op, PostPending | VoidPending):
        if not _id_ok(op.pending_id, client=False):
            return ResultCode.PENDING_ID_INVALID
        if op.pending_id == op.id:
            return ResultCode.PENDING_ID_MUST_BE_DIFFERENT
        if isinstance(op, PostPending) and op.amount is not None:
            error = _amount_error(op.amount)
            if error:
                return error
        return _label_error(op.code, op.reference)
    if not _id_ok(op.reverses, client=False):
        return ResultCode.REVERSES_INVALID
    if op.reverses == op.id:
        return ResultCode.REVERSES_MUST_BE_DIFFERENT
    return _label_error(op.code, op.reference)


def timeout_at(now: dt.datetime, seconds: int | None) -> dt.datetime | None:
    """When a reservation made at ``now`` expires; raises ``OverflowError`` past year 9999."""
    if seconds is None:
        return None
    if seconds > MAX_TIMEOUT_SECONDS:
        raise OverflowError(f"timeout of {seconds}s is beyond the ledger's horizon")
    return now + dt.timedelta(seconds=seconds)
