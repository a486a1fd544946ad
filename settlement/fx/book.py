"""Resolve any currency pair on a date from rate feeds in precedence order.

The feeds' published pairs form a graph for the date (one edge per unordered pair,
taken from the first feed that publishes it: an override in force beats the ECB for
the same pair). A rate is found by the shortest path in that graph, at most
``MAX_HOPS`` edges, trying the pivot (EUR, the ECB's base) before other currencies and
then alphabetical order, so the same inputs always give the same path:

* ``X/X`` is 1 (source ``identity``);
* a published pair is returned exactly as published; its reverse is the rounded inverse;
* otherwise a cross rate: ``JPY/USD = (EUR/USD) / (EUR/JPY)``, and with an override
  ``USD/BHD`` in force, ``JPY/BHD`` goes ``JPY -> EUR -> USD -> BHD``.

A derived rate is rounded once to ``RATE_DIGITS`` significant digits (see
:mod:`settlement.fx.rates`); its ``source`` joins the sources of its edges (``ecb``,
``override:treasury+ecb``) and its ``as_of`` is the oldest fixing it rests on.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from sqlalchemy.orm import Session

from core.money import currency_code
from settlement.fx.ecb import EcbRates
from settlement.fx.overrides import OverrideRates
from settlement.fx.rates import Rate, RateFeed, RateNotFound, round_rate, working_context

PIVOT: Final = "EUR"
MAX_HOPS: Final = 3
IDENTITY_SOURCE: Final = "identity"


class RateBook:
    """A :class:`~settlement.fx.rates.RateSource` over feeds listed highest precedence first."""

    def __init__(self, feeds: Sequence[RateFeed], *, pivot: str = PIVOT) -> None:
        if not feeds:
            raise ValueError("a rate book needs at least one feed")
        self._feeds = tuple(feeds)
        self._pivot = currency_code(pivot)
        self._graphs: dict[dt.date, dict[str, dict[str, Rate]]] = {}

    def rate(self, base: str, quote: str, on: dt.date) -> Rate:
        base, quote = currency_code(base), currency_code(quote)
        if base == quote:
            return Rate(base, quote, Decimal(1), IDENTITY_SOURCE, on)
        graph = self._graph(on)
        if base not in graph or quote not in graph:
            missing = sorted({base, quote} - graph.keys())
            raise RateNotFound(base, quote, on, f"no feed publishes {', '.join(missing)}")
        path = self._shortest_path(graph, base, quote)
        if path is None:
            raise RateNotFound(base, quote, on, f"no chain of at most {MAX_HOPS} published rates")
        return self._along(graph, path)

    def rates(self, base: str, on: dt.date) -> dict[str, Rate]:
        """Every currency priced against ``base`` on ``on`` (for ``GET /v1/fx_rates``)."""
        base = currency_code(base)
        graph = self._graph(on)
        if base not in graph:
            raise RateNotFound(base, "*", on, f"no feed publishes {base}")
        found = {}
        for quote in sorted(graph.keys() - {base}):
            try:
                found[quote] = self.rate(base, quote, on)
            except RateNotFound:
                continue
        return found

    def currencies(self, on: dt.date) -> frozenset[str]:
        """Currencies that at least one feed publishes on ``on``."""
        return frozenset(self._graph(on))

    # -- internals ---------------------------------------------------------------------

    def _graph(self, on: dt.date) -> dict[str, dict[str, Rate]]:
        """``graph[a][b]`` is the published rate joining a and b (in either direction)."""
        cached = self._graphs.get(on)
        if cached is not None:
            return cached
        graph: dict[str, dict[str, Rate]] = {}
        for feed in self._feeds:
            for published in feed.published(on):
                a, b = published.base, published.quote
                if a == b or b in graph.get(a, {}):
                    continue  # a higher-precedence feed already joined this pair
                graph.setdefault(a, {})[b] = published
                graph.setdefault(b, {})[a] = published
        self._graphs[on] = graph
        return graph

    def _neighbours(self, graph: dict[str, dict[str, Rate]], node: str) -> list[str]:
        return sorted(graph[node], key=lambda code: (code != self._pivot, code))

    def _shortest_path(
        self, graph: dict[str, dict[str, Rate]], base: str, quote: str
    ) -> list[str] | None:
        previous: dict[str, str | None] = {base: None}
        frontier: deque[tuple[str, int]] = deque([(base, 0)])
        while frontier:
            node, hops = frontier.popleft()
            if node == quote:
                path = [node]
                while (step := previous[path[-1]]) is not None:
                    path.append(step)
                return path[::-1]
            if hops == MAX_HOPS:
                continue
            for neighbour in self._neighbours(graph, node):
                if neighbour not in previous:
                    previous[neighbour] = node
                    frontier.append((neighbour, hops + 1))
        return None

    @staticmethod
    def _along(graph: dict[str, dict[str, Rate]], path: list[str]) -> Rate:
        edges = [graph[a][b] for a, b in itertools.pairwise(path)]
        if len(edges) == 1:
            edge = edges[0]
            return edge if edge.base == path[0] else edge.inverse()
        context = working_context()
        value = Decimal(1)
        for (a, _b), edge in zip(itertools.pairwise(path), edges, strict=True):
            value = (
                context.multiply(value, edge.value)
                if edge.base == a
                else context.divide(value, edge.value)
            )
        sources: list[str] = []
        for edge in edges:
            if edge.source not in sources:
                sources.append(edge.source)
        return Rate(
            base=path[0],
            quote=path[-1],
            value=round_rate(value),
            source="+".join(sources),
            as_of=min(edge.as_of for edge in edges),
            path=tuple(path),
        )


def default_rate_book(session: Session) -> RateBook:
    """Treasury overrides in force first, then the ECB file bundled offline."""
    return RateBook([OverrideRates(session), EcbRates.bundled()])
