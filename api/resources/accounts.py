"""``/v1/accounts``: merchants, as Stripe's connected Account objects (admin keys)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from babel.numbers import get_territory_currencies
from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody
from sqlalchemy.orm import Session

from api.auth import ADMIN, MERCHANT, roles
from api.context import PrincipalDep, SessionDep
from api.envelope import (
    CountryCode,
    CurrencyCode,
    Email,
    Metadata,
    Request,
    ShortText,
    envelope,
    merge_metadata,
)
from api.errors import InvalidRequest, NotFound, translate
from api.pagination import PAGE, PageDep, list_of
from core.accounts import Account, AccountError, country_code, get_account, open_account
from core.events import emit
from core.keyring import Keyring
from core.money import CurrencyError, currency_code
from core.settings import get_settings
from settlement.payouts import (
    ExternalAccountError,
    render_external_account,
    set_external_account,
)


class BusinessProfile(Request):
    name: ShortText | None = None
    url: ShortText | None = None
    mcc: Annotated[str, msgspec.Meta(pattern=r"^\d{4}$")] | None = None


class PayoutSchedule(Request):
    delay_days: int | Literal["minimum"] | None = msgspec.field(default=None)
    interval: Literal["manual", "daily", "weekly", "monthly"] | None = None
    weekly_anchor: (
        Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] | None
    ) = None
    monthly_anchor: int | None = None


class PayoutSettings(Request):
    schedule: PayoutSchedule | None = None
    statement_descriptor: ShortText | None = None


class ReserveSettings(Request):
    """Corridor's rolling reserve: ``percent`` of each settlement held for ``days``."""

    percent: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 0


CardRail = Literal["sandbox_card", "stripe"]


class AccountSettings(Request):
    payouts: PayoutSettings | None = None
    reserve: ReserveSettings | None = None
    card_routing: (
        dict[Annotated[str, msgspec.Meta(pattern=r"^([a-zA-Z]{3}|\*)$")], CardRail] | None
    ) = None
    """Which card rail serves each presentment currency (``*`` for any); default sandbox."""


class ExternalAccount(Request, kw_only=True):
    """Stripe's ``external_account`` hash: the bank account payouts are paid to."""

    object: Literal["bank_account"] = "bank_account"
    country: CountryCode
    currency: CurrencyCode
    account_number: Annotated[str, msgspec.Meta(min_length=4, max_length=40)]
    """The IBAN in IBAN countries, else the domestic account number."""
    account_holder_name: ShortText
    routing_number: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    bic: Annotated[str, msgspec.Meta(min_length=8, max_length=11)] | None = None


class AccountCreate(Request):
    country: CountryCode | None = None
    type: Literal["custom", "express", "standard"] = "custom"
    email: Email | None = None
    business_profile: BusinessProfile | None = None
    default_currency: CurrencyCode | None = None
    settings: AccountSettings | None = None
    external_account: ExternalAccount | None = None
    metadata: Metadata | None = None


class AccountUpdate(Request):
    email: Email | None = None
    business_profile: BusinessProfile | None = None
    default_currency: CurrencyCode | None = None
    settings: AccountSettings | None = None
    external_account: ExternalAccount | None = None
    metadata: Metadata | None = None


@translate(AccountError)
def _account_error(exc: AccountError) -> InvalidRequest:
    return InvalidRequest(str(exc), param=exc.param)


@translate(ExternalAccountError)
def _bank_account_error(exc: ExternalAccountError) -> InvalidRequest:
    return InvalidRequest(
        str(exc),
        param=f"external_account[{exc.param}]"
        if not exc.param.startswith("external_account")
        else exc.param,
    )


def _attach_bank_account(session: Any, account: Account, data: ExternalAccount | None) -> None:
    if data is None:
        return
    set_external_account(
        session,
        account,
        Keyring.from_settings(get_settings()),
        country=data.country,
        currency=data.currency,
        account_number=data.account_number,
        account_holder_name=data.account_holder_name,
        routing_number=data.routing_number,
        bic=data.bic,
    )


def render(account: Account) -> dict[str, Any]:
    settings = account.settings or {}
    return envelope(
        "account",
        account.id,
        account.created,
        type="custom",
        business_profile={"name": account.business_name},
        country=account.country,
        default_currency=account.default_currency.lower(),
        email=account.email,
        charges_enabled=account.status == "active",
        payouts_enabled=account.status == "active",
        settings={
            "payouts": settings.get("payouts", {"schedule": {"delay_days": 2, "interval": "daily"}})
        },
        external_accounts={
            "object": "list",
            "data": [render_external_account(account.external_account, account.id)]
            if account.external_account
            else [],
            "has_more": False,
        },
        metadata=account.metadata_,
    )


