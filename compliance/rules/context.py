"""What the rules see about one payment: the money, the parties, the channel.

The caller (payments, payouts) builds a :class:`PaymentContext` from its own objects, so
the rules never read another domain's tables. Amount thresholds are written in the rule
set's base currency, so the context carries the amount converted to it; the caller does
the conversion (it owns FX) and hands either the result or a ``to_base`` function to
:func:`build_context`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import pycountry

from core.money import check_minor, currency_code

ToBase = Callable[[int, str], int]
"""``to_base(amount_minor, currency) -> amount in the base currency's minor units``."""

PARTY_ROLES = ("payer", "beneficiary", "merchant")
PARTY_KINDS = ("person", "entity")
OBJECT_TYPES = ("payment_intent", "payout")

# Codes in use by payment networks that ISO 3166 leaves user-assigned (Kosovo).
_USER_ASSIGNED_COUNTRIES = frozenset({"XK"})


class ContextError(ValueError):
    """A payment context that the rules cannot evaluate honestly."""


def country_code(code: str | None, what: str = "country") -> str | None:
    """Validate an ISO 3166-1 alpha-2 code via pycountry; ``None`` stays ``None``."""
    if code is None or code == "":
        return None
    upper = code.strip().upper()
    if upper in _USER_ASSIGNED_COUNTRIES or pycountry.countries.get(alpha_2=upper) is not None:
        return upper
    raise ContextError(f"{what} {code!r} is not an ISO 3166-1 alpha-2 country code")


def region_code(code: str | None, what: str = "region") -> str | None:
    """Validate an ISO 3166-2 subdivision code (``UA-43``) via pycountry."""
    if code is None or code == "":
        return None
    upper = code.strip().upper()
    if pycountry.subdivisions.get(code=upper) is None:
        raise ContextError(f"{what} {code!r} is not an ISO 3166-2 subdivision code")
    return upper


