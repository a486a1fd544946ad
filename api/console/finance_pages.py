"""Finance pages: balances and charts, the ledger check, settlement runs, payouts,
reconciliation (upload a statement, see outcomes, work the breaks).

Reads go through the settlement modules' own functions where they exist (runs and
their reports, payouts and their bank files, statements, breaks, the daily report,
``ledger.verify``); the overview's sums are grouped queries in
:mod:`api.console.finance_figures`. Resolving a break and importing a statement call
:mod:`settlement.reconciliation` exactly as the API does, attributed to the signed-in key.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.console.charts import Series, bar_chart
from api.console.error_pages import NotYours
from api.console.finance_figures import (
    OUTCOMES,
    balances_by_currency,
    break_ageing,
    daily_volume,
    purpose_description,
    reconciliation_outcomes,
)
from api.console.form_input import FormProblem, params_of, text
from api.console.outcomes import Problem, attempt
from api.console.signin import viewer_of
from api.console.templating import Formatter, page, request_locale
from core.database import utcnow
from core.keyring import Keyring
from core.money import CurrencyError, currency_code
from core.settings import get_settings
from settlement.ledger import verify
from settlement.payouts import BankFileMissing, Payout, get_payout, payout_bank_file
from settlement.reconciliation import (
    ACTIONS,
    daily_report,
    get_break,
    get_statement,
    import_statement,
    list_breaks,
    resolve_break,
    statement_counts,
    statement_lines,
)
from settlement.reconciliation.effects import DIFFERENCES, WRITE_OFF_ACCOUNTS
from settlement.reconciliation.tables import StatementRow
from settlement.runs import ReportNotFound, SettlementRun, get_run, report_csv, settlement_report

PAGE: Final = 50
CHART_DAYS: Final = 14
REPORT_ROWS_SHOWN: Final = 200


def _session(request: Request[Any, Any, Any]) -> Session:
    return request.scope["state"]["session"]


def _currency(value: str | None) -> str | None:
    try:
        return currency_code(value) if value else None
    except CurrencyError:
        return None


def _htmx_fragment(request: Request[Any, Any, Any]) -> bool:
    return (
        request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"
    )


# --- overview -----------------------------------------------------------------------


@get("/", sync_to_thread=True)
def overview(request: Request[Any, Any, Any]) -> Response[Any]:
    session = _session(request)
    fmt = Formatter(request_locale(request))
    volumes = daily_volume(session, days=CHART_DAYS)
    charts = {}
    for currency, figures in volumes.items():
        charts[currency] = bar_chart(
            [fmt.short_date(f.day) for f in figures],
            [
                Series("volume", tuple(f.volume for f in figures)),
                Series("net", tuple(f.net for f in figures)),
            ],
            label_every=2,
        )
    balances = balances_by_currency(session)
    purposes = sorted({p for b in balances for p in b.by_purpose})
    return page(
        request,
        "finance/overview.html",
        balances=balances,
        purposes=purposes,
        descriptions={p: purpose_description(p) for p in purposes},
        volumes=volumes,
        charts=charts,
        days=CHART_DAYS,
    )


@get("/ledger/verify", sync_to_thread=True)
def ledger_verify(request: Request[Any, Any, Any]) -> Response[Any]:
    report = verify(_session(request), max_problems=50)
    template = (
        "finance/_ledger_verify.html" if _htmx_fragment(request) else "finance/ledger_verify.html"
    )
    return page(request, template, report=report)


# --- settlement runs ----------------------------------------------------------------


@get("/settlement-runs", sync_to_thread=True)
def settlement_runs(request: Request[Any, Any, Any]) -> Response[Any]:
    session = _session(request)
    query = request.query_params
    account = (query.get("account") or "").strip()[:40] or None
    currency = _currency(query.get("currency"))
    status = (
        query.get("status") if query.get("status") in ("succeeded", "failed", "running") else None
    )
    stmt = select(SettlementRun)
    if account:
        stmt = stmt.where(SettlementRun.account_id == account)
    if currency:
        stmt = stmt.where(SettlementRun.currency == currency)
    if status:
        stmt = stmt.where(SettlementRun.status == status)
    before = query.get("before")
    if before:
        cursor = session.get(SettlementRun, before)
        if cursor is not None:
            stmt = stmt.where(
                (SettlementRun.created < cursor.created)
                | ((SettlementRun.created == cursor.created) & (SettlementRun.id < cursor.id))
            )
    runs = list(
        session.scalars(
            stmt.order_by(SettlementRun.created.desc(), SettlementRun.id.desc()).limit(PAGE + 1)
        )
    )
    filters = {"account": account or "", "currency": currency or "", "status": status or ""}
    return page(
        request,
        "finance/runs.html",
        runs=runs[:PAGE],
        older=runs[PAGE - 1].id if len(runs) > PAGE else None,
        filters=filters,
    )


@get("/settlement-runs/{run_id:str}", sync_to_thread=True)
def settlement_run(request: Request[Any, Any, Any], run_id: FromPath[str]) -> Response[Any]:
    session = _session(request)
    run = get_run(session, run_id)
    if run is None:
        raise NotYours()
    rows = []
    for row in settlement_report(session, run_id):
        rows.append(row)
        if len(rows) > REPORT_ROWS_SHOWN:
            break
    return page(
        request,
        "finance/run.html",
        run=run,
        rows=rows[:REPORT_ROWS_SHOWN],
        more=len(rows) > REPORT_ROWS_SHOWN,
    )


@get("/settlement-runs/{run_id:str}/report.csv", sync_to_thread=True)
def settlement_run_csv(request: Request[Any, Any, Any], run_id: FromPath[str]) -> Response[Any]:
    """The whole report. Built in memory: the unit of work holds every response until it
    commits, and a streamed body would be cut short by its replayed request."""
    session = _session(request)
    try:
        body = "".join(report_csv(session, run_id))
    except ReportNotFound as exc:
        raise NotYours() from exc
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{run_id}.csv"'},
    )


# --- payouts ------------------------------------------------------------------------


@get("/payouts", sync_to_thread=True)
def payouts(request: Request[Any, Any, Any]) -> Response[Any]:
    session = _session(request)
    query = request.query_params
    account = (query.get("account") or "").strip()[:40] or None
    currency = _currency(query.get("currency"))
    status = (query.get("status") or "").strip()[:16] or None
    stmt = select(Payout)
    if account:
        stmt = stmt.where(Payout.account_id == account)
    if currency:
        stmt = stmt.where(Payout.currency == currency)
    if status:
        stmt = stmt.where(Payout.status == status)
    before = query.get("before")
    if before:
        cursor = session.get(Payout, before)
        if cursor is not None:
            stmt = stmt.where(
                (Payout.created < cursor.created)
                | ((Payout.created == cursor.created) & (Payout.id < cursor.id))
            )
    found = list(
        session.scalars(stmt.order_by(Payout.created.desc(), Payout.id.desc()).limit(PAGE + 1))
    )
    return page(
        request,
        "finance/payouts.html",
        payouts=found[:PAGE],
        older=found[PAGE - 1].id if len(found) > PAGE else None,
        filters={"account": account or "", "currency": currency or "", "status": status or ""},
    )


@get("/payouts/{payout_id:str}", sync_to_thread=True)
def payout(request: Request[Any, Any, Any], payout_id: FromPath[str]) -> Response[Any]:
    found = get_payout(_session(request), payout_id)
    if found is None:
        raise NotYours()
    return page(request, "finance/payout.html", payout=found)


@get("/payouts/{payout_id:str}/file", sync_to_thread=True)
def payout_file(request: Request[Any, Any, Any], payout_id: FromPath[str]) -> Response[Any]:
    """The payout's ISO 20022 pain.001, regenerated byte for byte as it was sent."""
    session = _session(request)
    found = get_payout(session, payout_id)
    if found is None:
        raise NotYours()
    try:
        built = payout_bank_file(session, found, Keyring.from_settings(get_settings()))
    except BankFileMissing as exc:
        raise NotYours() from exc
    return Response(
        built.content,
        media_type=built.media_type,
        headers={"Content-Disposition": f'attachment; filename="{built.filename}"'},
    )


