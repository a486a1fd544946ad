"""``/v1/compliance/rules``: versioned rule sets; create, dry-run, activate.

A rule set is written in TOML (the format of ``compliance/data/default_rules.toml``) or
as the same structure in JSON. ``POST /v1/compliance/rules`` stores it as a new draft
version (the same rules twice give the same version); ``POST .../{id}/dry_run`` replays
the recorded past payments under it and reports what would change against the active
set; ``POST .../{id}/activate`` makes it the one the money flow uses (the previous one is
retired; activating a retired version again is how a change is rolled back). Creating
and activating are written to the audit trail.

A version's id is ``crs_<version>``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.orm import Session

from api.auth import ADMIN, COMPLIANCE, Principal, roles
from api.context import PrincipalDep, SessionDep
from api.envelope import Request, timestamp
from api.errors import InvalidRequest, NotFound, translate
from api.pagination import PAGE, PageDep, list_object
from compliance.rules import RuleSetError, parse_rule_set, rule_set_from_toml
from compliance.rules.store import (
    RuleSetNotFound,
    RuleSetVersion,
    activate_rule_set,
    create_rule_set,
    dry_run_stored,
    get_rule_set,
    list_rule_sets,
)

ID_PREFIX = "crs_"


@translate(RuleSetError)
def _invalid(exc: RuleSetError) -> InvalidRequest:
    return InvalidRequest(
        f"The rule set is not valid: {exc}",
        code="rule_set_invalid",
        extra={"problems": [{"path": p.path, "message": p.message} for p in exc.problems]},
    )


class RuleSetCreate(Request):
    toml: Annotated[str, msgspec.Meta(min_length=1, max_length=200_000)] | None = None
    """The rule set as TOML text."""
    definition: dict[str, Any] | None = None
    """The rule set as a JSON object (same structure as the TOML)."""
    activate: bool = False


class DryRun(Request):
    since: Annotated[int, msgspec.Meta(ge=0)] | None = None
    """Unix seconds: replay payments evaluated from then on (default: all recorded)."""
    until: Annotated[int, msgspec.Meta(ge=0)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 10_000
    flips: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 100
    """How many of the payments whose decision changes to list (all are counted)."""


def render(version: RuleSetVersion) -> dict[str, Any]:
    rule_set = version.rule_set
    return {
        "id": f"{ID_PREFIX}{version.version}",
        "object": "compliance_rule_set",
        "version": version.version,
        "name": version.name,
        "status": version.status,
        "checksum": version.checksum,
        "created": timestamp(version.created),
        "created_by": version.created_by,
        "activated": timestamp(version.activated),
        "activated_by": version.activated_by,
        "retired": timestamp(version.retired),
        "livemode": False,
        "description": rule_set.description,
        "base_currency": rule_set.base_currency,
        "scoring": {"review_at": rule_set.review_score, "block_at": rule_set.block_score},
        "rules": [rule.to_dict() for rule in rule_set.rules],
    }


def _version_number(rule_set_id: str, param: str = "id") -> int:
    number = rule_set_id.removeprefix(ID_PREFIX)
    if not rule_set_id.startswith(ID_PREFIX) or not number.isdigit():
        raise NotFound("compliance_rule_set", rule_set_id, param=param)
    return int(number)


def _get(session: Session, rule_set_id: str) -> RuleSetVersion:
    try:
        return get_rule_set(session, _version_number(rule_set_id))
    except RuleSetNotFound:
        raise NotFound("compliance_rule_set", rule_set_id) from None


def _actor(principal: Principal) -> str:
    return principal.key_id


def _moment(value: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value, dt.UTC) if value is not None else None


class RuleSetController(Controller):
    path = "/v1/compliance/rules"
    opt = roles(COMPLIANCE, ADMIN)

    @get("/", sync_to_thread=True, dependencies=PAGE)
    def index(
        self,
        session: SessionDep,
        page: PageDep,
        status: Annotated[str | None, QueryParameter(pattern="^(draft|active|retired)$")] = None,
    ) -> dict[str, Any]:
        """Every version, newest first (cursors are version ids)."""
        versions = list_rule_sets(session, status=status, limit=100_000)
        if page.starting_after:
            older = _version_number(page.starting_after, "starting_after")
            versions = [v for v in versions if v.version < older]
        if page.ending_before:
            newer = _version_number(page.ending_before, "ending_before")
            versions = [v for v in versions if v.version > newer]
            shown = versions[-page.limit :]
        else:
            shown = versions[: page.limit]
        has_more = len(versions) > page.limit
        return list_object("/v1/compliance/rules", [render(v) for v in shown], has_more)

    @post("/", status_code=200, sync_to_thread=True)
    def create(
        self, data: JSONBody[RuleSetCreate], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        """Store a draft from ``toml`` or ``definition`` (and activate it if asked)."""
        if (data.toml is None) == (data.definition is None):
            raise InvalidRequest(
                "Provide the rule set as exactly one of toml or definition.", param="toml"
            )
        rule_set = (
            rule_set_from_toml(data.toml)
            if data.toml is not None
            else parse_rule_set(data.definition)
        )
        version = create_rule_set(session, rule_set, actor=_actor(principal))
        if data.activate:
            version = activate_rule_set(session, version.version, actor=_actor(principal))
        return render(version)

    @get("/{rule_set_id:str}", sync_to_thread=True)
    def retrieve(self, rule_set_id: FromPath[str], session: SessionDep) -> dict[str, Any]:
        return render(_get(session, rule_set_id))

    @post("/{rule_set_id:str}/activate", status_code=200, sync_to_thread=True)
    def activate(
        self, rule_set_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        """Make this version the active rule set (retiring the current one)."""
        version = _get(session, rule_set_id)
        return render(activate_rule_set(session, version.version, actor=_actor(principal)))

    @post("/{rule_set_id:str}/dry_run", status_code=200, sync_to_thread=True)
    def dry_run(
        self, rule_set_id: FromPath[str], data: JSONBody[DryRun], session: SessionDep
    ) -> dict[str, Any]:
        """What this version would have decided on recorded payments, against the active set."""
        version = _get(session, rule_set_id)
        report = dry_run_stored(
            session,
            version.version,
            since=_moment(data.since),
            until=_moment(data.until),
            limit=data.limit,
        ).to_dict()
        flips = report.pop("flips")
        return {
            "object": "compliance_rule_set_dry_run",
            "rule_set": f"{ID_PREFIX}{version.version}",
            **report,
            "flipped": len(flips),
            "flips": flips[: data.flips],
        }


ROUTES = [RuleSetController]
