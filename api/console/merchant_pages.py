"""Merchant pages: balance, payments (search, timeline, capture, refund, receipts),
payouts, webhook endpoints with their deliveries, and API keys.

Every object is looked up and then checked against the signed-in account: another
account's payment, payout, endpoint or key answers 404, the same as one that does not
exist. Changes call the same service functions as the API (``payments.refunds.create``,
``payments.intents.capture``, ``payments.webhooks.create_endpoint``, ``api.keys``); a key
created or revoked here is also written to the audit trail, as the CLI's keys are.
"""

from __future__ import annotations

from typing import Any, Final

from babel import Locale
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import receipts
from api.console.error_pages import NotYours
from api.console.form_input import FormProblem, minor_amount, params_of, required, text
from api.console.outcomes import Problem, attempt
from api.console.payment_search import STATUSES, PaymentFilter, search
from api.console.payment_timeline import refundable, refunds_of, timeline
from api.console.signin import sign_out, viewer_of
from api.console.templating import is_fragment_request, page, request_locale
from api.console.viewer import Viewer
from api.keys import ApiKey, IssuedKey, issue_key, revoke_key
from api.resources.balance import BUCKETS
from compliance import audit
from core.accounts import Account, get_account
from core.keyring import Keyring
from core.settings import get_settings
from i18n.locales import SUPPORTED_LOCALES, language_tag
from i18n.receipts import FORMATS, MEDIA_TYPES, render_receipt
from payments import intents, refunds
from payments.intent_state import IntentStatus
from payments.intents import PaymentIntent
from payments.refunds import REASONS, Refund
from payments.webhooks import DeliveryAttempt, WebhookDelivery, WebhookEndpoint, create_endpoint
from settlement.ledger import Ledger
from settlement.ledger.tables import LedgerAccount
from settlement.payouts import Payout, get_payout

PAGE: Final = 50
RECEIPT_POLICY: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
)


def _session(request: Request[Any, Any, Any]) -> Session:
    return request.scope["state"]["session"]


def _account(request: Request[Any, Any, Any]) -> tuple[Viewer, Account]:
    viewer = viewer_of(request)
    account = get_account(_session(request), viewer.account_id or "")
    if account is None:
        raise NotYours()
    return viewer, account


def _own_intent(
    request: Request[Any, Any, Any], intent_id: str, *, lock: bool = False
) -> PaymentIntent:
    viewer = viewer_of(request)
    intent = intents.find(_session(request), None, intent_id, lock=lock)
    if intent is None or not viewer.owns(intent.account_id):
        raise NotYours()
    return intent


def balances(session: Session, account_id: str) -> dict[str, list[tuple[str, int]]]:
    """``{"available": [("EUR", 1000)], "pending": [...], "reserved": [...]}``, as the API."""
    ledger = Ledger(session)
    rows = session.execute(
        select(LedgerAccount.id, LedgerAccount.purpose, LedgerAccount.currency).where(
            LedgerAccount.owner == account_id, LedgerAccount.purpose.in_(list(BUCKETS))
        )
    ).all()
    out: dict[str, list[tuple[str, int]]] = {bucket: [] for bucket in BUCKETS.values()}
    for row in sorted(rows, key=lambda r: (r.purpose, r.currency)):
        out[BUCKETS[row.purpose]].append((row.currency, ledger.balance(row.id).posted))
    return out


# --- overview and payments ----------------------------------------------------------


@get("/", sync_to_thread=True)
def overview(request: Request[Any, Any, Any]) -> Response[Any]:
    session = _session(request)
    _, account = _account(request)
    recent = search(session, account.id, PaymentFilter(), limit=5).payments
    payouts = session.scalars(
        select(Payout)
        .where(Payout.account_id == account.id)
        .order_by(Payout.created.desc())
        .limit(5)
    ).all()
    return page(
        request,
        "merchant/overview.html",
        account=account,
        balance=balances(session, account.id),
        recent=recent,
        payouts=payouts,
    )


