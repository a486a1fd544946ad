"""Compliance pages: the review queue, case files and decisions, lists, rules, audit.

Decisions go through :mod:`compliance.reviews` (via :mod:`api.console.review_decisions`,
which also releases or cancels the held money); rule sets through
:mod:`compliance.rules.store`; the audit log through :mod:`compliance.audit`. Every
action is attributed to the signed-in key's id, as the API attributes it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.console.error_pages import NotYours
from api.console.form_input import params_of, text
from api.console.outcomes import attempt
from api.console.review_decisions import ACTIONS, act
from api.console.review_queue import QueueFilter, case_file, queue, queue_choices
from api.console.signin import viewer_of
from api.console.templating import is_fragment_request, page
from compliance import audit
from compliance.reviews import ReviewNotFound
from compliance.rules.store import (
    RuleSetNotFound,
    activate_rule_set,
    active_rule_set,
    dry_run_stored,
    get_rule_set,
    list_rule_sets,
)
from compliance.sanctions import active_snapshots
from compliance.sanctions.tables import SanctionsSnapshot

AUDIT_PAGE = 50


def _session(request: Request[Any, Any, Any]) -> Session:
    return request.scope["state"]["session"]


@get("/", sync_to_thread=True)
def review_queue(request: Request[Any, Any, Any]) -> Response[Any]:
    session = _session(request)
    filters = QueueFilter.from_query(request.query_params)
    after = request.query_params.get("after")
    found = queue(session, filters, after=int(after) if after and after.isdigit() else None)
    context = {"filters": filters, "found": found, "query_of": filters.as_query()}
    if is_fragment_request(request, "queue-results"):
        return page(request, "compliance/_queue_results.html", **context)
    return page(request, "compliance/queue.html", choices=queue_choices(session), **context)


def _case(request: Request[Any, Any, Any], review_id: str, **extra: Any) -> Response[Any]:
    session = _session(request)
    try:
        case = case_file(session, review_id)
    except ReviewNotFound as exc:
        raise NotYours() from exc
    return page(
        request,
        "compliance/case.html",
        case=case,
        done=request.query_params.get("done"),
        problem=extra.pop("problem", None),
        form=extra.pop("form", {}),
        status=extra.pop("status", 200),
    )


@get("/reviews/{review_id:str}", sync_to_thread=True)
def review_case(request: Request[Any, Any, Any], review_id: FromPath[str]) -> Response[Any]:
    return _case(request, review_id)


@post("/reviews/{review_id:str}", sync_to_thread=True, status_code=303)
def review_action(request: Request[Any, Any, Any], review_id: FromPath[str]) -> Response[Any]:
    session = _session(request)
    try:
        case_file(session, review_id)
    except ReviewNotFound as exc:
        raise NotYours() from exc
    params = params_of(request)
    action = text(params, "action") or ""
    if action not in ACTIONS:
        raise NotYours()
    viewer = viewer_of(request)
    _, problem = attempt(
        session,
        lambda: act(
            session,
            review_id,
            action,
            actor=viewer.actor,
            note=text(params, "note", max_length=5000),
            assignee=text(params, "assignee", max_length=200),
            match=text(params, "match", max_length=300),
        ),
    )
    if problem is not None:
        return _case(
            request,
            review_id,
            problem=problem,
            form={"action": action, **{k: v for k, v in params.items() if k != "csrf_token"}},
            status=problem.status,
        )
    return Redirect(f"/console/compliance/reviews/{review_id}?done={action}", status_code=303)


@get("/sanctions", sync_to_thread=True)
def sanctions_lists(request: Request[Any, Any, Any]) -> Response[Any]:
    session = _session(request)
    snapshots = session.scalars(
        select(SanctionsSnapshot).order_by(
            SanctionsSnapshot.source, SanctionsSnapshot.loaded_at.desc()
        )
    ).all()
    history: dict[str, list[SanctionsSnapshot]] = {}
    for snapshot in snapshots:
        history.setdefault(snapshot.source, []).append(snapshot)
    active = {info.source: info for info in active_snapshots(session)}
    return page(request, "compliance/sanctions.html", history=history, active=active)


@get("/rules", sync_to_thread=True)
def rule_sets(request: Request[Any, Any, Any]) -> Response[Any]:
    session = _session(request)
    return page(
        request,
        "compliance/rules.html",
        versions=list_rule_sets(session),
        active=active_rule_set(session),
    )


def _rule_set_page(
    request: Request[Any, Any, Any], version: int, *, status: int = 200, problem: Any = None
) -> Response[Any]:
    session = _session(request)
    try:
        shown = get_rule_set(session, version)
    except RuleSetNotFound as exc:
        raise NotYours() from exc
    report = None
    if request.query_params.get("dry_run") and problem is None:
        report = dry_run_stored(session, version)
    return page(
        request,
        "compliance/rule_set.html",
        shown=shown,
        active=active_rule_set(session),
        report=report,
        done=request.query_params.get("done"),
        problem=problem,
        status=status,
    )


@get("/rules/{version:int}", sync_to_thread=True)
def rule_set(request: Request[Any, Any, Any], version: FromPath[int]) -> Response[Any]:
    return _rule_set_page(request, version)


@post("/rules/{version:int}/activate", sync_to_thread=True, status_code=303)
def activate(request: Request[Any, Any, Any], version: FromPath[int]) -> Response[Any]:
    session = _session(request)
    try:
        get_rule_set(session, version)
    except RuleSetNotFound as exc:
        raise NotYours() from exc
    actor = viewer_of(request).actor
    _, problem = attempt(session, lambda: activate_rule_set(session, version, actor=actor))
    if problem is not None:
        return _rule_set_page(request, version, status=problem.status, problem=problem)
    return Redirect(f"/console/compliance/rules/{version}?done=activated", status_code=303)


@get("/audit", sync_to_thread=True)
def audit_log(request: Request[Any, Any, Any]) -> Response[Any]:
    session = _session(request)
    query = request.query_params
    before = query.get("before")
    action = (query.get("action") or "").strip()[:100] or None
    ref = (query.get("ref") or "").strip()[:200] or None
    entries = audit.list_entries(
        session,
        limit=AUDIT_PAGE + 1,
        starting_after=int(before) if before and before.isdigit() else None,
        action=action,
        ref=ref,
    )
    return page(
        request,
        "compliance/audit.html",
        entries=entries[:AUDIT_PAGE],
        older=entries[AUDIT_PAGE - 1].sequence if len(entries) > AUDIT_PAGE else None,
        action=action or "",
        ref=ref or "",
    )


@get("/audit/verify", sync_to_thread=True)
def audit_verify(request: Request[Any, Any, Any]) -> Response[Any]:
    """The whole chain, checked now (loaded into the audit page by htmx, or on its own)."""
    result = audit.verify(_session(request))
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true":
        return page(request, "compliance/_audit_verify.html", result=result)
    return page(request, "compliance/audit_verify.html", result=result)


ROUTES = [
    review_queue,
    review_case,
    review_action,
    sanctions_lists,
    rule_sets,
    rule_set,
    activate,
    audit_log,
    audit_verify,
]