def _settings(data: AccountSettings | None, current: dict[str, Any]) -> dict[str, Any]:
    if data is None:
        return current
    merged = dict(current)
    if data.payouts is not None:
        payouts = dict(merged.get("payouts", {}))
        if data.payouts.schedule is not None:
            schedule = dict(payouts.get("schedule", {"delay_days": 2, "interval": "daily"}))
            schedule.update(msgspec.to_builtins(data.payouts.schedule))
            if schedule.get("delay_days") == "minimum":
                schedule["delay_days"] = 2
            if not 0 <= int(schedule.get("delay_days", 2)) <= 365:
                raise InvalidRequest(
                    "delay_days must be between 0 and 365.",
                    param="settings[payouts][schedule][delay_days]",
                )
            payouts["schedule"] = schedule
        if data.payouts.statement_descriptor is not None:
            payouts["statement_descriptor"] = data.payouts.statement_descriptor
        merged["payouts"] = payouts
    if data.reserve is not None:
        merged["reserve"] = msgspec.to_builtins(data.reserve)
    if data.card_routing is not None:
        routing = dict(merged.get("card_routing", {}))
        routing.update({k.lower(): v for k, v in data.card_routing.items()})
        merged["card_routing"] = routing
    return merged


def _currency(code: str, param: str) -> str:
    try:
        return currency_code(code)
    except CurrencyError as exc:
        raise InvalidRequest(f"Invalid currency: {code}. {exc}", param=param) from exc


class AccountController(Controller):
    path = "/v1/accounts"
    opt = roles(ADMIN)

    @post("/", status_code=200, sync_to_thread=True)
    def create(self, data: JSONBody[AccountCreate], session: SessionDep) -> dict[str, Any]:
        country = country_code(data.country or "US")
        if data.default_currency:
            currency = _currency(data.default_currency, "default_currency")
        else:
            currencies = get_territory_currencies(country, tender=True, non_tender=False)
            currency = currencies[0] if currencies else "USD"
        name = (data.business_profile.name if data.business_profile else None) or data.email or ""
        if not name:
            raise InvalidRequest(
                "Missing required param: business_profile[name].",
                param="business_profile[name]",
                code="parameter_missing",
            )
        account = open_account(
            session,
            business_name=name,
            country=country,
            default_currency=currency,
            email=data.email,
            settings=_settings(data.settings, {}),
            metadata=data.metadata or {},
        )
        _attach_bank_account(session, account, data.external_account)
        return render(account)

    @get("/", sync_to_thread=True, dependencies=PAGE)
    def index(self, session: SessionDep, page: PageDep) -> dict[str, Any]:
        return list_of(session, Account, page, "/v1/accounts", render)

    @get("/{account_id:str}", sync_to_thread=True, opt=roles(ADMIN, MERCHANT))
    def retrieve(
        self, account_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        if not principal.owns(account_id):
            raise NotFound("account", account_id)
        return render(_find(session, account_id))

    @post("/{account_id:str}", status_code=200, sync_to_thread=True)
    def update(
        self, account_id: FromPath[str], data: JSONBody[AccountUpdate], session: SessionDep
    ) -> dict[str, Any]:
        account = _find(session, account_id)
        before = render(account)
        if data.email is not None:
            account.email = data.email
        if data.business_profile is not None and data.business_profile.name:
            account.business_name = data.business_profile.name
        if data.default_currency is not None:
            account.default_currency = _currency(data.default_currency, "default_currency")
        account.settings = _settings(data.settings, account.settings or {})
        account.metadata_ = merge_metadata(account.metadata_, data.metadata)
        _attach_bank_account(session, account, data.external_account)
        session.flush()
        after = render(account)
        changed = {k: v for k, v in before.items() if after.get(k) != v}
        emit(session, account.id, "account.updated", after, previous_attributes=changed)
        return after


@get("/v1/account", sync_to_thread=True, opt=roles(MERCHANT, ADMIN))
def own_account(session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """The caller's own account (a platform key names it with Stripe-Account)."""
    return render(_find(session, principal.require_account()))


def _find(session: Session, account_id: str) -> Account:
    account = get_account(session, account_id)
    if account is None:
        raise NotFound("account", account_id)
    return account