@get("/payments", sync_to_thread=True)
def payments(request: Request[Any, Any, Any]) -> Response[Any]:
    session = _session(request)
    _, account = _account(request)
    query = request.query_params
    filters = PaymentFilter.from_query(query)
    found = search(session, account.id, filters, after=query.get("after") or None)
    major = {k: query.get(k, "") for k in ("amount_min", "amount_max") if query.get(k)}
    context = {
        "filters": filters,
        "found": found,
        "query_of": filters.as_query(major),
        "major": major,
        "statuses": STATUSES,
    }
    if is_fragment_request(request, "payment-results"):
        return page(request, "merchant/_payment_results.html", **context)
    return page(request, "merchant/payments.html", **context)


def _payment_page(
    request: Request[Any, Any, Any],
    intent: PaymentIntent,
    *,
    status: int = 200,
    problem: Problem | None = None,
) -> Response[Any]:
    session = _session(request)
    ui = request_locale(request)
    languages = [
        (code, Locale.parse(code).get_display_name(ui) or code) for code in SUPPORTED_LOCALES
    ]
    return page(
        request,
        "merchant/payment.html",
        status=status,
        intent=intent,
        moments=timeline(session, intent),
        refunds=refunds_of(session, intent),
        refundable=refundable(session, intent),
        reasons=sorted(REASONS),
        problem=problem,
        form=params_of(request),
        done=request.query_params.get("done"),
        languages=languages,
        formats=FORMATS,
        capturable=intent.status == IntentStatus.REQUIRES_CAPTURE,
        cancelable=intent.status
        in (
            IntentStatus.REQUIRES_PAYMENT_METHOD,
            IntentStatus.REQUIRES_CONFIRMATION,
            IntentStatus.REQUIRES_ACTION,
            IntentStatus.REQUIRES_CAPTURE,
        ),
    )


@get("/payments/{intent_id:str}", sync_to_thread=True)
def payment(request: Request[Any, Any, Any], intent_id: FromPath[str]) -> Response[Any]:
    return _payment_page(request, _own_intent(request, intent_id))


def _context(request: Request[Any, Any, Any], intent: PaymentIntent) -> intents.Context:
    account = get_account(_session(request), intent.account_id)
    assert account is not None
    return intents.Context(_session(request), get_settings(), account)


@post("/payments/{intent_id:str}/refund", sync_to_thread=True, status_code=303)
def refund(request: Request[Any, Any, Any], intent_id: FromPath[str]) -> Response[Any]:
    session = _session(request)
    intent = _own_intent(request, intent_id)
    params = params_of(request)
    account = get_account(session, intent.account_id)
    assert account is not None

    def work() -> Refund:
        reason = text(params, "reason")
        if reason is not None and reason not in REASONS:
            raise FormProblem("reason", "unknown reason")
        created = refunds.create(
            session,
            get_settings(),
            account,
            intent_id=intent.id,
            amount=minor_amount(params, "amount", intent.currency),
            reason=reason,
        )
        if created.status == "failed":
            raise FormProblem("amount", created.failure_reason or "the refund failed")
        return created

    _, problem = attempt(session, work)
    if problem is not None:
        return _payment_page(request, intent, status=problem.status, problem=problem)
    return Redirect(f"/console/merchant/payments/{intent.id}?done=refunded", status_code=303)


@post("/payments/{intent_id:str}/capture", sync_to_thread=True, status_code=303)
def capture(request: Request[Any, Any, Any], intent_id: FromPath[str]) -> Response[Any]:
    session = _session(request)
    intent = _own_intent(request, intent_id, lock=True)
    params = params_of(request)
    _, problem = attempt(
        session,
        lambda: intents.capture(
            _context(request, intent), intent, minor_amount(params, "amount", intent.currency)
        ),
    )
    if problem is not None:
        return _payment_page(request, intent, status=problem.status, problem=problem)
    return Redirect(f"/console/merchant/payments/{intent.id}?done=captured", status_code=303)


@post("/payments/{intent_id:str}/cancel", sync_to_thread=True, status_code=303)
def cancel(request: Request[Any, Any, Any], intent_id: FromPath[str]) -> Response[Any]:
    session = _session(request)
    intent = _own_intent(request, intent_id, lock=True)
    _, problem = attempt(
        session, lambda: intents.cancel(_context(request, intent), intent, "requested_by_customer")
    )
    if problem is not None:
        return _payment_page(request, intent, status=problem.status, problem=problem)
    return Redirect(f"/console/merchant/payments/{intent.id}?done=canceled", status_code=303)