# --- reconciliation -----------------------------------------------------------------


def _recon_page(
    request: Request[Any, Any, Any], *, status: int = 200, problem: Problem | None = None
) -> Response[Any]:
    session = _session(request)
    fmt = Formatter(request_locale(request))
    today = utcnow().date()
    outcomes = reconciliation_outcomes(session, days=CHART_DAYS, today=today)
    outcome_chart = bar_chart(
        [fmt.short_date(day.day) for day in outcomes],
        [Series(name, tuple(day.counts.get(name, 0) for day in outcomes)) for name in OUTCOMES],
        stacked=True,
        label_every=2,
    )
    ageing = break_ageing(session, today=today)
    ageing_chart = bar_chart(
        [f"{b.low}–{b.high}" if b.high is not None else f"{b.low}+" for b in ageing],
        [Series("breaks", tuple(b.count for b in ageing))],
    )
    statements = session.scalars(
        select(StatementRow).order_by(StatementRow.imported_at.desc()).limit(20)
    ).all()
    return page(
        request,
        "finance/reconciliation.html",
        status=status,
        problem=problem,
        statements=statements,
        report=daily_report(session, today),
        today=today,
        outcomes=outcomes,
        outcome_names=OUTCOMES,
        outcome_chart=outcome_chart,
        ageing=ageing,
        ageing_chart=ageing_chart,
        form=params_of(request),
    )


