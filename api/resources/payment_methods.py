"""``/v1/payment_methods``: cards (vaulted at once), wallets and bank transfers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from api.auth import ADMIN, MERCHANT, roles
from api.context import PrincipalDep, SessionDep
from api.envelope import CountryCode, Email, Metadata, Request, ShortText
from api.errors import InvalidRequest, NotFound, translate
from core.settings import get_settings
from payments import methods
from payments.methods import CardDetails, PaymentMethodError

CardNumber = Annotated[str, msgspec.Meta(min_length=12, max_length=23)]


@translate(PaymentMethodError)
def _method_error(exc: PaymentMethodError) -> InvalidRequest:
    status = 404 if exc.code == "resource_missing" else 400
    return InvalidRequest(str(exc), param=exc.param, code=exc.code, status=status)


class Card(Request):
    number: CardNumber
    exp_month: Annotated[int, msgspec.Meta(ge=1, le=12)]
    exp_year: Annotated[int, msgspec.Meta(ge=0, le=9999)]
    cvc: Annotated[str, msgspec.Meta(min_length=3, max_length=4, pattern=r"^\d+$")] | None = None


class Address(Request):
    country: CountryCode | None = None
    line1: ShortText | None = None
    line2: ShortText | None = None
    city: ShortText | None = None
    postal_code: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    state: ShortText | None = None


class BillingDetails(Request):
    name: ShortText | None = None
    email: Email | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    address: Address | None = None


class PaymentMethodCreate(Request):
    type: Literal["card", "alipay", "wechat_pay", "paypal", "bank_transfer"]
    card: Card | None = None
    billing_details: BillingDetails | None = None
    metadata: Metadata | None = None
    alipay: dict[str, str] | None = None
    wechat_pay: dict[str, str] | None = None
    paypal: dict[str, str] | None = None
    bank_transfer: dict[str, str] | None = None


def billing(details: BillingDetails | None) -> dict[str, Any]:
    return msgspec.to_builtins(details) if details is not None else {}


def create_method(
    session: Any, account_id: str, data: PaymentMethodCreate
) -> methods.PaymentMethod:
    """Shared by ``POST /v1/payment_methods`` and ``payment_method_data`` on intents."""
    if data.type == "card":
        if data.card is None:
            raise InvalidRequest(
                "Missing required param: card.", param="card", code="parameter_missing"
            )
        return methods.create_card(
            session,
            get_settings(),
            account_id,
            CardDetails(data.card.number, data.card.exp_month, data.card.exp_year, data.card.cvc),
            billing_details=billing(data.billing_details),
            metadata=data.metadata,
        )
    if data.card is not None:
        raise InvalidRequest("card is only allowed with type=card.", param="card")
    return methods.create_other(
        session,
        account_id,
        data.type,
        billing_details=billing(data.billing_details),
        metadata=data.metadata,
    )


class PaymentMethodController(Controller):
    path = "/v1/payment_methods"
    opt = roles(MERCHANT, ADMIN)

    @post("/", status_code=200, sync_to_thread=True)
    def create(
        self, data: JSONBody[PaymentMethodCreate], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        return methods.render(create_method(session, principal.require_account(), data))

    @get("/{method_id:str}", sync_to_thread=True)
    def retrieve(
        self, method_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        method = methods.find(session, principal.require_account(), method_id)
        if method is None:
            raise NotFound("payment_method", method_id)
        return methods.render(method)
