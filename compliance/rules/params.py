"""Reading a rule's parameters with error messages an officer can act on.

A rule-set file is written by people. Every problem is collected with its location
(``rules[3].params.window``) instead of stopping at the first, so one upload shows
everything that needs fixing. Money is written in major units as a string or an integer
(``"10000.00"`` or ``10000``) and becomes integer minor units; a float is refused because
it cannot say ``0.10`` exactly.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from core.money import AmountError, CurrencyError, currency_code, parse_major

from .context import ContextError, country_code

T = TypeVar("T")

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class RuleSetError(ValueError):
    """A rule set that cannot be used, with every problem found and where it is."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def parse_duration(value: Any) -> dt.timedelta:
    """``"90s"``, ``"30m"``, ``"1h"``, ``"24h"``, ``"7d"``, ``"2w"`` or an integer of seconds."""
    if isinstance(value, bool):
        raise ValueError("is not a duration")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ValueError(f'{value!r} is not a duration (write e.g. "1h", "24h", "7d")')
    if seconds <= 0:
        raise ValueError("must be longer than zero")
    return dt.timedelta(seconds=seconds)


class Params:
    """Typed access to one rule's ``params`` table that records problems instead of raising."""

    def __init__(self, data: Any, where: str, problems: list[Problem], base_currency: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            problems.append(Problem(where, "must be a table of parameters"))
            data = {}
        self._data: Mapping[str, Any] = data
        self._where = where
        self._problems = problems
        self._used: set[str] = set()
        self.base_currency = base_currency

    def problem(self, name: str | None, message: str) -> None:
        self._problems.append(Problem(f"{self._where}.{name}" if name else self._where, message))

    def _get(self, name: str) -> Any:
        self._used.add(name)
        return self._data.get(name)

    def has(self, name: str) -> bool:
        return name in self._data

    def money(
        self, name: str, *, currency: str | None = None, default: int | None = None
    ) -> int | None:
        """A major-unit amount in ``currency`` (the base currency by default), as minor units."""
        raw = self._get(name)
        if raw is None:
            return default
        return self._money_value(name, raw, currency or self.base_currency)

    def _money_value(self, name: str, raw: Any, currency: str) -> int | None:
        if isinstance(raw, float):
            self.problem(name, f'write amounts as a string or an integer ("{raw}"), not a float')
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            self.problem(name, f"{raw!r} is not an amount")
            return None
        try:
            minor = parse_major(str(raw), currency)
        except AmountError as exc:
            self.problem(name, f"{exc} ({currency})")
            return None
        if minor < 0:
            self.problem(name, "must not be negative")
            return None
        return minor

    def money_by_currency(self, name: str) -> dict[str, int]:
        """``{EUR = "1000", USD = "1000"}``: thresholds on the payment's own currency."""
        raw = self._get(name)
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.problem(name, "must be a table of currency = amount")
            return {}
        out: dict[str, int] = {}
        for code, amount in raw.items():
            try:
                upper = currency_code(str(code))
            except CurrencyError as exc:
                self.problem(f"{name}.{code}", str(exc))
                continue
            minor = self._money_value(f"{name}.{code}", amount, upper)
            if minor is not None:
                out[upper] = minor
        return out

    def duration(self, name: str, default: str | None = None) -> dt.timedelta:
        raw = self._get(name)
        if raw is None:
            if default is None:
                self.problem(name, 'is required (a duration such as "24h")')
                return dt.timedelta(seconds=1)
            raw = default
        try:
            return parse_duration(raw)
        except ValueError as exc:
            self.problem(name, str(exc))
            return dt.timedelta(seconds=1)

    def integer(
        self,
        name: str,
        *,
        default: int | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        raw = self._get(name)
        if raw is None:
            return default
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.problem(name, f"{raw!r} is not a whole number")
            return default
        if minimum is not None and raw < minimum:
            self.problem(name, f"must be at least {minimum}")
            return default
        if maximum is not None and raw > maximum:
            self.problem(name, f"must be at most {maximum}")
            return default
        return raw

    def fraction(self, name: str, default: float) -> float:
        """A match score threshold in [0, 1] (a similarity, not money: floats are fine)."""
        raw = self._get(name)
        if raw is None:
            return default
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 1:
            self.problem(name, f"{raw!r} is not a number between 0 and 1")
            return default
        return float(raw)

    def boolean(self, name: str, default: bool) -> bool:
        raw = self._get(name)
        if raw is None:
            return default
        if not isinstance(raw, bool):
            self.problem(name, f"{raw!r} is not true or false")
            return default
        return raw

    def choice(self, name: str, options: Sequence[str], default: str | None = None) -> str:
        raw = self._get(name)
        if raw is None:
            if default is None:
                self.problem(name, f"is required (one of {', '.join(options)})")
                return options[0]
            return default
        if raw not in options:
            self.problem(name, f"{raw!r} is not one of {', '.join(options)}")
            return default or options[0]
        return str(raw)

    def choices(self, name: str, options: Sequence[str], default: Sequence[str]) -> tuple[str, ...]:
        raw = self._get(name)
        if raw is None:
            return tuple(default)
        if isinstance(raw, str) or not isinstance(raw, Sequence) or not raw:
            self.problem(name, f"must be a non-empty list drawn from {', '.join(options)}")
            return tuple(default)
        bad = [v for v in raw if v not in options]
        if bad:
            self.problem(name, f"{', '.join(map(repr, bad))} not in {', '.join(options)}")
            return tuple(default)
        return tuple(dict.fromkeys(raw))

    def countries(self, name: str) -> tuple[str, ...] | None:
        raw = self._get(name)
        if raw is None:
            return None
        if isinstance(raw, str) or not isinstance(raw, Sequence):
            self.problem(name, "must be a list of ISO 3166-1 alpha-2 codes")
            return None
        out = []
        for code in raw:
            try:
                out.append(country_code(str(code)) or "")
            except ContextError as exc:
                self.problem(name, str(exc))
        return tuple(sorted(set(out) - {""}))

    def text_list(self, name: str, default: Sequence[str]) -> list[str]:
        raw = self._get(name)
        if raw is None:
            return list(default)
        if (
            isinstance(raw, str)
            or not isinstance(raw, Sequence)
            or not all(isinstance(v, str) for v in raw)
        ):
            self.problem(name, "must be a list of text values")
            return list(default)
        return list(raw)

    def text(self, name: str, default: str | None = None) -> str | None:
        raw = self._get(name)
        if raw is None:
            return default
        if not isinstance(raw, str):
            self.problem(name, f"{raw!r} is not text")
            return default
        return raw

    def finish(self) -> None:
        """Unknown parameters are errors: a misspelt ``max_cuont`` must not pass silently."""
        for name in self._data:
            if name not in self._used:
                self.problem(name, "is not a parameter of this rule type")
