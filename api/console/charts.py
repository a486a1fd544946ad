"""Bar charts as pure geometry, drawn by the templates as inline SVG (no chart library).

Coordinates are integers in a fixed ``viewBox`` (CSS scales the SVG to the screen), so
no floating point is involved anywhere between an amount in minor units and its bar:
the scale is exact integer arithmetic, rounded down to a viewBox unit. Bars grow from
the zero line, up for positive and down for negative values; stacked bars pile each
sign separately, so a negative net never hides a positive volume. Axis ticks fall on
"nice" steps (1, 2 or 5 times a power of ten).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

WIDTH: Final = 6400
HEIGHT: Final = 2400
LEFT: Final = 1100
"""Room for the value axis labels."""
RIGHT: Final = 100
TOP: Final = 100
BOTTOM: Final = 300
"""Room for the category labels."""


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[int, ...]


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    series: int
    category: int
    value: int


@dataclass(frozen=True)
class Tick:
    y: int
    value: int


@dataclass(frozen=True)
class Label:
    x: int
    text: str


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[Label, ...]
    zero_y: int
    series: tuple[Series, ...]
    categories: tuple[str, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return all(value == 0 for s in self.series for value in s.values)


def nice_step(span: int, ticks: int = 4) -> int:
    """The smallest 1/2/5 x 10^k step that covers ``span`` in at most ``ticks`` steps."""
    if span <= 0:
        return 1
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if -(-span // step) <= ticks:
                return step
        magnitude *= 10


def _extent(series: Sequence[Series], count: int, stacked: bool) -> tuple[int, int]:
    if stacked:
        highs = [sum(max(s.values[i], 0) for s in series) for i in range(count)]
        lows = [sum(min(s.values[i], 0) for s in series) for i in range(count)]
    else:
        highs = [v for s in series for v in s.values]
        lows = highs
    return min([0, *lows]), max([0, *highs])


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = False,
    label_every: int = 1,
) -> BarChart:
    """Lay out one bar per (category, series), grouped side by side or stacked."""
    count = len(categories)
    if any(len(s.values) != count for s in series):
        raise ValueError("every series needs one value per category")
    low, high = _extent(series, count, stacked)
    step = nice_step(high - low or 1)
    axis_low = (low // step) * step
    axis_high = -(-high // step) * step
    if axis_high == axis_low:
        axis_high = axis_low + step
    top, bottom = TOP, HEIGHT - BOTTOM
    span = axis_high - axis_low

    def y_of(value: int) -> int:
        return bottom - (value - axis_low) * (bottom - top) // span

    zero = y_of(0)
    slot = (WIDTH - RIGHT - LEFT) // max(count, 1)
    gap = max(slot // 8, 1)
    group = slot - 2 * gap
    lanes = 1 if stacked else max(len(series), 1)
    lane = max(group // lanes, 1)
    bars: list[Bar] = []
    for i in range(count):
        x0 = LEFT + i * slot + gap
        up = down = 0
        for j, s in enumerate(series):
            value = s.values[i]
            if stacked:
                base = up if value >= 0 else down
                y_a, y_b = y_of(base), y_of(base + value)
                if value >= 0:
                    up += value
                else:
                    down += value
                x = x0
            else:
                y_a, y_b = zero, y_of(value)
                x = x0 + j * lane
            bars.append(Bar(x, min(y_a, y_b), lane, abs(y_a - y_b), j, i, value))
    ticks = tuple(Tick(y_of(v), v) for v in range(axis_low, axis_high + 1, step))
    labels = tuple(
        Label(LEFT + i * slot + slot // 2, text)
        for i, text in enumerate(categories)
        if i % max(label_every, 1) == 0
    )
    return BarChart(tuple(bars), ticks, labels, zero, tuple(series), tuple(categories))
