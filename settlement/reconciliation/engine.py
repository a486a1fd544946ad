"""The matching engine: statement lines against expected items, pure and deterministic.

Input: lines (in the caller's order, which must itself be deterministic: the service
gives booking date, then line id) and expected items; output: :class:`Group` s, each an
outcome with the lines and items it concerns. Same input, same output, so a run can be
repeated at will; nothing here touches a database.

Every lookup is a dict (reference -> item, (currency, amount) -> items,
(currency, sum) -> batches); a tolerance uses a sorted amount list and bisection. Work
is linear in lines + items, which is what lets a million lines match in seconds.

Outcomes:

- ``matched``: the lines and items agree (amount within the source's tolerance);
- ``mismatched``: a line names an item (or batch) but the amount or currency differs;
- ``unmatched``: a line nothing explains;
- ``expected``: an item due by ``as_of`` (or already booked at the bank, whatever its
  date) with no line yet; ``overdue`` once past its window: timing has become a problem.
"""

from __future__ import annotations

import datetime as dt
import gc
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from .expected import Expected
from .rules import SourceRules


class Outcome(StrEnum):
    MATCHED = "matched"
    EXPECTED = "expected"
    MISMATCHED = "mismatched"
    UNMATCHED = "unmatched"


class LineItem(NamedTuple):
    """A statement line as the engine sees it (a named tuple: millions are made per run)."""

    id: str
    amount: int
    """Signed minor units (+ credit, - debit)."""
    currency: str
    date: dt.date
    tokens: tuple[str, ...] = ()


class Group(NamedTuple):
    outcome: Outcome
    rule: str | None
    lines: tuple[LineItem, ...]
    expected: tuple[Expected, ...]
    overdue: bool = False
    candidates: tuple[str, ...] = ()
    """For a break: the nearest counterparts (item keys for a line, line ids for an item)."""

    @property
    def line_total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def expected_total(self) -> int:
        return sum(item.amount for item in self.expected)

    @property
    def difference(self) -> int:
        """Lines minus expected (0 for an exact match)."""
        return self.line_total - self.expected_total


@dataclass(slots=True)
class MatchResult:
    groups: list[Group]

    def counts(self) -> dict[str, int]:
        """Lines per outcome, and items still ``expected``."""
        counts = {o.value: 0 for o in Outcome}
        for group in self.groups:
            if group.outcome is Outcome.EXPECTED:
                counts[Outcome.EXPECTED.value] += len(group.expected)
            else:
                counts[group.outcome.value] += len(group.lines)
        return counts

    def by_outcome(self, outcome: Outcome) -> list[Group]:
        return [g for g in self.groups if g.outcome is outcome]


class _AmountIndex:
    """Candidates by (currency, amount): a dict for exact amounts, sorted lists for ranges."""

    def __init__(self) -> None:
        self._exact: dict[tuple[str, int], list[object]] = defaultdict(list)
        self._sorted: dict[str, tuple[list[int], list[object]]] | None = None

    def add(self, currency: str, amount: int, value: object) -> None:
        self._exact[(currency, amount)].append(value)

    def discard(self, currency: str, amount: int, value: object) -> None:
        bucket = self._exact.get((currency, amount))
        if bucket is not None and value in bucket:
            bucket.remove(value)

    def _ranges(self) -> dict[str, tuple[list[int], list[object]]]:
        if self._sorted is None:
            per: dict[str, list[tuple[int, int, object]]] = defaultdict(list)
            seq = 0
            for (currency, amount), values in self._exact.items():
                for value in values:
                    per[currency].append((amount, seq, value))
                    seq += 1
            self._sorted = {}
            for currency, entries in per.items():
                entries.sort(key=lambda e: (e[0], e[1]))
                self._sorted[currency] = ([e[0] for e in entries], [e[2] for e in entries])
        return self._sorted

    def near(self, currency: str, amount: int, tolerance: int) -> Iterable[object]:
        if tolerance == 0:
            return self._exact.get((currency, amount), ())
        amounts, values = self._ranges().get(currency, ([], []))
        lo = bisect_left(amounts, amount - tolerance)
        hi = bisect_right(amounts, amount + tolerance)
        return values[lo:hi]

    def nearest(self, currency: str, amount: int, k: int) -> list[object]:
        """Up to ``2k`` values with the closest amounts (for suggestions)."""
        amounts, values = self._ranges().get(currency, ([], []))
        i = bisect_left(amounts, amount)
        return values[max(0, i - k) : i + k]


