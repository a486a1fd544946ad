"""``/v1/payment_intents``: Stripe's PaymentIntents over Corridor's rails."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, get, post
from litestar import Request as LitestarRequest
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.orm import Session

from api.auth import ADMIN, COMPLIANCE, FINANCE, MERCHANT, Principal, roles
from api.context import ExpandDep, PrincipalDep, SessionDep
from api.envelope import (
    Amount,
    CountryCode,
    CurrencyCode,
    Email,
    Metadata,
    Request,
    ShortText,
    merge_metadata,
)
from api.errors import CardError, InvalidRequest, NotFound, translate
from api.pagination import PAGE, PageDep, list_of, owned
from api.resources.payment_methods import PaymentMethodCreate, create_method
from core.accounts import get_account
from core.settings import get_settings
from i18n.declines import decline_message
from i18n.locales import language_tag, negotiate
from payments import charges, intents
from payments.charges import Charge
from payments.intent_state import IntentStateError
from payments.intents import Context, NewIntent, PaymentDeclined, PaymentError, PaymentIntent
from payments.methods import PaymentMethod
from payments.rails.base import RailError, RetryableRailError

MethodType = Literal["card", "alipay", "wechat_pay", "paypal", "bank_transfer"]
Descriptor = Annotated[str, msgspec.Meta(max_length=22)]
Url = Annotated[str, msgspec.Meta(max_length=2048)]


@translate(IntentStateError)
def _state_error(exc: IntentStateError) -> InvalidRequest:
    return InvalidRequest(exc.message, code=exc.code)


@translate(PaymentError)
def _payment_error(exc: PaymentError) -> InvalidRequest:
    return InvalidRequest(
        str(exc),
        param=exc.param,
        code=exc.code,
        status=404 if exc.code == "resource_missing" else 400,
    )


@translate(PaymentDeclined)
def _declined(exc: PaymentDeclined) -> CardError:
    decline = exc.decline
    error = intents.render(exc.intent)
    return CardError(
        decline.message,
        code=decline.code,
        decline_code=decline.decline_code,
        keep_changes=True,
        extra={"payment_intent": error, "charge": exc.intent.latest_charge_id},
    )


@translate(RetryableRailError)
def _retryable(exc: RetryableRailError) -> InvalidRequest:
    error = InvalidRequest(
        "The payment processor did not answer in time. Nothing was applied; retry with the "
        "same Idempotency-Key.",
        code="processing_error",
        status=503,
    )
    error.type = "api_error"
    return error


@translate(RailError)
def _rail_error(exc: RailError) -> InvalidRequest:
    return InvalidRequest(exc.message, code=exc.code)


class Payer(Request):
    """Corridor's payer details, used by compliance screening and risk rules."""

    name: ShortText | None = None
    email: Email | None = None
    country: CountryCode | None = None
    ip_address: Annotated[str, msgspec.Meta(max_length=45)] | None = None
    date_of_birth: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    address: ShortText | None = None
    account: ShortText | None = None
    locale: Annotated[str, msgspec.Meta(max_length=35)] | None = None
    """The payer's language for receipts (BCP 47, e.g. ``ja`` or ``pt-BR``)."""
    timezone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    """The payer's account reference (IBAN, wallet id), for travel-rule data."""


class AutomaticPaymentMethods(Request):
    enabled: bool = False
    allow_redirects: Literal["always", "never"] | None = None


class IntentCreate(Request):
    amount: Amount
    currency: CurrencyCode
    capture_method: Literal["automatic", "automatic_async", "manual"] = "automatic"
    confirm: bool = False
    confirmation_method: Literal["automatic", "manual"] | None = None
    payment_method: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    payment_method_data: PaymentMethodCreate | None = None
    payment_method_types: list[MethodType] | None = None
    automatic_payment_methods: AutomaticPaymentMethods | None = None
    description: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    metadata: Metadata | None = None
    receipt_email: Email | None = None
    statement_descriptor: Descriptor | None = None
    return_url: Url | None = None
    payer: Payer | None = None
    fx_quote: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class IntentUpdate(Request):
    amount: Amount | None = None
    currency: CurrencyCode | None = None
    capture_method: Literal["automatic", "automatic_async", "manual"] | None = None
    payment_method: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    payment_method_types: list[MethodType] | None = None
    description: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    metadata: Metadata | None = None
    receipt_email: Email | None = None
    statement_descriptor: Descriptor | None = None
    payer: Payer | None = None
    fx_quote: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class IntentConfirm(Request):
    payment_method: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    payment_method_data: PaymentMethodCreate | None = None
    return_url: Url | None = None
    receipt_email: Email | None = None