@get("/reconciliation", sync_to_thread=True)
def reconciliation(request: Request[Any, Any, Any]) -> Response[Any]:
    return _recon_page(request)


@post(
    "/reconciliation/statements",
    sync_to_thread=True,
    status_code=303,
    opt={"upload": True},
)
def upload_statement(
    request: Request[Any, Any, Any],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Response[Any]:
    session = _session(request)
    actor = viewer_of(request).actor

    def work() -> str:
        source = str(data.get("source") or "").strip()
        upload = data.get("file")
        if not source:
            raise FormProblem("source", "source is required")
        if not isinstance(upload, UploadFile):
            raise FormProblem("file", "choose a statement file")
        content = upload.file.read()
        if not content:
            raise FormProblem("file", "the file is empty")
        result = import_statement(session, source, content, actor=actor)
        return result.statement.id

    statement_id, problem = attempt(session, work)
    if problem is not None:
        return _recon_page(request, status=problem.status, problem=problem)
    return Redirect(
        f"/console/finance/reconciliation/statements/{statement_id}?done=imported", status_code=303
    )


@get("/reconciliation/statements/{statement_id:str}", sync_to_thread=True)
def statement(request: Request[Any, Any, Any], statement_id: FromPath[str]) -> Response[Any]:
    session = _session(request)
    row = get_statement(session, statement_id)
    if row is None:
        raise NotYours()
    after = request.query_params.get("after")
    try:
        lines, more = statement_lines(session, statement_id, limit=PAGE, starting_after=after)
    except ValueError as exc:
        raise NotYours() from exc
    return page(
        request,
        "finance/statement.html",
        statement=row,
        counts=statement_counts(session, row),
        lines=lines,
        next_after=lines[-1].id if more and lines else None,
        done=request.query_params.get("done"),
    )


@get("/reconciliation/breaks", sync_to_thread=True)
def breaks(request: Request[Any, Any, Any]) -> Response[Any]:
    session = _session(request)
    query = request.query_params
    status = query.get("status") if query.get("status") in ("open", "resolved", "all") else "open"
    source = (query.get("source") or "").strip()[:100] or None
    kind = (
        query.get("kind") if query.get("kind") in ("unmatched", "mismatched", "expected") else None
    )
    currency = _currency(query.get("currency"))
    after = query.get("after") or None
    try:
        found, more = list_breaks(
            session,
            status=None if status == "all" else status,
            source=source,
            kind=kind,
            currency=currency,
            limit=PAGE,
            starting_after=after,
        )
    except ValueError as exc:
        raise NotYours() from exc
    return page(
        request,
        "finance/breaks.html",
        breaks=found,
        next_after=found[-1].id if more and found else None,
        filters={
            "status": status,
            "source": source or "",
            "kind": kind or "",
            "currency": currency or "",
        },
        today=utcnow().date(),
    )


def _break_page(
    request: Request[Any, Any, Any],
    break_id: str,
    *,
    status: int = 200,
    problem: Problem | None = None,
) -> Response[Any]:
    session = _session(request)
    row = get_break(session, break_id)
    if row is None:
        raise NotYours()
    return page(
        request,
        "finance/break.html",
        status=status,
        brk=row,
        problem=problem,
        actions=ACTIONS,
        accounts=sorted(WRITE_OFF_ACCOUNTS),
        default_account=DIFFERENCES,
        form=params_of(request),
        done=request.query_params.get("done"),
        today=utcnow().date(),
    )


@get("/reconciliation/breaks/{break_id:str}", sync_to_thread=True)
def break_detail(request: Request[Any, Any, Any], break_id: FromPath[str]) -> Response[Any]:
    return _break_page(request, break_id)


@post("/reconciliation/breaks/{break_id:str}", sync_to_thread=True, status_code=303)
def resolve(request: Request[Any, Any, Any], break_id: FromPath[str]) -> Response[Any]:
    session = _session(request)
    if get_break(session, break_id) is None:
        raise NotYours()
    params = params_of(request)
    actor = viewer_of(request).actor

    def work() -> None:
        action = text(params, "action") or ""
        targets = (text(params, "target", max_length=4000) or "").replace(",", " ").split()
        account = text(params, "account", max_length=60)
        resolve_break(
            session,
            break_id,
            action,
            actor=actor,
            target=targets or None,
            account=account if action != "ignore" else None,
            note=text(params, "note", max_length=5000),
        )

    _, problem = attempt(session, work)
    if problem is not None:
        return _break_page(request, break_id, status=problem.status, problem=problem)
    return Redirect(
        f"/console/finance/reconciliation/breaks/{break_id}?done=resolved", status_code=303
    )


ROUTES = [
    overview,
    ledger_verify,
    settlement_runs,
    settlement_run,
    settlement_run_csv,
    payouts,
    payout,
    payout_file,
    reconciliation,
    upload_statement,
    statement,
    breaks,
    break_detail,
    resolve,
]
