"""``/v1/refunds``: partial and repeated refunds of captured payments."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import ADMIN, FINANCE, MERCHANT, roles
from api.context import PrincipalDep, SessionDep
from api.envelope import Amount, Metadata, Request
from api.errors import InvalidRequest, NotFound, translate
from api.pagination import PAGE, PageDep, list_of, owned
from core.accounts import get_account
from core.settings import get_settings
from payments import refunds
from payments.refunds import Refund
from settlement.ledger import LedgerError

Id = Annotated[str, msgspec.Meta(max_length=80)]


@translate(LedgerError)
def _ledger_error(exc: LedgerError) -> InvalidRequest:
    code = str(getattr(exc, "code", "ledger_error"))
    if "exceeds" in code:
        return InvalidRequest(
            "The merchant's balance is insufficient for this operation.",
            code="balance_insufficient",
        )
    return InvalidRequest(f"The ledger refused the operation: {code}.", code=code)


class RefundCreate(Request):
    payment_intent: Id | None = None
    charge: Id | None = None
    amount: Amount | None = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    metadata: Metadata | None = None


class RefundController(Controller):
    path = "/v1/refunds"
    opt = roles(MERCHANT, ADMIN)

    @post("/", status_code=200, sync_to_thread=True)
    def create(
        self, data: JSONBody[RefundCreate], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        if not data.payment_intent and not data.charge:
            raise InvalidRequest(
                "Missing required param: payment_intent.",
                param="payment_intent",
                code="parameter_missing",
            )
        account = get_account(session, principal.require_account())
        assert account is not None
        refund = refunds.create(
            session,
            get_settings(),
            account,
            intent_id=data.payment_intent,
            charge_id=data.charge,
            amount=data.amount,
            reason=data.reason,
            metadata=data.metadata,
        )
        return refunds.render(refund)

    @get("/", sync_to_thread=True, dependencies=PAGE, opt=roles(MERCHANT, FINANCE, ADMIN))
    def index(
        self,
        session: SessionDep,
        principal: PrincipalDep,
        page: PageDep,
        payment_intent: Annotated[Id | None, QueryParameter()] = None,
        charge: Annotated[Id | None, QueryParameter()] = None,
    ) -> dict[str, Any]:
        where = owned(Refund.account_id, principal)
        if payment_intent:
            where.append(Refund.intent_id == payment_intent)
        if charge:
            where.append(Refund.charge_id == charge)
        return list_of(
            session,
            Refund,
            page,
            "/v1/refunds",
            refunds.render,
            where=where,
            cursor_visible=lambda r: principal.owns(r.account_id),
        )

    @get("/{refund_id:str}", sync_to_thread=True, opt=roles(MERCHANT, FINANCE, ADMIN))
    def retrieve(
        self, refund_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        refund = refunds.find(session, None, refund_id)
        if refund is None or not principal.owns(refund.account_id):
            raise NotFound("refund", refund_id)
        return refunds.render(refund)