def _receipt(request: Request[Any, Any, Any], data: Any, filename: str) -> Response[Any]:
    query = request.query_params
    locale = query.get("locale") or "en"
    fmt = query.get("format") or "html"
    if locale not in SUPPORTED_LOCALES or fmt not in FORMATS:
        raise NotYours()
    body = render_receipt(data, locale, fmt)  # type: ignore[arg-type]
    headers = {"Content-Language": language_tag(locale), "Content-Security-Policy": RECEIPT_POLICY}
    if fmt == "pdf":
        headers["Content-Disposition"] = f'inline; filename="{filename}.pdf"'
    return Response(body, media_type=MEDIA_TYPES[fmt].split(";")[0], headers=headers)


@get("/payments/{intent_id:str}/receipt", sync_to_thread=True)
def payment_receipt(request: Request[Any, Any, Any], intent_id: FromPath[str]) -> Response[Any]:
    intent = _own_intent(request, intent_id)
    return _receipt(request, receipts.payment_receipt(_session(request), intent), intent.id)


@get("/refunds/{refund_id:str}/receipt", sync_to_thread=True)
def refund_receipt(request: Request[Any, Any, Any], refund_id: FromPath[str]) -> Response[Any]:
    viewer = viewer_of(request)
    found = refunds.find(_session(request), None, refund_id)
    if found is None or not viewer.owns(found.account_id):
        raise NotYours()
    return _receipt(request, receipts.refund_receipt(_session(request), found), found.id)


# --- payouts ------------------------------------------------------------------------


@get("/payouts", sync_to_thread=True)
def payouts(request: Request[Any, Any, Any]) -> Response[Any]:
    session = _session(request)
    _, account = _account(request)
    found = session.scalars(
        select(Payout)
        .where(Payout.account_id == account.id)
        .order_by(Payout.created.desc(), Payout.id.desc())
        .limit(PAGE)
    ).all()
    return page(request, "merchant/payouts.html", payouts=found)


@get("/payouts/{payout_id:str}", sync_to_thread=True)
def payout(request: Request[Any, Any, Any], payout_id: FromPath[str]) -> Response[Any]:
    found = get_payout(_session(request), payout_id)
    if found is None or not viewer_of(request).owns(found.account_id):
        raise NotYours()
    return page(request, "merchant/payout.html", payout=found)


# --- webhooks -----------------------------------------------------------------------


def _own_endpoint(request: Request[Any, Any, Any], endpoint_id: FromPath[str]) -> WebhookEndpoint:
    endpoint = _session(request).get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.deleted or not viewer_of(request).owns(endpoint.account_id):
        raise NotYours()
    return endpoint


def _endpoints_page(
    request: Request[Any, Any, Any],
    *,
    status: int = 200,
    problem: Problem | None = None,
    created: tuple[WebhookEndpoint, str] | None = None,
) -> Response[Any]:
    session = _session(request)
    _, account = _account(request)
    endpoints = session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.account_id == account.id, WebhookEndpoint.deleted.is_(False))
        .order_by(WebhookEndpoint.created.desc())
    ).all()
    return page(
        request,
        "merchant/webhooks.html",
        status=status,
        endpoints=endpoints,
        problem=problem,
        created=created,
        form=params_of(request),
        done=request.query_params.get("done"),
        headers={"Cache-Control": "no-store"},
    )


@get("/webhooks", sync_to_thread=True)
def webhooks(request: Request[Any, Any, Any]) -> Response[Any]:
    return _endpoints_page(request)


@post("/webhooks", sync_to_thread=True, status_code=200)
def create_webhook(request: Request[Any, Any, Any]) -> Response[Any]:
    """Answers with the page itself (not a redirect): the signing secret is shown this once."""
    session = _session(request)
    _, account = _account(request)
    params = params_of(request)

    def work() -> tuple[WebhookEndpoint, str]:
        events = (text(params, "enabled_events", max_length=4000) or "*").replace(",", " ").split()
        return create_endpoint(
            session,
            Keyring.from_settings(get_settings()),
            account_id=account.id,
            url=required(params, "url", max_length=2048),
            enabled_events=events,
            description=text(params, "description", max_length=200),
        )

    created, problem = attempt(session, work)
    if problem is not None:
        return _endpoints_page(request, status=problem.status, problem=problem)
    return _endpoints_page(request, created=created)