class IntentCapture(Request):
    amount_to_capture: Amount | None = None
    metadata: Metadata | None = None


class IntentCancel(Request):
    cancellation_reason: (
        Literal["abandoned", "duplicate", "fraudulent", "requested_by_customer"] | None
    ) = None


def _context(session: Session, account_id: str) -> Context:
    account = get_account(session, account_id)
    assert account is not None
    return Context(session, get_settings(), account)


def _find(session: Session, principal: Principal, intent_id: str):
    intent = intents.find(session, None, intent_id)
    if intent is None or not principal.owns(intent.account_id):
        raise NotFound("payment_intent", intent_id)
    return intent


def _find_to_change(
    session: Session, principal: Principal, intent_id: str
) -> tuple[PaymentIntent, Context]:
    """The intent, locked, and the context of its merchant (read with it)."""
    found = intents.find_with_account(session, intent_id)
    if found is None or not principal.owns(found[0].account_id):
        raise NotFound("payment_intent", intent_id)
    intent, account = found
    return intent, Context(session, get_settings(), account)


def render(session: Session, intent: PaymentIntent, expand: list[str]) -> dict[str, Any]:
    charge = None
    if "latest_charge" in expand and intent.latest_charge_id:
        row = session.get(Charge, intent.latest_charge_id)
        charge = charges.render(row) if row else None
    return intents.render(intent, charge=charge)


def _types(data: IntentCreate) -> tuple[str, ...]:
    if data.payment_method_types:
        return tuple(data.payment_method_types)
    if data.automatic_payment_methods and data.automatic_payment_methods.enabled:
        if data.automatic_payment_methods.allow_redirects == "never":
            return ("card",)
        return ("card", "alipay", "wechat_pay", "paypal", "bank_transfer")
    if data.payment_method_data is not None:
        return (data.payment_method_data.type,)
    return ("card",)