@dataclass(frozen=True)
class Party:
    """A payer, beneficiary or merchant as far as compliance needs to know it.

    ``account``, ``address`` and ``date_of_birth`` are the travel-rule data; ``id`` is the
    caller's stable reference for the party (customer id), used as the velocity key.
    """

    name: str | None = None
    country: str | None = None
    region: str | None = None
    account: str | None = None
    address: str | None = None
    date_of_birth: dt.date | None = None
    kind: str = "person"
    id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "country", country_code(self.country))
        object.__setattr__(self, "region", region_code(self.region))
        if self.kind not in PARTY_KINDS:
            raise ContextError(f"party kind must be one of {PARTY_KINDS}, got {self.kind!r}")
        for name in ("name", "account", "address", "id"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ContextError(f"party {name} must be text")
            if isinstance(value, str) and not value.strip():
                object.__setattr__(self, name, None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["date_of_birth"] = self.date_of_birth.isoformat() if self.date_of_birth else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Party | None:
        if data is None:
            return None
        values = dict(data)
        dob = values.get("date_of_birth")
        values["date_of_birth"] = dt.date.fromisoformat(dob) if isinstance(dob, str) else dob
        return cls(**values)


@dataclass(frozen=True)
class PaymentContext:
    """One payment (or payout) as the rules evaluate it. Amounts are integer minor units."""

    ref: str
    """The business object's id (``pi_...``, ``po_...``)."""
    amount: int
    currency: str
    base_amount: int
    base_currency: str
    occurred_at: dt.datetime
    payer: Party = field(default_factory=Party)
    beneficiary: Party | None = None
    merchant: Party | None = None
    account_id: str | None = None
    """The merchant account (``acct_...``): the velocity and refund-ratio key."""
    email: str | None = None
    ip: str | None = None
    ip_country: str | None = None
    card_fingerprint: str | None = None
    card_country: str | None = None
    cross_border: bool = False
    object_type: str = "payment_intent"
    method: str | None = None
    """The payment method type (``card``, ``sepa_credit_transfer``, ``wallet``...)."""

    def __post_init__(self) -> None:
        if not self.ref:
            raise ContextError("a payment context needs the id of the object it describes")
        if not isinstance(self.payer, Party):
            raise ContextError("payer must be a Party (use Party() when nothing is known)")
        for role in ("beneficiary", "merchant"):
            if getattr(self, role) is not None and not isinstance(getattr(self, role), Party):
                raise ContextError(f"{role} must be a Party or None")
        for name in ("amount", "base_amount"):
            value = check_minor(getattr(self, name))
            if value < 0:
                raise ContextError(f"{name} must not be negative")
        object.__setattr__(self, "currency", currency_code(self.currency))
        object.__setattr__(self, "base_currency", currency_code(self.base_currency))
        if self.occurred_at.tzinfo is None:
            raise ContextError("occurred_at must be timezone-aware (UTC)")
        object.__setattr__(self, "ip_country", country_code(self.ip_country, "ip_country"))
        object.__setattr__(self, "card_country", country_code(self.card_country, "card_country"))
        if self.object_type not in OBJECT_TYPES:
            raise ContextError(f"object_type must be one of {OBJECT_TYPES}")
        if self.currency == self.base_currency and self.amount != self.base_amount:
            raise ContextError(
                "base_amount differs from amount although both are in the base currency"
            )

    def party(self, role: str) -> Party | None:
        if role == "payer":
            return self.payer
        if role == "beneficiary":
            return self.beneficiary
        if role == "merchant":
            return self.merchant
        raise KeyError(role)

    def with_ip_country(self, resolve: Callable[[str], str | None] | None) -> PaymentContext:
        """Fill ``ip_country`` from a resolver when the caller did not give it."""
        if self.ip_country or not self.ip or resolve is None:
            return self
        return replace(self, ip_country=resolve(self.ip))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "object_type": self.object_type,
            "amount": self.amount,
            "currency": self.currency,
            "base_amount": self.base_amount,
            "base_currency": self.base_currency,
            "occurred_at": self.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "payer": self.payer.to_dict(),
            "beneficiary": self.beneficiary.to_dict() if self.beneficiary else None,
            "merchant": self.merchant.to_dict() if self.merchant else None,
            "account_id": self.account_id,
            "email": self.email,
            "ip": self.ip,
            "ip_country": self.ip_country,
            "card_fingerprint": self.card_fingerprint,
            "card_country": self.card_country,
            "cross_border": self.cross_border,
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaymentContext:
        values = dict(data)
        values["occurred_at"] = dt.datetime.fromisoformat(values["occurred_at"])
        values["payer"] = Party.from_dict(values.get("payer")) or Party()
        values["beneficiary"] = Party.from_dict(values.get("beneficiary"))
        values["merchant"] = Party.from_dict(values.get("merchant"))
        return cls(**values)


def build_context(
    *,
    amount: int,
    currency: str,
    base_currency: str,
    to_base: ToBase | None = None,
    base_amount: int | None = None,
    **fields: Any,
) -> PaymentContext:
    """A context whose base amount is given, converted by ``to_base``, or equal to ``amount``."""
    currency = currency_code(currency)
    base_currency = currency_code(base_currency)
    if base_amount is None:
        if currency == base_currency:
            base_amount = amount
        elif to_base is None:
            raise ContextError(
                f"{currency} payment needs a base amount in {base_currency}:"
                " pass base_amount or to_base"
            )
        else:
            base_amount = to_base(amount, currency)
    return PaymentContext(
        amount=amount,
        currency=currency,
        base_amount=base_amount,
        base_currency=base_currency,
        **fields,
    )


# --------------------------------------------------------------------------- velocity keys

HISTORY_KEYS = ("payer", "card", "email", "ip", "account")


def _normal_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@lru_cache(maxsize=256)
def history_keys(ctx: PaymentContext) -> Mapping[str, str | None]:
    """The identifiers a payment is counted under for velocity and structuring.

    The payer is the caller's customer id when given, else its normalised name plus
    country (so the same person paying with two cards still aggregates).
    """
    payer = ctx.payer
    if payer.id:
        payer_key: str | None = f"id:{payer.id}"
    elif payer.name:
        payer_key = f"name:{_normal_text(payer.name)}|{payer.country or ''}"
    else:
        payer_key = None
    ip_key: str | None = None
    if ctx.ip:
        try:
            ip_key = ipaddress.ip_address(ctx.ip.strip()).compressed
        except ValueError:
            ip_key = ctx.ip.strip()
    return MappingProxyType(
        {
            "payer": payer_key,
            "card": ctx.card_fingerprint or None,
            "email": ctx.email.strip().casefold() if ctx.email and ctx.email.strip() else None,
            "ip": ip_key,
            "account": ctx.account_id or None,
        }
    )