@get("/webhooks/{endpoint_id:str}", sync_to_thread=True)
def webhook(request: Request[Any, Any, Any], endpoint_id: FromPath[str]) -> Response[Any]:
    session = _session(request)
    endpoint = _own_endpoint(request, endpoint_id)
    deliveries = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.created.desc())
        .limit(PAGE)
    ).all()
    attempts: dict[str, list[DeliveryAttempt]] = {}
    if deliveries:
        for row in session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_([d.id for d in deliveries]))
            .order_by(DeliveryAttempt.number)
        ):
            attempts.setdefault(row.delivery_id, []).append(row)
    return page(
        request,
        "merchant/webhook.html",
        endpoint=endpoint,
        deliveries=deliveries,
        attempts=attempts,
    )


@post("/webhooks/{endpoint_id:str}/delete", sync_to_thread=True, status_code=303)
def delete_webhook(request: Request[Any, Any, Any], endpoint_id: FromPath[str]) -> Response[Any]:
    endpoint = _own_endpoint(request, endpoint_id)
    endpoint.deleted = True
    _session(request).flush()
    return Redirect("/console/merchant/webhooks?done=deleted", status_code=303)


# --- API keys -----------------------------------------------------------------------


def _keys_page(
    request: Request[Any, Any, Any],
    *,
    status: int = 200,
    problem: Problem | None = None,
    secret: str | None = None,
) -> Response[Any]:
    session = _session(request)
    viewer, account = _account(request)
    keys = session.scalars(
        select(ApiKey).where(ApiKey.account_id == account.id).order_by(ApiKey.created.desc())
    ).all()
    return page(
        request,
        "merchant/api_keys.html",
        status=status,
        keys=keys,
        current_key=viewer.key_id,
        secret=secret,
        problem=problem,
        done=request.query_params.get("done"),
    )


@get("/api-keys", sync_to_thread=True)
def api_keys(request: Request[Any, Any, Any]) -> Response[Any]:
    return _keys_page(request)


@post("/api-keys", sync_to_thread=True, status_code=200)
def create_api_key(request: Request[Any, Any, Any]) -> Response[Any]:
    """A new merchant key for this account; its secret is on this response and nowhere else."""
    session = _session(request)
    _, account = _account(request)
    description = text(params_of(request), "description", max_length=200)
    actor = viewer_of(request).actor

    def work() -> IssuedKey:
        issued = issue_key(session, "merchant", account.id, description)
        audit.append(
            session,
            actor,
            "api_key.created",
            issued.key.id,
            {"role": "merchant", "account": account.id, "via": "console"},
        )
        return issued

    issued, problem = attempt(session, work)
    if problem is not None:
        return _keys_page(request, status=problem.status, problem=problem)
    return _keys_page(request, secret=issued.secret)


@post("/api-keys/{key_id:str}/revoke", sync_to_thread=True, status_code=303)
def revoke_api_key(request: Request[Any, Any, Any], key_id: FromPath[str]) -> Response[Any]:
    session = _session(request)
    key = session.get(ApiKey, key_id)
    if key is None or not viewer_of(request).owns(key.account_id):
        raise NotYours()
    if key.revoked_at is None:
        revoke_key(session, key_id)
        audit.append(
            session,
            viewer_of(request).actor,
            "api_key.revoked",
            key_id,
            {"role": key.role, "account": key.account_id, "via": "console"},
        )
    if key_id == viewer_of(request).key_id:
        return sign_out(request, "revoked")  # the session was opened with this key
    return Redirect("/console/merchant/api-keys?done=revoked", status_code=303)


ROUTES = [
    overview,
    payments,
    payment,
    refund,
    capture,
    cancel,
    payment_receipt,
    refund_receipt,
    payouts,
    payout,
    webhooks,
    create_webhook,
    webhook,
    delete_webhook,
    api_keys,
    create_api_key,
    revoke_api_key,
]
