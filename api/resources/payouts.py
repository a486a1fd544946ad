"""``/v1/payouts``: a merchant's available balance to its bank, by ISO 20022 file."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import ADMIN, FINANCE, MERCHANT, roles
from api.context import PrincipalDep, SessionDep
from api.envelope import Amount, CurrencyCode, Metadata, Request
from api.errors import InvalidRequest, NotFound, translate
from api.pagination import PAGE, PageDep, list_of, owned
from core.database import Database
from settlement.payouts import (
    BankFileMissing,
    Payout,
    PayoutBank,
    PayoutError,
    PayoutStateError,
    answer_payout,
    cancel_payout,
    create_payout,
    get_payout,
    payout_bank_file,
    render_payout,
)


@translate(PayoutError)
def _payout_error(exc: PayoutError) -> InvalidRequest:
    return InvalidRequest(str(exc), param=exc.param, code=exc.code)


@translate(PayoutStateError)
def _payout_state(exc: PayoutStateError) -> InvalidRequest:
    return InvalidRequest(str(exc), code="payout_unexpected_state")


class PayoutCreate(Request):
    amount: Amount
    currency: CurrencyCode | None = None
    description: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    statement_descriptor: Annotated[str, msgspec.Meta(max_length=22)] | None = None
    method: Literal["standard"] = "standard"
    metadata: Metadata | None = None


def _find(session: Any, principal: Any, payout_id: str, *, lock: bool = False) -> Payout:
    payout = get_payout(session, payout_id, lock=lock)
    if payout is None or not principal.owns(payout.account_id):
        raise NotFound("payout", payout_id)
    return payout


class PayoutController(Controller):
    path = "/v1/payouts"
    opt = roles(MERCHANT, FINANCE, ADMIN)

    @post("/", status_code=200, sync_to_thread=True, opt=roles(MERCHANT, ADMIN))
    def create(
        self, data: JSONBody[PayoutCreate], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        payout = create_payout(
            session,
            principal.require_account(),
            amount=data.amount,
            currency=data.currency,
            description=data.description,
            statement_descriptor=data.statement_descriptor,
            metadata=data.metadata,
            method=data.method,
            bank=PayoutBank.from_settings(),
        )
        return render_payout(payout)

    @get("/", sync_to_thread=True, dependencies=PAGE)
    def index(
        self,
        session: SessionDep,
        principal: PrincipalDep,
        page: PageDep,
        status: Annotated[str | None, QueryParameter(max_length=20)] = None,
    ) -> dict[str, Any]:
        where = owned(Payout.account_id, principal)
        if status:
            where.append(Payout.status == status)
        return list_of(
            session,
            Payout,
            page,
            "/v1/payouts",
            render_payout,
            where=where,
            cursor_visible=lambda p: principal.owns(p.account_id),
        )

    @get("/{payout_id:str}", sync_to_thread=True)
    def retrieve(
        self, payout_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        return render_payout(_find(session, principal, payout_id))

    @post(
        "/{payout_id:str}/cancel", status_code=200, sync_to_thread=True, opt=roles(MERCHANT, ADMIN)
    )
    def cancel(
        self, payout_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        payout = _find(session, principal, payout_id, lock=True)
        return render_payout(cancel_payout(session, payout.id, account_id=payout.account_id))

    @get("/{payout_id:str}/file", sync_to_thread=True, opt={"media_types": ("application/xml",)})
    def bank_file(
        self, payout_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> Response[bytes]:
        """The ISO 20022 pain.001 file the payout was (or will be) sent in."""
        payout = _find(session, principal, payout_id)
        try:
            bank_file = payout_bank_file(session, payout, PayoutBank.from_settings().keyring)
        except BankFileMissing as exc:
            raise InvalidRequest(str(exc), code="payout_file_unavailable", status=404) from exc
        return Response(
            bank_file.content,
            media_type="application/xml",
            headers={
                "Content-Disposition": f'attachment; filename="{payout.id}.xml"',
                "Corridor-Message-Id": bank_file.message_id,
            },
        )


class BankAnswer(Request):
    result: Literal["paid", "failed"]
    failure_code: (
        Literal[
            "account_closed",
            "no_account",
            "invalid_account_number",
            "account_frozen",
            "bank_account_restricted",
            "could_not_process",
            "declined",
            "insufficient_funds",
            "invalid_currency",
        ]
        | None
    ) = None


@post(
    "/v1/test_helpers/payouts/{payout_id:str}/answer",
    status_code=200,
    sync_to_thread=True,
    opt=roles(FINANCE, ADMIN),
    tags=["sandbox"],
)
def bank_answer(
    payout_id: FromPath[str],
    data: JSONBody[BankAnswer],
    session: SessionDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Answer a sent payout as the bank would: paid, or failed with a reason."""
    payout = _find(session, principal, payout_id, lock=True)
    if data.result == "failed" and data.failure_code is None:
        raise InvalidRequest(
            "A failed answer needs failure_code.", param="failure_code", code="parameter_missing"
        )
    return render_payout(
        answer_payout(session, payout.id, data.result, failure_code=data.failure_code)
    )


ROUTES = [PayoutController, bank_answer]
_ = Database
