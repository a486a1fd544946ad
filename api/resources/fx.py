"""``/v1/fx_rates`` and ``/v1/fx_quotes``: what a currency is worth, and locking it.

Rates are exact decimals, shown as JSON numbers with every digit (never via a float).
A quote locks today's rate plus the account's FX markup for a while; a payment that
names it at creation settles at that rate, or is refused once the quote expires.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import ADMIN, COMPLIANCE, FINANCE, MERCHANT, roles
from api.context import PrincipalDep, SessionDep
from api.envelope import CurrencyCode, Request
from api.errors import InvalidRequest, NotFound, translate
from core.database import utcnow
from core.money import CurrencyError, currency_code
from settlement.balance_transactions import exact_number
from settlement.fees.store import FeeScheduleMissing, fee_schedule_for
from settlement.fx.book import default_rate_book
from settlement.fx.quotes import Quote, QuoteError, QuoteNotFound, create_quote, get_quote
from settlement.fx.rates import RateNotFound

LOCK_DURATIONS = {
    "five_minutes": dt.timedelta(minutes=5),
    "hour": dt.timedelta(hours=1),
    "day": dt.timedelta(days=1),
}


@translate(RateNotFound)
def _no_rate(exc: RateNotFound) -> InvalidRequest:
    return InvalidRequest(str(exc), param="to_currency", code="fx_rate_unavailable")


@translate(QuoteError)
def _quote_error(exc: QuoteError) -> InvalidRequest:
    code = {
        "QuoteExpired": "fx_quote_expired",
        "QuoteAlreadyUsed": "fx_quote_used",
        "QuoteNotFound": "resource_missing",
        "QuoteMismatch": "fx_quote_mismatch",
    }.get(type(exc).__name__, "fx_quote_invalid")
    return InvalidRequest(str(exc), param="fx_quote", code=code)


def _decimal_text(value: Any) -> str:
    return format(value, "f")


@get(
    "/v1/fx_rates",
    sync_to_thread=True,
    opt=roles(MERCHANT, FINANCE, COMPLIANCE, ADMIN),
    tags=["fx"],
)
def fx_rates(
    session: SessionDep,
    base: Annotated[str, QueryParameter(min_length=3, max_length=3)] = "eur",
    date: Annotated[dt.date | None, QueryParameter(description="YYYY-MM-DD; default today")] = None,
) -> dict[str, Any]:
    try:
        base_code = currency_code(base)
    except ValueError as exc:
        raise InvalidRequest(str(exc), param="base") from exc
    on = date or utcnow().date()
    rates = default_rate_book(session).rates(base_code, on)
    return {
        "object": "fx_rates",
        "base": base_code.lower(),
        "date": on.isoformat(),
        "rates": {
            code.lower(): {
                "rate": exact_number(_decimal_text(rate.value)),
                "source": rate.source,
                "as_of": rate.as_of.isoformat(),
            }
            for code, rate in sorted(rates.items())
        },
    }


class QuoteCreate(Request):
    from_currency: CurrencyCode
    to_currency: CurrencyCode
    lock_duration: Literal["five_minutes", "hour", "day"] = "hour"


def render_quote(quote: Quote) -> dict[str, Any]:
    return {
        "id": quote.id,
        "object": "fx_quote",
        "created": int(quote.created.timestamp()),
        "expires_at": int(quote.expires_at.timestamp()),
        "from_currency": quote.from_currency.lower(),
        "to_currency": quote.to_currency.lower(),
        "rate": exact_number(_decimal_text(quote.mid_rate)),
        "spread_ppm": quote.spread_ppm,
        "all_in_rate": exact_number(_decimal_text(quote.all_in_rate)),
        "rate_source": quote.rate_source,
        "rate_as_of": quote.rate_as_of.isoformat(),
        "used": quote.consumed_at is not None,
        "livemode": False,
    }


class FxQuoteController(Controller):
    path = "/v1/fx_quotes"
    opt = roles(MERCHANT, ADMIN)

    @post("/", status_code=200, sync_to_thread=True)
    def create(
        self, data: JSONBody[QuoteCreate], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        account_id = principal.require_account()
        for param in ("from_currency", "to_currency"):
            try:
                currency_code(getattr(data, param))
            except CurrencyError as exc:
                raise InvalidRequest(str(exc), param=param, code="parameter_invalid") from exc
        try:
            spread = fee_schedule_for(session, account_id).fx_markup_ppm
        except FeeScheduleMissing:
            spread = 0
        quote = create_quote(
            session,
            account_id,
            data.from_currency,
            data.to_currency,
            spread,
            LOCK_DURATIONS[data.lock_duration],
        )
        return render_quote(quote)

    @get("/{quote_id:str}", sync_to_thread=True)
    def retrieve(
        self, quote_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        try:
            quote = get_quote(session, quote_id)
        except QuoteNotFound:
            quote = None
        if quote is None or not principal.owns(quote.account_id):
            raise NotFound("fx_quote", quote_id)
        return render_quote(quote)