@dataclass(slots=True)
class _Batch:
    id: str
    items: list[Expected]
    currency: str
    amount: int
    date: dt.date


def match(
    lines: Sequence[LineItem],
    expected: Sequence[Expected],
    rules: SourceRules,
    as_of: dt.date,
    *,
    suggest: int = 3,
) -> MatchResult:
    """Match ``lines`` against ``expected`` under ``rules``; see the module doc.

    ``suggest`` is how many candidates each break lists (0 for none).

    The cyclic garbage collector is paused while it runs: matching allocates millions of
    small acyclic objects, and each full collection would rescan all of them, making the
    run quadratic in the number of lines. Reference counting still frees everything.
    """
    with paused_gc():
        return _Run(lines, expected, rules, as_of).run(suggest)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic collector (see :func:`match`); callers building millions of line
    items for the engine use it too."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Run:
    def __init__(
        self,
        lines: Sequence[LineItem],
        expected: Sequence[Expected],
        rules: SourceRules,
        as_of: dt.date,
    ) -> None:
        self.lines = lines
        self.expected = expected
        self.rules = rules
        self.as_of = as_of
        self.window = dt.timedelta(days=rules.window_days)
        self.groups: list[Group] = []
        self.line_done: set[str] = set()
        self.item_done: set[str] = set()

    # -- helpers ------------------------------------------------------------------------

    def _close(
        self,
        outcome: Outcome,
        rule: str | None,
        lines: Sequence[LineItem],
        items: Sequence[Expected],
    ) -> None:
        self.groups.append(Group(outcome, rule, tuple(lines), tuple(items)))
        for line in lines:
            self.line_done.add(line.id)
        for item in items:
            self.item_done.add(item.key)

    def _agrees(self, lines: Sequence[LineItem], items: Sequence[Expected]) -> bool:
        if len(lines) == 1 and len(items) == 1:  # the common case, without generators
            line, item = lines[0], items[0]
            return line.currency == item.currency and abs(line.amount - item.amount) <= (
                self.rules.tolerance_for(item.currency)
            )
        currency = items[0].currency
        if any(line.currency != currency for line in lines) or any(
            item.currency != currency for item in items
        ):
            return False
        total = sum(line.amount for line in lines) - sum(item.amount for item in items)
        return abs(total) <= self.rules.tolerance_for(currency)

    def _batches(self) -> dict[str, list[Expected]]:
        batches: dict[str, list[Expected]] = defaultdict(list)
        for item in self.expected:
            if item.batch is not None:
                batches[item.batch].append(item)
        return batches

    # -- phases -------------------------------------------------------------------------

    def run(self, suggest: int) -> MatchResult:
        batches = self._batches()
        deferred: dict[str, tuple[list[LineItem], list[Expected]]] = {}
        if "reference" in self.rules.rules or "split" in self.rules.rules:
            deferred = self._references(batches)
        self._prune()
        for rule in self.rules.rules:
            if rule == "amount_date":
                self._amount_date(batches)
            elif rule == "batch":
                self._prune()
                self._batch(batches)
            elif rule == "split":
                self._split(deferred)
        self._finish(suggest)
        return MatchResult(self.groups)

    def _prune(self) -> None:
        """Keep only what is still open, so later phases do not rescan settled lines."""
        line_done, item_done = self.line_done, self.item_done
        self.lines = [line for line in self.lines if line.id not in line_done]
        self.expected = [item for item in self.expected if item.key not in item_done]

    def _references(
        self, batches: dict[str, list[Expected]]
    ) -> dict[str, tuple[list[LineItem], list[Expected]]]:
        by_reference: dict[str, Expected] = {}
        remember = by_reference.setdefault
        for item in self.expected:
            for value in item.references.values():
                if value:
                    remember(value, item)  # first item (date, key order) wins
        # key -> (first line, item or batch key); a second line naming the same key turns
        # the entry into ([lines], ...). One small tuple per line in the common case.
        targets: dict[str, tuple[Any, Any]] = {}
        lookup = by_reference.get
        for line in self.lines:
            for token in line.tokens:
                item = lookup(token)
                if item is not None:
                    key: str = item.key
                elif token in batches:
                    key, item = "batch:" + token, token
                else:
                    continue
                seen = targets.get(key)
                if seen is None:
                    targets[key] = (line, item)
                elif type(seen[0]) is list:
                    seen[0].append(line)
                else:
                    targets[key] = ([seen[0], line], item)
                break
        deferred: dict[str, tuple[list[LineItem], list[Expected]]] = {}
        done = self.item_done
        line_done = self.line_done
        groups = self.groups
        tolerance = self.rules.tolerance
        by_reference_rule = "reference" in self.rules.rules
        split_rule = "split" in self.rules.rules
        matched_, mismatched_ = Outcome.MATCHED, Outcome.MISMATCHED
        for key, (first, target) in targets.items():
            if type(target) is str:  # a provider batch
                items, rule = batches[target], "batch"
                if any(item.key in done for item in items):
                    continue  # an item reached through two batches/keys: handled once
            else:
                item = target
                if item.key in done:
                    continue
                if type(first) is not list and by_reference_rule:  # the common case, inlined
                    line = first
                    agrees = line.currency == item.currency and abs(
                        line.amount - item.amount
                    ) <= tolerance.get(item.currency, 0)
                    groups.append(
                        Group(matched_ if agrees else mismatched_, "reference", (line,), (item,))
                    )
                    line_done.add(line.id)
                    done.add(item.key)
                    continue
                items, rule = [item], "reference"
            lines = first if type(first) is list else [first]
            if len(lines) > 1 and split_rule and rule == "reference":
                deferred[key] = (lines, items)
                for line in lines:  # reserved for ``split``
                    line_done.add(line.id)
                for item in items:
                    done.add(item.key)
                continue
            if not by_reference_rule:
                continue
            matched = next((line for line in lines if self._agrees([line], items)), None)
            if matched is not None:
                self._close(matched_, rule, [matched], items)
            else:
                matched = lines[0]
                self._close(mismatched_, rule, [matched], items)
            # Further lines naming the same item: an item sits in one group only, so these
            # are mismatches on their own, pointing at the item they name.
            for line in lines:
                if line is not matched:
                    groups.append(
                        Group(
                            mismatched_, rule, (line,), (), False, tuple(item.key for item in items)
                        )
                    )
                    line_done.add(line.id)
        return deferred

    def _split(self, deferred: dict[str, tuple[list[LineItem], list[Expected]]]) -> None:
        for lines, items in deferred.values():
            outcome = Outcome.MATCHED if self._agrees(lines, items) else Outcome.MISMATCHED
            self.groups.append(Group(outcome, "split", tuple(lines), tuple(items)))
        deferred.clear()

    def _taken(self, candidate: object) -> bool:
        if isinstance(candidate, Expected):
            return candidate.key in self.item_done
        assert isinstance(candidate, _Batch)
        return any(item.key in self.item_done for item in candidate.items)

    def _best(self, line: LineItem, candidates: Iterable[object]) -> object | None:
        """The candidate nearest in date within the window, then amount, date and key."""
        best = None
        best_rank = None
        for candidate in candidates:
            if self._taken(candidate):
                continue
            key = candidate.key if isinstance(candidate, Expected) else f"batch:{candidate.id}"
            gap = abs((line.date - candidate.date).days)
            if gap > self.rules.window_days:
                continue
            rank = (gap, abs(line.amount - candidate.amount), candidate.date, key)
            if best_rank is None or rank < best_rank:
                best, best_rank = candidate, rank
        return best

    def _amount_date(self, batches: dict[str, list[Expected]]) -> None:
        index = _AmountIndex()
        for item in self.expected:
            if item.key in self.item_done:
                continue
            if item.batch is not None and len(batches[item.batch]) > 1:
                continue  # a batch member settles with its batch, never alone
            index.add(item.currency, item.amount, item)
        for line in self.lines:
            if line.id in self.line_done:
                continue
            tolerance = self.rules.tolerance_for(line.currency)
            item = self._best(line, index.near(line.currency, line.amount, tolerance))
            if item is not None:
                assert isinstance(item, Expected)
                index.discard(item.currency, item.amount, item)
                self._close(Outcome.MATCHED, "amount_date", [line], [item])

    def _batch(self, batches: dict[str, list[Expected]]) -> None:
        index = _AmountIndex()
        for batch_id, items in batches.items():
            if any(item.key in self.item_done for item in items):
                continue
            currencies = {item.currency for item in items}
            if len(currencies) != 1:
                continue
            currency = items[0].currency
            total = sum(item.amount for item in items)
            index.add(
                currency,
                total,
                _Batch(batch_id, items, currency, total, max(item.date for item in items)),
            )
        for line in self.lines:
            if line.id in self.line_done:
                continue
            tolerance = self.rules.tolerance_for(line.currency)
            batch = self._best(line, index.near(line.currency, line.amount, tolerance))
            if batch is not None:
                assert isinstance(batch, _Batch)
                self._close(Outcome.MATCHED, "batch", [line], batch.items)

    def _finish(self, suggest: int) -> None:
        open_lines = [line for line in self.lines if line.id not in self.line_done]
        open_items = [
            item
            for item in self.expected
            if item.key not in self.item_done and (item.date <= self.as_of or item.booked_at_bank)
        ]
        item_index = _AmountIndex()
        line_index = _AmountIndex()
        if suggest:
            for item in open_items:
                item_index.add(item.currency, item.amount, item)
            for line in open_lines:
                line_index.add(line.currency, line.amount, line)
        for line in open_lines:
            near = _rank(
                line.amount,
                line.date,
                item_index.nearest(line.currency, line.amount, suggest),
                suggest,
            )
            self.groups.append(
                Group(Outcome.UNMATCHED, None, (line,), (), False, tuple(c.key for c in near))
            )
        for item in open_items:
            near = _rank(
                item.amount,
                item.date,
                line_index.nearest(item.currency, item.amount, suggest),
                suggest,
            )
            overdue = self.as_of > item.date + self.window
            self.groups.append(
                Group(Outcome.EXPECTED, None, (), (item,), overdue, tuple(c.id for c in near))
            )
        # Mismatches also get candidates: the items nearest the line's amount.
        if suggest:
            for n, group in enumerate(self.groups):
                if group.outcome is Outcome.MISMATCHED and group.lines and not group.candidates:
                    line = group.lines[0]
                    near = _rank(
                        line.amount,
                        line.date,
                        item_index.nearest(line.currency, line.amount, suggest),
                        suggest,
                    )
                    self.groups[n] = Group(
                        group.outcome,
                        group.rule,
                        group.lines,
                        group.expected,
                        group.overdue,
                        tuple(c.key for c in near),
                    )


def _rank(amount: int, date: dt.date, values: list[object], k: int) -> list:
    """The ``k`` values nearest in amount, then date, on the same side (in or out)."""
    values = [v for v in values if (v.amount >= 0) == (amount >= 0)]
    if not k or not values:
        return []
    ranked = sorted(
        values,
        key=lambda v: (
            abs(v.amount - amount),
            abs((v.date - date).days),
            getattr(v, "key", None) or v.id,
        ),
    )
    return ranked[:k]
