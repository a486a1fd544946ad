"""``/v1/settlement_runs``: due balances made available, and what each run moved."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from api.auth import ADMIN, FINANCE, MERCHANT, roles
from api.context import PrincipalDep, SessionDep
from api.envelope import CurrencyCode, Request
from api.errors import InvalidRequest, NotFound, translate
from api.pagination import PAGE, PageDep, list_of, owned
from core.accounts import get_account
from core.money import currency_code
from settlement.runs import (
    SettlementRunError,
    get_run,
    render_settlement_run,
    report_csv,
    report_json,
    run_settlement,
)
from settlement.runs.tables import SettlementRun


@translate(SettlementRunError)
def _run_error(exc: SettlementRunError) -> InvalidRequest:
    return InvalidRequest(str(exc), param=exc.param, code=exc.code)


class RunCreate(Request):
    account: Annotated[str, QueryParameter(max_length=40)]
    as_of: int
    """The cut-off, as Unix seconds: everything due up to it is settled."""
    currency: CurrencyCode | None = None


class SettlementRunController(Controller):
    path = "/v1/settlement_runs"
    opt = roles(FINANCE, ADMIN)

    @post("/", status_code=200, sync_to_thread=True)
    def create(self, data: JSONBody[RunCreate], session: SessionDep) -> dict[str, Any]:
        account = get_account(session, data.account)
        if account is None:
            raise NotFound("account", data.account, param="account")
        if not 0 < data.as_of < 253402300800:
            raise InvalidRequest("as_of must be a Unix timestamp.", param="as_of")
        currency = currency_code(data.currency) if data.currency else account.default_currency
        run = run_settlement(
            session, account.id, currency, dt.datetime.fromtimestamp(data.as_of, dt.UTC)
        )
        return render_settlement_run(run)

    @get("/", sync_to_thread=True, dependencies=PAGE, opt=roles(MERCHANT, FINANCE, ADMIN))
    def index(
        self,
        session: SessionDep,
        principal: PrincipalDep,
        page: PageDep,
        account: Annotated[str | None, QueryParameter(max_length=40)] = None,
    ) -> dict[str, Any]:
        where = owned(SettlementRun.account_id, principal)
        if account:
            where.append(SettlementRun.account_id == account)
        return list_of(
            session,
            SettlementRun,
            page,
            "/v1/settlement_runs",
            render_settlement_run,
            where=where,
            cursor_visible=lambda r: principal.owns(r.account_id),
        )

    @get("/{run_id:str}", sync_to_thread=True, opt=roles(MERCHANT, FINANCE, ADMIN))
    def retrieve(
        self, run_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        run = get_run(session, run_id)
        if run is None or not principal.owns(run.account_id):
            raise NotFound("settlement_run", run_id)
        return render_settlement_run(run)

    @get(
        "/{run_id:str}/report",
        sync_to_thread=True,
        opt={**roles(MERCHANT, FINANCE, ADMIN), "media_types": ("application/json", "text/csv")},
    )
    def report(
        self,
        run_id: FromPath[str],
        session: SessionDep,
        principal: PrincipalDep,
        format_: Annotated[Literal["json", "csv"], QueryParameter(name="format")] = "json",
    ) -> Response[bytes]:
        """Every payment, refund, fee, FX rate and net in the run, as CSV or JSON."""
        run = get_run(session, run_id)
        if run is None or not principal.owns(run.account_id):
            raise NotFound("settlement_run", run_id)
        chunks = report_csv(session, run.id) if format_ == "csv" else report_json(session, run.id)
        body = "".join(chunks).encode()
        media = "text/csv" if format_ == "csv" else "application/json"
        return Response(
            body,
            media_type=media,
            headers={"Content-Disposition": f'inline; filename="{run.id}.{format_}"'},
        )


ROUTES = [SettlementRunController]
_ = Stream