class PaymentIntentController(Controller):
    path = "/v1/payment_intents"
    opt = roles(MERCHANT, ADMIN)

    @post("/", status_code=200, sync_to_thread=True)
    def create(
        self,
        data: JSONBody[IntentCreate],
        session: SessionDep,
        principal: PrincipalDep,
        expand: ExpandDep,
    ) -> dict[str, Any]:
        ctx = _context(session, principal.require_account())
        method: str | PaymentMethod | None = data.payment_method
        if data.payment_method_data is not None:
            if method:
                raise InvalidRequest(
                    "Provide payment_method or payment_method_data, not both.",
                    param="payment_method_data",
                )
            method = create_method(session, ctx.account.id, data.payment_method_data)
        intent = intents.create(
            ctx,
            NewIntent(
                amount=data.amount,
                currency=data.currency,
                capture_method=data.capture_method,
                payment_method_types=_types(data),
                payment_method=method,
                description=data.description,
                metadata=data.metadata,
                receipt_email=data.receipt_email,
                statement_descriptor=data.statement_descriptor,
                payer=msgspec.to_builtins(data.payer) if data.payer else None,
                fx_quote=data.fx_quote,
            ),
        )
        if data.confirm:
            intents.confirm(ctx, intent, return_url=data.return_url)
        return render(session, intent, expand)

    @get(
        "/", sync_to_thread=True, dependencies=PAGE, opt=roles(MERCHANT, FINANCE, COMPLIANCE, ADMIN)
    )
    def index(
        self,
        session: SessionDep,
        principal: PrincipalDep,
        page: PageDep,
        status: Annotated[str | None, QueryParameter(max_length=40)] = None,
    ) -> dict[str, Any]:
        where = owned(PaymentIntent.account_id, principal)
        if status:
            where.append(PaymentIntent.status == status)
        return list_of(
            session,
            PaymentIntent,
            page,
            "/v1/payment_intents",
            intents.render,
            where=where,
            cursor_visible=lambda i: principal.owns(i.account_id),
        )

    @get("/{intent_id:str}", sync_to_thread=True, opt=roles(MERCHANT, FINANCE, COMPLIANCE, ADMIN))
    def retrieve(
        self,
        intent_id: FromPath[str],
        request: LitestarRequest[Any, Any, Any],
        session: SessionDep,
        principal: PrincipalDep,
        expand: ExpandDep,
        locale: Annotated[str | None, QueryParameter(max_length=35)] = None,
    ) -> dict[str, Any]:
        """``locale=`` or ``Accept-Language`` adds ``last_payment_error.decline_message``:
        the decline explained in the payer's language (``code`` stays stable)."""
        body = render(session, _find(session, principal, intent_id), expand)
        error = body.get("last_payment_error")
        if error:
            chosen = negotiate(locale, request.headers.get("accept-language"))
            reason = error.get("decline_code") or error.get("code") or "generic_decline"
            body["last_payment_error"] = {
                **error,
                "decline_message": decline_message(reason, chosen),
                "decline_message_locale": language_tag(chosen),
            }
        return body

    @post("/{intent_id:str}", status_code=200, sync_to_thread=True)
    def update(
        self,
        intent_id: FromPath[str],
        data: JSONBody[IntentUpdate],
        session: SessionDep,
        principal: PrincipalDep,
        expand: ExpandDep,
    ) -> dict[str, Any]:
        intent, ctx = _find_to_change(session, principal, intent_id)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        if "payer" in changes:
            changes["payer"] = msgspec.to_builtins(data.payer)
        if data.metadata is not None:
            changes["metadata"] = merge_metadata(intent.metadata_, data.metadata)
        if data.capture_method is not None:
            changes["capture_method"] = "manual" if data.capture_method == "manual" else "automatic"
        intents.update(ctx, intent, changes)
        return render(session, intent, expand)

    @post("/{intent_id:str}/confirm", status_code=200, sync_to_thread=True)
    def confirm(
        self,
        intent_id: FromPath[str],
        data: JSONBody[IntentConfirm],
        session: SessionDep,
        principal: PrincipalDep,
        expand: ExpandDep,
    ) -> dict[str, Any]:
        intent, ctx = _find_to_change(session, principal, intent_id)
        method: str | PaymentMethod | None = data.payment_method
        if data.payment_method_data is not None:
            method = create_method(session, ctx.account.id, data.payment_method_data)
        if data.receipt_email:
            intent.receipt_email = data.receipt_email
        intents.confirm(ctx, intent, payment_method=method, return_url=data.return_url)
        return render(session, intent, expand)

    @post("/{intent_id:str}/capture", status_code=200, sync_to_thread=True)
    def capture(
        self,
        intent_id: FromPath[str],
        data: JSONBody[IntentCapture],
        session: SessionDep,
        principal: PrincipalDep,
        expand: ExpandDep,
    ) -> dict[str, Any]:
        intent, ctx = _find_to_change(session, principal, intent_id)
        if data.metadata is not None:
            intent.metadata_ = merge_metadata(intent.metadata_, data.metadata)
        intents.capture(ctx, intent, data.amount_to_capture)
        return render(session, intent, expand)

    @post("/{intent_id:str}/cancel", status_code=200, sync_to_thread=True)
    def cancel(
        self,
        intent_id: FromPath[str],
        data: JSONBody[IntentCancel],
        session: SessionDep,
        principal: PrincipalDep,
        expand: ExpandDep,
    ) -> dict[str, Any]:
        intent, ctx = _find_to_change(session, principal, intent_id)
        intents.cancel(ctx, intent, data.cancellation_reason)
        return render(session, intent, expand)
