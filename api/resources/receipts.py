"""Receipt routes: ``GET /v1/payment_intents/{id}/receipt`` and ``/v1/refunds/{id}/receipt``.

The language comes from ``locale=``, else ``Accept-Language``, else English; the format
from ``format=txt|html|pdf``; times are shown in ``timezone=`` (IANA, default UTC).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, Response, get
from litestar.params import FromPath, QueryParameter

from api import receipts
from api.auth import ADMIN, FINANCE, MERCHANT, roles
from api.context import PrincipalDep, SessionDep
from api.errors import InvalidRequest, NotFound
from i18n.locales import language_tag, negotiate
from i18n.receipt_data import ReceiptData
from i18n.receipts import MEDIA_TYPES, render_receipt
from payments import intents, refunds

Format = Literal["txt", "html", "pdf"]
Locale = Annotated[str | None, QueryParameter(max_length=35)]
Timezone = Annotated[str, QueryParameter(max_length=64)]


def _render(
    data: ReceiptData,
    request: Request[Any, Any, Any],
    locale: str | None,
    fmt: str,
    timezone: str,
    filename: str,
) -> Response[bytes]:
    chosen = negotiate(locale, request.headers.get("accept-language"))
    try:
        body = render_receipt(data, chosen, fmt, timezone)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidRequest(
            str(exc), param="timezone" if "zone" in str(exc) else "format"
        ) from exc
    headers = {"Content-Language": language_tag(chosen)}
    if fmt == "pdf":
        headers["Content-Disposition"] = f'inline; filename="{filename}.pdf"'
    # Litestar adds "; charset=utf-8" to text/* itself; passing it too doubled the parameter.
    return Response(body, media_type=MEDIA_TYPES[fmt].split(";")[0], headers=headers)


@get(
    "/v1/payment_intents/{intent_id:str}/receipt",
    sync_to_thread=True,
    opt={**roles(MERCHANT, FINANCE, ADMIN), "media_types": tuple(MEDIA_TYPES.values())},
    tags=["receipts"],
)
def payment_receipt(
    intent_id: FromPath[str],
    request: Request[Any, Any, Any],
    session: SessionDep,
    principal: PrincipalDep,
    locale: Locale = None,
    format_: Annotated[Format, QueryParameter(name="format")] = "html",
    timezone: Timezone = "UTC",
) -> Response[bytes]:
    intent = intents.find(session, None, intent_id)
    if intent is None or not principal.owns(intent.account_id):
        raise NotFound("payment_intent", intent_id)
    data = receipts.payment_receipt(session, intent)
    return _render(data, request, locale, format_, timezone, intent.id)


@get(
    "/v1/refunds/{refund_id:str}/receipt",
    sync_to_thread=True,
    opt={**roles(MERCHANT, FINANCE, ADMIN), "media_types": tuple(MEDIA_TYPES.values())},
    tags=["receipts"],
)
def refund_receipt(
    refund_id: FromPath[str],
    request: Request[Any, Any, Any],
    session: SessionDep,
    principal: PrincipalDep,
    locale: Locale = None,
    format_: Annotated[Format, QueryParameter(name="format")] = "html",
    timezone: Timezone = "UTC",
) -> Response[bytes]:
    refund = refunds.find(session, None, refund_id)
    if refund is None or not principal.owns(refund.account_id):
        raise NotFound("refund", refund_id)
    return _render(
        receipts.refund_receipt(session, refund), request, locale, format_, timezone, refund.id
    )


ROUTES = [payment_receipt, refund_receipt]
