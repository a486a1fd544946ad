"""``POST /v1/compliance/screenings``: screen one name against the active sanctions lists.

For an officer checking a name by hand (onboarding a merchant, a payer's complaint): the
answer is the decision the thresholds give (``allow`` / ``review`` / ``block``) and the
ranked matches, each with the listed primary ``name`` and the alias or spelling that
matched (``matched_name``). Every screening is written to the audit trail with who asked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import post
from litestar.params import JSONBody

from api.auth import ADMIN, COMPLIANCE, roles
from api.context import PrincipalDep, SessionDep
from api.envelope import Request, envelope
from api.errors import InvalidRequest
from compliance import audit
from compliance.active_index import active_index
from compliance.sanctions import BirthDate, resolve_country
from core.database import utcnow
from core.ids import new_id


class ScreeningCreate(Request):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    type: Literal["person", "entity"]
    country: Annotated[str, msgspec.Meta(min_length=2, max_length=100)] | None = None
    """ISO 3166-1 code or country name."""
    date_of_birth: Annotated[str, msgspec.Meta(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")] | None = None
    """``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``: as precise as known."""
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 10


def _birth_date(text: str | None) -> BirthDate | None:
    if text is None:
        return None
    try:
        return BirthDate.parse(text)  # validates the month, the day and a plausible year
    except ValueError as exc:
        raise InvalidRequest(
            f"Invalid date_of_birth: {text!r} is not a date of birth.", param="date_of_birth"
        ) from exc


@post(
    "/v1/compliance/screenings", status_code=200, sync_to_thread=True, opt=roles(COMPLIANCE, ADMIN)
)
def create_screening(
    data: JSONBody[ScreeningCreate], session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    country = None
    if data.country is not None:
        country = resolve_country(data.country)
        if country is None:
            raise InvalidRequest(
                f"Invalid country: {data.country!r} is not a country code or name.",
                param="country",
            )
    birth = _birth_date(data.date_of_birth)
    active = active_index(session)
    result = active.index.screen(
        data.name, kind=data.type, country=country, date_of_birth=birth, limit=data.limit
    )
    screening_id = new_id("scr")
    now = utcnow()
    matches = [match.to_dict() for match in result.matches]
    audit.append(
        session,
        principal.key_id,
        "screening.performed",
        screening_id,
        {
            "name": data.name,
            "type": data.type,
            "country": country,
            "date_of_birth": str(birth) if birth else None,
            "decision": result.decision.value,
            "matches": [
                {"list": m["list"], "entry_id": m["entry_id"], "score": m["score"]} for m in matches
            ],
            "snapshots": list(active.snapshot_ids),
        },
    )
    return envelope(
        "screening",
        screening_id,
        now,
        name=data.name,
        type=data.type,
        country=country,
        date_of_birth=str(birth) if birth else None,
        decision=result.decision.value,
        top_score=round(result.top_score, 4),
        thresholds={
            "block": active.index.thresholds.block,
            "review": active.index.thresholds.review,
        },
        matches=matches,
        lists=list(active.sources),
        snapshots=list(active.snapshot_ids),
    )


ROUTES = [create_screening]
