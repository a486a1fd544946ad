"""Sandbox helpers: play the payer's bank, the wallet and the receiving bank.

The 3-D Secure and wallet pages are what ``next_action.redirect_to_url`` points at: the
payer opens them in a browser, so they are public (the reference in the URL is
unguessable). Each outcome goes through the very path real traffic takes: a wallet's
result becomes a signed provider notification, a bank credit a signed credit advice.
"""

from __future__ import annotations

import contextlib
import html
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import msgspec
from litestar import get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect

from api.auth import ADMIN, FINANCE, MERCHANT, PUBLIC, roles
from api.context import PrincipalDep, SessionDep
from api.envelope import Amount, CurrencyCode, Request, ShortText
from api.errors import InvalidRequest, NotFound
from core.accounts import get_account
from core.money import CurrencyError, currency_code
from core.settings import get_settings
from payments import intents, notifications
from payments.intents import Context, PaymentDeclined
from payments.rails import notification_secrets
from payments.rails.bank_transfer import build_credit_advice
from payments.rails.base import WALLET_PROVIDERS
from payments.rails.wallet import build_notification

Result = Literal["succeeded", "failed"]


class ActionResult(Request):
    result: Result


def _page(title: str, body: str, action: str) -> str:
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto">
<h1>{html.escape(title)}</h1><p>{html.escape(body)}</p>
<form method="post" action="{html.escape(action)}">
<input type="hidden" name="result" value="succeeded"><button type="submit">Complete</button>
</form>
<form method="post" action="{html.escape(action)}">
<input type="hidden" name="result" value="failed"><button type="submit">Fail</button>
</form>
<p><small>Corridor sandbox — no real money moves.</small></p></body></html>"""
    return page


def _finish(intent: intents.PaymentIntent) -> Any:
    """Back to the merchant's return_url (as Stripe does), or the intent itself."""
    if intent.return_url:
        query = urlencode(
            {"payment_intent": intent.id, "payment_intent_client_secret": intent.client_secret}
        )
        separator = "&" if "?" in intent.return_url else "?"
        return Redirect(f"{intent.return_url}{separator}{query}", status_code=303)
    return intents.render(intent)


def _intent_by_reference(session: Any, reference: str) -> intents.PaymentIntent:
    intent = intents.by_rail_reference(session, reference)
    if intent is None:
        raise NotFound("authorisation", reference, param="reference")
    return intent


# Pages return str with an HTML media type: a sync handler annotated Response[str] fails
# in Litestar 2.25 when a POST handler shares its path.
@get(
    "/v1/test_helpers/three_d_secure/{reference:str}",
    opt=PUBLIC,
    sync_to_thread=True,
    media_type="text/html",
    tags=["sandbox"],
)
def three_d_secure_page(reference: FromPath[str], session: SessionDep) -> str:
    intent = _intent_by_reference(session, reference)
    amount = f"{intent.amount} {intent.currency} (minor units)"
    return _page(
        "3-D Secure test challenge",
        f"Authenticate a payment of {amount}.",
        f"/v1/test_helpers/three_d_secure/{reference}",
    )


@post(
    "/v1/test_helpers/three_d_secure/{reference:str}",
    opt=PUBLIC,
    status_code=200,
    sync_to_thread=True,
    tags=["sandbox"],
)
def three_d_secure_complete(
    reference: FromPath[str], data: JSONBody[ActionResult], session: SessionDep
) -> Any:
    intent = _intent_by_reference(session, reference)
    account = get_account(session, intent.account_id)
    assert account is not None
    with contextlib.suppress(PaymentDeclined):  # a failed challenge is an answer, not an error
        intents.resume(Context(session, get_settings(), account), intent, data.result)
    return _finish(intent)


@get(
    "/v1/test_helpers/wallets/{provider:str}/{reference:str}",
    opt=PUBLIC,
    sync_to_thread=True,
    media_type="text/html",
    tags=["sandbox"],
)
def wallet_page(provider: FromPath[str], reference: FromPath[str], session: SessionDep) -> str:
    intent = _intent_by_reference(session, reference)
    return _page(
        f"{provider} sandbox",
        f"Pay {intent.amount} {intent.currency} (minor units).",
        f"/v1/test_helpers/wallets/{provider}/{reference}",
    )


@post(
    "/v1/test_helpers/wallets/{provider:str}/{reference:str}",
    opt=PUBLIC,
    status_code=200,
    sync_to_thread=True,
    tags=["sandbox"],
)
def wallet_complete(
    provider: FromPath[str],
    reference: FromPath[str],
    data: JSONBody[ActionResult],
    session: SessionDep,
) -> Any:
    if provider not in WALLET_PROVIDERS:
        raise NotFound("wallet provider", provider, param="provider")
    intent = _intent_by_reference(session, reference)
    settings = get_settings()
    message = build_notification(
        provider,
        notification_secrets.from_settings(settings)[provider],
        reference=reference,
        status=data.result,
        amount=intent.amount,
        currency=intent.currency,
        intent_id=intent.id,
        failure_code="payment_failed" if data.result == "failed" else None,
        failure_message="The payer did not complete the payment."
        if data.result == "failed"
        else None,
    )
    notifications.receive(session, settings, provider, message.headers, message.body)
    return _finish(intent)


class BankCredit(Request):
    amount: Amount
    currency: CurrencyCode
    payment_intent: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    reference: Annotated[str, msgspec.Meta(max_length=140)] | None = None
    payer_name: ShortText | None = None


@post(
    "/v1/test_helpers/bank_transfers/credits",
    status_code=200,
    sync_to_thread=True,
    opt=roles(MERCHANT, FINANCE, ADMIN),
    tags=["sandbox"],
)
def bank_credit(data: JSONBody[BankCredit], session: SessionDep, principal: PrincipalDep) -> dict:
    """The receiving bank reports a credit: matched by its reference to an intent."""
    reference = data.reference
    if data.payment_intent:
        intent = intents.find(session, None, data.payment_intent)
        if intent is None or not principal.owns(intent.account_id):
            raise NotFound("payment_intent", data.payment_intent, param="payment_intent")
        reference = intent.rail_reference
        if not reference:
            raise InvalidRequest(
                "This PaymentIntent is not awaiting a bank transfer.", param="payment_intent"
            )
    elif principal.role == MERCHANT:
        raise InvalidRequest(
            "Merchants simulate credits for their own payment_intent.",
            param="payment_intent",
            code="parameter_missing",
        )
    if not reference:
        raise InvalidRequest(
            "Provide payment_intent or reference.", param="reference", code="parameter_missing"
        )
    try:
        currency = currency_code(data.currency)
    except CurrencyError as exc:
        raise InvalidRequest(str(exc), param="currency", code="parameter_invalid") from exc
    settings = get_settings()
    advice = build_credit_advice(
        notification_secrets.from_settings(settings)["bank_transfer"],
        amount=data.amount,
        currency=currency,
        reference=reference,
        payer_name=data.payer_name,
    )
    event = notifications.receive(session, settings, "bank_transfer", advice.headers, advice.body)
    return {
        "object": "bank_credit",
        "id": event.event_id,
        "outcome": event.outcome,
        "payment_intent": event.intent_id,
    }


ROUTES = [three_d_secure_page, three_d_secure_complete, wallet_page, wallet_complete, bank_credit]
