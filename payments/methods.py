"""PaymentMethods: how a payer pays — a card (vaulted), a wallet, or a bank transfer.

A card's number goes into the vault the moment it arrives; the row keeps only what may be
shown (brand, last4, expiry, issuing country, funding) plus the fingerprint and the vault
token. Stripe's test ids (``pm_card_visa`` ...) are resolved into a fresh PaymentMethod
owned by the caller, as Stripe does, so every intent points at a real row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import vault
from core.database import Base, UTCDateTime, utcnow
from core.ids import new_id
from core.keyring import Keyring, fingerprint_key
from core.settings import Settings
from payments.bins import default_bin_table
from payments.cards import CardValidationError, fingerprint, validate_card
from payments.rails.base import (
    WALLET_PROVIDERS,
    BankTransferInstrument,
    CardInstrument,
    Instrument,
    WalletInstrument,
)
from payments.stripe_test_cards import resolve_test_payment_method

MethodType = Literal["card", "alipay", "wechat_pay", "paypal", "bank_transfer"]
METHOD_TYPES: frozenset[str] = frozenset({"card", *WALLET_PROVIDERS, "bank_transfer"})


class PaymentMethodError(ValueError):
    def __init__(self, message: str, param: str, code: str = "parameter_invalid") -> None:
        super().__init__(message)
        self.param = param
        self.code = code


class PaymentMethod(Base):
    __tablename__ = "payment_methods"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    type: Mapped[str] = mapped_column(String(20))
    card: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """brand, last4, exp_month, exp_year, country, funding, fingerprint (never the number)."""
    vault_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    test_token: Mapped[str | None] = mapped_column(String(80), nullable=True)
    billing_details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class CardDetails:
    number: str
    exp_month: int
    exp_year: int
    cvc: str | None = None


def _card_summary(number: str, brand: str, exp_month: int, exp_year: int, key: bytes) -> dict:
    record = default_bin_table().lookup(number)
    return {
        "brand": brand,
        "last4": number[-4:],
        "exp_month": exp_month,
        "exp_year": exp_year,
        "country": record.country if record else None,
        "funding": record.funding if record else "unknown",
        "fingerprint": fingerprint(number, key),
    }


def create_card(
    session: Session,
    settings: Settings,
    account_id: str,
    card: CardDetails,
    *,
    billing_details: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
    today: dt.date | None = None,
) -> PaymentMethod:
    """Validate, vault and describe a card. The CVC is checked and then dropped."""
    try:
        valid = validate_card(
            card.number,
            card.exp_month,
            card.exp_year,
            card.cvc,
            today=today or utcnow().date(),
        )
    except CardValidationError as exc:
        raise PaymentMethodError(str(exc), exc.param, exc.code) from exc
    return _store_card(
        session,
        settings,
        account_id,
        valid.number,
        valid.brand,
        valid.exp_month,
        valid.exp_year,
        billing_details=billing_details,
        metadata=metadata,
    )


def _store_card(
    session: Session,
    settings: Settings,
    account_id: str,
    number: str,
    brand: str,
    exp_month: int,
    exp_year: int,
    *,
    test_token: str | None = None,
    billing_details: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
) -> PaymentMethod:
    token = vault.store_card_number(session, Keyring.from_settings(settings), number)
    method = PaymentMethod(
        id=new_id("pm"),
        account_id=account_id,
        type="card",
        card=_card_summary(number, brand, exp_month, exp_year, fingerprint_key(settings)),
        vault_token=token,
        test_token=test_token,
        billing_details=billing_details or {},
        metadata_=metadata or {},
        created=utcnow(),
    )
    session.add(method)
    session.flush()
    return method


def create_from_test_token(
    session: Session, settings: Settings, account_id: str, token: str, *, param: str
) -> PaymentMethod:
    """``pm_card_visa`` -> a new PaymentMethod with that test card, owned by the caller."""
    test_card = resolve_test_payment_method(token)
    if test_card is None:
        raise PaymentMethodError(f"No such PaymentMethod: '{token}'", param, "resource_missing")
    from payments.cards import check_number

    digits, brand = check_number(test_card.number)
    month, year = test_card.expiry(utcnow().date())
    return _store_card(session, settings, account_id, digits, brand, month, year, test_token=token)


def create_other(
    session: Session,
    account_id: str,
    type_: str,
    *,
    billing_details: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
) -> PaymentMethod:
    """A wallet or bank-transfer method: nothing secret to hold, only the type."""
    if type_ not in METHOD_TYPES or type_ == "card":
        raise PaymentMethodError(f"Invalid payment method type: {type_}", "type")
    method = PaymentMethod(
        id=new_id("pm"),
        account_id=account_id,
        type=type_,
        billing_details=billing_details or {},
        metadata_=metadata or {},
        created=utcnow(),
    )
    session.add(method)
    session.flush()
    return method


def find(session: Session, account_id: str, method_id: str) -> PaymentMethod | None:
    method = session.get(PaymentMethod, method_id)
    return method if method is not None and method.account_id == account_id else None


def resolve(
    session: Session, settings: Settings, account_id: str, method_id: str, *, param: str
) -> PaymentMethod:
    """An existing PaymentMethod of this account, or a Stripe test id made concrete."""
    if resolve_test_payment_method(method_id) is not None:
        return create_from_test_token(session, settings, account_id, method_id, param=param)
    method = find(session, account_id, method_id)
    if method is None:
        raise PaymentMethodError(f"No such PaymentMethod: '{method_id}'", param, "resource_missing")
    return method


def instrument(
    session: Session, settings: Settings, method: PaymentMethod, cvc: str | None = None
) -> Instrument:
    """What a rail needs, revealing the card number from the vault only now."""
    if method.type == "card":
        assert method.card is not None and method.vault_token is not None
        number = vault.reveal(
            session, Keyring.from_settings(settings), method.vault_token, kind="card_number"
        )
        return CardInstrument(
            number=number,
            exp_month=int(method.card["exp_month"]),
            exp_year=int(method.card["exp_year"]),
            cvc=cvc,
            test_token=method.test_token,
        )
    if method.type in WALLET_PROVIDERS:
        return WalletInstrument(provider=method.type)  # type: ignore[arg-type]
    return BankTransferInstrument(payer_name=(method.billing_details or {}).get("name"))


def render(method: PaymentMethod) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": method.id,
        "object": "payment_method",
        "created": int(method.created.timestamp()),
        "livemode": False,
        "type": method.type,
        "billing_details": {
            "name": None,
            "email": None,
            "phone": None,
            "address": None,
            **(method.billing_details or {}),
        },
        "customer": None,
        "metadata": method.metadata_,
    }
    if method.type == "card" and method.card:
        card = method.card
        body["card"] = {
            "brand": card["brand"],
            "last4": card["last4"],
            "exp_month": card["exp_month"],
            "exp_year": card["exp_year"],
            "country": card.get("country"),
            "funding": card.get("funding", "unknown"),
            "fingerprint": card.get("fingerprint"),
            "checks": {
                "cvc_check": None,
                "address_line1_check": None,
                "address_postal_code_check": None,
            },
            "networks": {"available": [card["brand"]], "preferred": None},
        }
    else:
        body[method.type] = {}
    return body
