"""``/v1/fee_schedules``: what the platform charges each merchant (Corridor's own resource).

Percentages are integers in parts per million (2.9 % = 29000), fixed amounts are minor
units per currency, so a schedule holds no float anywhere. ``account`` omitted (or
``platform``) addresses the platform default every account without its own falls back to.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import get, post
from litestar.params import FromPath, JSONBody

from api.auth import ADMIN, FINANCE, roles
from api.context import SessionDep
from api.envelope import Request
from api.errors import InvalidRequest, NotFound
from core.accounts import get_account
from settlement.fees.schedule import PLATFORM_OWNER, FeeSchedule, RefundFeePolicy
from settlement.fees.store import FeeScheduleMissing, fee_schedule_for, save_fee_schedule

Ppm = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
PerCurrency = Annotated[
    dict[
        Annotated[str, msgspec.Meta(pattern=r"^[a-zA-Z]{3}$")],
        Annotated[int, msgspec.Meta(ge=0, le=10**12)],
    ],
    msgspec.Meta(max_length=200),
]


class FeeScheduleSet(Request):
    account: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    percent_ppm: Ppm = 0
    fixed: PerCurrency | None = None
    cross_border_ppm: Ppm = 0
    fx_markup_ppm: Ppm = 0
    minimum: PerCurrency | None = None
    refund_fixed: PerCurrency | None = None
    payout_fixed: PerCurrency | None = None
    refund_fee_policy: Literal["kept", "returned"] = "kept"


def render(schedule: FeeSchedule) -> dict[str, Any]:
    def per(values: Any) -> dict[str, int]:
        return {code.lower(): amount for code, amount in dict(values).items()}

    return {
        "id": schedule.id,
        "object": "fee_schedule",
        "account": None if schedule.owner == PLATFORM_OWNER else schedule.owner,
        "percent_ppm": schedule.percent_ppm,
        "fixed": per(schedule.fixed),
        "cross_border_ppm": schedule.cross_border_ppm,
        "fx_markup_ppm": schedule.fx_markup_ppm,
        "minimum": per(schedule.minimum),
        "refund_fixed": per(schedule.refund_fixed),
        "payout_fixed": per(schedule.payout_fixed),
        "refund_fee_policy": str(schedule.refund_fee_policy),
    }


@post(
    "/v1/fee_schedules",
    status_code=200,
    sync_to_thread=True,
    opt=roles(FINANCE, ADMIN),
    tags=["fees"],
)
def set_fee_schedule(data: JSONBody[FeeScheduleSet], session: SessionDep) -> dict[str, Any]:
    """Create or replace an account's schedule (or the platform default)."""
    owner = data.account or PLATFORM_OWNER
    if owner != PLATFORM_OWNER and get_account(session, owner) is None:
        raise NotFound("account", owner, param="account")
    try:
        schedule = FeeSchedule(
            owner=owner,
            percent_ppm=data.percent_ppm,
            fixed=data.fixed or {},
            cross_border_ppm=data.cross_border_ppm,
            fx_markup_ppm=data.fx_markup_ppm,
            minimum=data.minimum or {},
            refund_fixed=data.refund_fixed or {},
            payout_fixed=data.payout_fixed or {},
            refund_fee_policy=RefundFeePolicy(data.refund_fee_policy),
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc), param="fixed") from exc
    return render(save_fee_schedule(session, schedule))


@get("/v1/fee_schedules/{owner:str}", sync_to_thread=True, opt=roles(FINANCE, ADMIN), tags=["fees"])
def get_fee_schedule(owner: FromPath[str], session: SessionDep) -> dict[str, Any]:
    """``acct_...`` for an account's schedule (or the default it falls back to), or ``platform``."""
    try:
        return render(fee_schedule_for(session, owner))
    except FeeScheduleMissing as exc:
        raise NotFound("fee_schedule", owner, param="owner") from exc


ROUTES = [set_fee_schedule, get_fee_schedule]
