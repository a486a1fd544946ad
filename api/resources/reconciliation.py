"""``/v1/reconciliation/*``: statements in, matches and breaks out, for finance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, QueryParameter

from api.auth import ADMIN, FINANCE, Principal, roles
from api.context import PrincipalDep, SessionDep
from api.envelope import Request
from api.errors import InvalidRequest, NotFound, translate
from api.pagination import PAGE, PageDep, list_object
from settlement.reconciliation import (
    ReconciliationError,
    daily_report,
    get_break,
    get_statement,
    import_statement,
    list_breaks,
    render_break,
    render_report,
    render_statement,
    report_csv,
    resolve_break,
)
from settlement.reconciliation.statement import StatementRefused

FINANCE_ONLY = roles(FINANCE, ADMIN)
Source = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


@translate(StatementRefused)
def _refused(exc: StatementRefused) -> InvalidRequest:
    return InvalidRequest(
        f"The statement was refused: {exc}", param="file", code="statement_invalid"
    )


@translate(ReconciliationError)
def _recon_error(exc: ReconciliationError) -> InvalidRequest:
    code = getattr(exc, "code", None)
    return InvalidRequest(
        str(exc),
        param=getattr(exc, "param", None),
        code=code,
        status=404 if code == "resource_missing" else 400,
    )


def _actor(principal: Principal) -> str:
    return f"{principal.role}:{principal.key_id}"


@dataclass
class StatementUpload:
    file: UploadFile
    source: str


class ReconciliationController(Controller):
    path = "/v1/reconciliation"
    opt = FINANCE_ONLY

    @post("/statements", status_code=200, sync_to_thread=True, opt={**FINANCE_ONLY, "upload": True})
    def upload(
        self,
        data: Annotated[StatementUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        session: SessionDep,
        principal: PrincipalDep,
    ) -> dict[str, Any]:
        """Import a statement (camt.053/054, MT940, Stripe report, mapped CSV): the format
        is detected from the content; the same file twice adds nothing."""
        source = data.source.strip()
        if not source or len(source) > 64 or not source.isprintable():
            raise InvalidRequest("source must be 1 to 64 printable characters.", param="source")
        content = data.file.file.read()
        if not content:
            raise InvalidRequest("The uploaded file is empty.", param="file")
        result = import_statement(session, source, content, actor=_actor(principal))
        body = render_statement(session, result.statement)
        body["created_now"] = result.created
        return body

    @get("/statements/{statement_id:str}", sync_to_thread=True)
    def statement(self, statement_id: FromPath[str], session: SessionDep) -> dict[str, Any]:
        row = get_statement(session, statement_id)
        if row is None:
            raise NotFound("statement", statement_id)
        return render_statement(session, row)

    @get("/breaks", sync_to_thread=True, dependencies=PAGE)
    def breaks(
        self,
        session: SessionDep,
        page: PageDep,
        status: Annotated[Literal["open", "resolved"] | None, QueryParameter()] = "open",
        source: Annotated[str | None, QueryParameter(max_length=64)] = None,
        currency: Annotated[str | None, QueryParameter(max_length=3)] = None,
    ) -> dict[str, Any]:
        rows, has_more = list_breaks(
            session,
            status=status,
            source=source,
            currency=currency.upper() if currency else None,
            limit=page.limit,
            starting_after=page.starting_after,
        )
        return list_object("/v1/reconciliation/breaks", [render_break(r) for r in rows], has_more)

    @get("/report", sync_to_thread=True, opt={"media_types": ("application/json", "text/csv")})
    def report(
        self,
        session: SessionDep,
        date: Annotated[dt.date | None, QueryParameter(description="YYYY-MM-DD")] = None,
        format_: Annotated[Literal["json", "csv"], QueryParameter(name="format")] = "json",
    ) -> Response[Any]:
        """Per currency: ledger vs statement balance, explained by open breaks."""
        day = date or dt.datetime.now(dt.UTC).date()
        lines = daily_report(session, day)
        if format_ == "csv":
            return Response(report_csv(lines), media_type="text/csv")
        return Response(render_report(lines, day))


class BreakResolution(Request):
    action: Literal["match_manually", "write_off", "ignore"]
    target: Annotated[str, msgspec.Meta(max_length=200)] | list[str] | None = None
    account: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


@post(
    "/v1/reconciliation/breaks/{break_id:str}/resolve",
    status_code=200,
    sync_to_thread=True,
    opt=FINANCE_ONLY,
    tags=["reconciliation"],
)
def resolve(
    break_id: FromPath[str],
    data: JSONBody[BreakResolution],
    session: SessionDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    if get_break(session, break_id) is None:
        raise NotFound("break", break_id)
    row = resolve_break(
        session,
        break_id,
        data.action,
        actor=_actor(principal),
        target=data.target,
        account=data.account,
        note=data.note,
    )
    return render_break(row)


ROUTES = [ReconciliationController, resolve]
_ = Source
