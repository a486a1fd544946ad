"""The rolling reserve: part of each settlement held back for a number of days.

Configured per merchant in ``account.settings["reserve"]``::

    {"percent": 10, "days": 90}        # 10 % of each run's net, released 90 days later
    {"ppm": 12_500, "days": 30}        # 1.25 % (parts per million, for fractional percents)

``percent`` (an integer 0-100) and ``ppm`` (0-1,000,000) are alternatives; give one.
``days`` (0-3650) is how long each run's reserve is held: it is released at the run's
cut-off plus ``days`` (midnight UTC, like every ``available_on``). No ``reserve`` key,
or a zero rate, holds nothing.

Rounding: the reserve of a run with net ``n > 0`` is ``floor(n * ppm / 1e6)``
(:data:`RESERVE_ROUNDING`, toward zero, i.e. in the merchant's favour); the rest,
``n - reserve``, becomes available, so the two parts add up to the net exactly and no
minor unit is lost. A run whose net is zero or negative holds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN
from typing import Any, Final

from core.money import check_minor

PPM: Final = 1_000_000
RESERVE_ROUNDING: Final = ROUND_DOWN
"""The reserve is rounded toward zero; the remainder stays with the available part."""
MAX_RESERVE_DAYS: Final = 3650
_PARAM: Final = "settings[reserve]"


class ReserveError(ValueError):
    """A reserve configuration that cannot be applied; ``param`` names the setting."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class ReservePolicy:
    ppm: int = 0
    days: int = 0

    def __post_init__(self) -> None:
        if type(self.ppm) is not int or not 0 <= self.ppm <= PPM:
            raise ReserveError(f"the reserve rate must be 0 to {PPM} ppm", f"{_PARAM}[ppm]")
        if type(self.days) is not int or not 0 <= self.days <= MAX_RESERVE_DAYS:
            raise ReserveError(
                f"reserve days must be an integer from 0 to {MAX_RESERVE_DAYS}",
                f"{_PARAM}[days]",
            )

    @property
    def active(self) -> bool:
        return self.ppm > 0

    def held(self, net: int) -> int:
        """The part of a run's ``net`` held in reserve (see the module's rounding rule)."""
        check_minor(net)
        if net <= 0 or not self.ppm:
            return 0
        return net * self.ppm // PPM

    def release_on(self, cut_off: dt.datetime) -> dt.datetime:
        """When a reserve held by the run with ``cut_off`` becomes available again."""
        return cut_off + dt.timedelta(days=self.days)


def reserve_policy(settings: Mapping[str, Any] | None) -> ReservePolicy:
    """The policy in ``account.settings["reserve"]`` (none when absent)."""
    raw = (settings or {}).get("reserve")
    if raw is None:
        return ReservePolicy()
    if not isinstance(raw, Mapping):
        raise ReserveError("the reserve must be an object", _PARAM)
    if "percent" in raw and "ppm" in raw:
        raise ReserveError("give the reserve as percent or as ppm, not both", _PARAM)
    if "percent" in raw:
        percent = raw["percent"]
        if type(percent) is not int or not 0 <= percent <= 100:
            raise ReserveError("percent must be an integer from 0 to 100", f"{_PARAM}[percent]")
        ppm = percent * (PPM // 100)
    else:
        ppm = raw.get("ppm", 0)
    return ReservePolicy(ppm=ppm, days=raw.get("days", 0))
