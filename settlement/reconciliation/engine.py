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

A line is one line (its ``id`` is the stored line's primary key) and an item is one item
(its ``key`` is globally unique, and the service collects items once per key), so within
a run the engine tells them apart by their position in the input. What is settled is a
flag per position, not a set of ids or keys: at a million lines every string hashed,
stored and freed again is a cache miss, and scanning the open ones between phases
becomes a C-level :func:`itertools.compress` instead of a million set lookups.
"""

from __future__ import annotations

import datetime as dt
import gc
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from itertools import compress
from operator import attrgetter
from typing import Final, Generic, NamedTuple, Protocol, TypeVar

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


make_line_item: Final[Callable[[tuple[str, int, str, dt.date, tuple[str, ...]]], LineItem]] = (
    partial(tuple.__new__, LineItem)
)
"""``LineItem._make`` for callers making one line item per open line (millions per run):
the same named tuple, from its fields in order, without the Python-level ``__new__`` a
named tuple's constructor runs, which costs as much as the rest of making the item."""


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


_make_group: Final[Callable[[tuple], Group]] = partial(tuple.__new__, Group)
"""``Group._make`` without the Python-level ``__new__`` (see :data:`make_line_item`), for
the group of nearly every line; all six fields, in order."""


V = TypeVar("V")


class _AmountIndex(Generic[V]):
    """Candidates per currency by amount: a dict for exact amounts, and (built on first
    use) all amounts sorted, for a tolerance. Values with equal amounts keep the order
    they were added in, in both views.

    Keyed by the amount alone within a currency: an int hashes without allocating, where a
    ``(currency, amount)`` key is a tuple built and hashed on every lookup.
    """

    def __init__(self) -> None:
        self._exact: dict[str, dict[int, list[V]]] = {}
        self._sorted: dict[str, tuple[list[int], list[V]]] | None = None

    def add(self, currency: str, amount: int, value: V) -> None:
        by_amount = self._exact.get(currency)
        if by_amount is None:
            by_amount = self._exact[currency] = {}
        bucket = by_amount.get(amount)
        if bucket is None:
            by_amount[amount] = [value]
        else:
            bucket.append(value)

    def discard(self, currency: str, amount: int, value: V) -> None:
        bucket = self._exact.get(currency, {}).get(amount)
        if bucket is not None and value in bucket:
            bucket.remove(value)

    def _ranges(self) -> dict[str, tuple[list[int], list[V]]]:
        if self._sorted is None:
            self._sorted = {}
            for currency, by_amount in self._exact.items():
                amounts: list[int] = []
                values: list[V] = []
                for amount in sorted(by_amount):
                    bucket = by_amount[amount]
                    amounts += [amount] * len(bucket)
                    values += bucket
                self._sorted[currency] = (amounts, values)
        return self._sorted

    def near(self, currency: str, amount: int, tolerance: int) -> Sequence[V]:
        if tolerance == 0:
            by_amount = self._exact.get(currency)
            return by_amount.get(amount, ()) if by_amount is not None else ()
        amounts, values = self._ranges().get(currency, ([], []))
        lo = bisect_left(amounts, amount - tolerance)
        hi = bisect_right(amounts, amount + tolerance)
        return values[lo:hi]


class _Counterpart(Protocol):
    @property
    def amount(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def date(self) -> dt.date: ...


C = TypeVar("C", bound=_Counterpart)


class _Nearest(Generic[C]):
    """What a break suggests: among ``values`` (open lines, or open items), the labels of
    the ``k`` nearest a given amount, then date, then label, on the same side (in or out).

    Values are sorted by amount once, per currency, keeping their order on equal
    amounts; a query bisects to the amount and ranks the ``k`` values either side. The
    amounts, dates and labels are kept in flat lists, so a query reads those and never
    the values themselves (scattered in memory: a cache miss each).
    """

    def __init__(self, values: Iterable[C], label: Callable[[C], str]) -> None:
        per_currency: dict[str, list[C]] = {}
        for value in values:
            per_currency.setdefault(value.currency, []).append(value)
        self._sorted: dict[str, tuple[list[int], list[dt.date], list[str]]] = {}
        for currency, in_currency in per_currency.items():
            in_currency.sort(key=_AMOUNT)
            self._sorted[currency] = (
                [v.amount for v in in_currency],
                [v.date for v in in_currency],
                [label(v) for v in in_currency],
            )

    def labels(self, currency: str, amount: int, date: dt.date, k: int) -> tuple[str, ...]:
        amounts, dates, labels = self._sorted.get(currency, _NO_VALUES)
        i = bisect_left(amounts, amount)
        lo, hi = max(0, i - k), i + k
        incoming = amount >= 0
        ranked = sorted(
            [
                (abs(other - amount), abs((day - date).days), name)
                for other, day, name in zip(
                    amounts[lo:hi], dates[lo:hi], labels[lo:hi], strict=True
                )
                if (other >= 0) == incoming
            ]
        )
        return tuple([name for _, _, name in ranked[:k]])


_AMOUNT: Final = attrgetter("amount")
_NO_VALUES: Final[tuple[list, list, list]] = ([], [], [])


@dataclass(slots=True)
class _Batch:
    """A provider batch still open, as the ``batch`` rule offers it to a line."""

    id: str
    members: list[int]
    """Positions of its items in the run's item list."""
    items: tuple[Expected, ...]
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

    ``suggest`` is how many candidates each break lists (0 for none). Line ids and item
    keys must be unique within a run (see the module doc): the engine tells lines and
    items apart by position.

    The cyclic garbage collector is paused while it runs: matching allocates millions of
    small acyclic objects, and each full collection would rescan all of them, making the
    run quadratic in the number of lines. Reference counting still frees everything.
    """
    with paused_gc():
        return _Run(lines, expected, rules, as_of).run(suggest)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic collector (see :func:`match`); callers building millions of line
    items for the engine use it too.

    On the way out, everything allocated meanwhile goes straight to the oldest
    generation (``gc.freeze`` then ``gc.unfreeze``, which only relinks lists): re-enabled
    as it was, the collector's next young-generation pass would first traverse the
    millions of objects a large run creates, over a second at a million lines, only to
    promote them. They are reached by the next full collection like any old object.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


_Claim = int | list[int]
"""The lines naming one target: the first line's position, or a list of positions once
a second line names it too (rare: instalments, a duplicated payment)."""


class _Run:
    """One matching run.

    Lines and items are addressed by position in the caller's sequences (see the module
    doc); ``line_open`` and ``item_open`` hold one flag per position, cleared when the
    line or item lands in a group. A *target* is what a reference can name: an item
    (target ``n`` is item ``n``) or a provider batch (target ``len(items) + b`` is the
    ``b``-th batch, in the order its first item appears).
    """

    def __init__(
        self,
        lines: Sequence[LineItem],
        expected: Sequence[Expected],
        rules: SourceRules,
        as_of: dt.date,
    ) -> None:
        self.lines = lines
        self.items = expected
        self.rules = rules
        self.as_of = as_of
        self.window = dt.timedelta(days=rules.window_days)
        self.tolerance: dict[str, int] = dict(rules.tolerance)
        self.groups: list[Group] = []
        self.mismatches: list[int] = []
        """Where mismatches without candidates sit in ``groups``: they get the items
        nearest their line once every rule has run (see :meth:`_finish`)."""
        self.line_open = bytearray(b"\x01") * len(lines)
        self.item_open = bytearray(b"\x01") * len(expected)
        self.batches: dict[str, list[int]] = {}
        """Batch id -> positions of its items, in item order."""
        self.batched = bytearray(len(expected))
        """Per item: it belongs to a batch of several items, so it never settles alone."""

    # -- helpers ------------------------------------------------------------------------

    def _open_lines(self) -> Iterator[int]:
        return compress(range(len(self.lines)), self.line_open)

    def _open_items(self) -> Iterator[int]:
        return compress(range(len(self.items)), self.item_open)

    def _close(
        self,
        outcome: Outcome,
        rule: str | None,
        line_positions: Sequence[int],
        item_positions: Sequence[int],
    ) -> None:
        lines, items = self.lines, self.items
        if outcome is Outcome.MISMATCHED:
            self.mismatches.append(len(self.groups))
        self.groups.append(
            Group(
                outcome,
                rule,
                tuple([lines[n] for n in line_positions]),
                tuple([items[n] for n in item_positions]),
            )
        )
        for n in line_positions:
            self.line_open[n] = 0
        for n in item_positions:
            self.item_open[n] = 0

    def _agrees(self, lines: Sequence[LineItem], items: Sequence[Expected]) -> bool:
        if len(lines) == 1 and len(items) == 1:  # the common case, without generators
            line, item = lines[0], items[0]
            return line.currency == item.currency and abs(line.amount - item.amount) <= (
                self.tolerance.get(item.currency, 0)
            )
        currency = items[0].currency
        if any(line.currency != currency for line in lines) or any(
            item.currency != currency for item in items
        ):
            return False
        total = sum(line.amount for line in lines) - sum(item.amount for item in items)
        return abs(total) <= self.tolerance.get(currency, 0)

    def _index_items(self, by_reference: bool) -> dict[str, int]:
        """One pass over every item: group batches, and (if ``by_reference``) map each
        reference to its target.

        The first item (in the caller's date, key order) carrying a reference owns it; a
        batch id names its batch unless an item already carries it as a reference. This
        is the only pass that touches every item: at a million items each touch is a
        cache miss, so nothing else is read from them here.
        """
        batches = self.batches
        index: dict[str, int] = {}
        remember = index.setdefault
        if by_reference:
            for position, item in enumerate(self.items):
                if item.batch is not None:
                    if item.batch in batches:
                        batches[item.batch].append(position)
                    else:
                        batches[item.batch] = [position]
                for value in item.references.values():
                    if value:
                        remember(value, position)
            first_batch = len(self.items)
            for number, batch in enumerate(batches):
                remember(batch, first_batch + number)
        else:
            for position, item in enumerate(self.items):
                if item.batch is not None:
                    batches.setdefault(item.batch, []).append(position)
        batched = self.batched
        for members in batches.values():
            if len(members) > 1:
                for n in members:
                    batched[n] = 1
        return index

    # -- phases -------------------------------------------------------------------------

    def run(self, suggest: int) -> MatchResult:
        rules = self.rules.rules
        by_reference = "reference" in rules or "split" in rules
        index = self._index_items(by_reference)
        deferred: list[tuple[list[int], list[int]]] = []
        if by_reference:
            deferred = self._references(index)
        del index  # the largest structure of the run: free it before the next phases
        for rule in rules:
            if rule == "amount_date":
                self._amount_date()
            elif rule == "batch":
                self._batch()
            elif rule == "split":
                self._split(deferred)
        self._finish(suggest)
        return MatchResult(self.groups)

    def _claims(self, index: dict[str, int]) -> tuple[list[int], list[_Claim | None]]:
        """Which lines name which target: each line's first token that names one wins.

        Returns the targets in the order a line first named them, and per target its
        :data:`_Claim` (``None`` if no line names it). Two flat lists rather than a dict
        of tuples: nothing is allocated per line but the position itself.
        """
        n_targets = len(self.items) + len(self.batches)
        claims: list[_Claim | None] = [None] * n_targets
        order: list[int] = []
        lookup = index.get
        for position, line in enumerate(self.lines):
            for token in line.tokens:
                target = lookup(token)
                if target is None:
                    continue
                claim = claims[target]
                if claim is None:
                    claims[target] = position
                    order.append(target)
                elif type(claim) is list:
                    claim.append(position)
                else:
                    claims[target] = [claim, position]
                break
        return order, claims

    def _references(self, index: dict[str, int]) -> list[tuple[list[int], list[int]]]:
        """The ``reference`` rule (and the claims ``split`` settles later).

        Targets are settled in the order a line first named them. One line naming one
        item, the common case, is inlined; several lines naming one item are left to
        ``split`` when the source uses it (returned, and reserved so no other rule takes
        them), otherwise the first line that agrees matches and the others are
        mismatches pointing at the item they name.
        """
        order, claims = self._claims(index)
        lines, items, groups, mismatches = self.lines, self.items, self.groups, self.mismatches
        line_open, item_open = self.line_open, self.item_open
        tolerance = self.tolerance
        by_reference_rule = "reference" in self.rules.rules
        split_rule = "split" in self.rules.rules
        batch_members = list(self.batches.values())
        n_items = len(items)
        matched_, mismatched_ = Outcome.MATCHED, Outcome.MISMATCHED
        deferred: list[tuple[list[int], list[int]]] = []
        for target in order:
            claim = claims[target]
            assert claim is not None
            if target >= n_items:  # a provider batch
                members, rule = batch_members[target - n_items], "batch"
                if not all(map(item_open.__getitem__, members)):
                    continue  # a member already settled (named on its own by an earlier line)
            else:
                if not item_open[target]:
                    continue
                if type(claim) is int and by_reference_rule:  # the common case, inlined
                    line, item = lines[claim], items[target]
                    agrees = line.currency == item.currency and abs(
                        line.amount - item.amount
                    ) <= tolerance.get(item.currency, 0)
                    if agrees:
                        outcome = matched_
                    else:
                        outcome = mismatched_
                        mismatches.append(len(groups))
                    groups.append(_make_group((outcome, "reference", (line,), (item,), False, ())))
                    line_open[claim] = 0
                    item_open[target] = 0
                    continue
                members, rule = [target], "reference"
            naming = claim if type(claim) is list else [claim]
            if len(naming) > 1 and split_rule and rule == "reference":
                deferred.append((naming, members))
                for n in naming:  # reserved for ``split``
                    line_open[n] = 0
                for n in members:
                    item_open[n] = 0
                continue
            if not by_reference_rule:
                continue
            named = [items[n] for n in members]
            matched = next((n for n in naming if self._agrees([lines[n]], named)), None)
            if matched is not None:
                self._close(matched_, rule, [matched], members)
            else:
                matched = naming[0]
                self._close(mismatched_, rule, [matched], members)
            # Further lines naming the same item: an item sits in one group only, so these
            # are mismatches on their own, pointing at the item they name.
            keys = tuple(item.key for item in named)
            for n in naming:
                if n != matched:
                    groups.append(Group(mismatched_, rule, (lines[n],), (), False, keys))
                    line_open[n] = 0
        return deferred

    def _split(self, deferred: list[tuple[list[int], list[int]]]) -> None:
        """The ``split`` rule: the lines naming one item (reserved by :meth:`_references`)
        match it if together they add up to it."""
        lines, items = self.lines, self.items
        for line_positions, item_positions in deferred:
            naming = [lines[n] for n in line_positions]
            named = [items[n] for n in item_positions]
            outcome = Outcome.MATCHED if self._agrees(naming, named) else Outcome.MISMATCHED
            if outcome is Outcome.MISMATCHED:
                self.mismatches.append(len(self.groups))
            self.groups.append(Group(outcome, "split", tuple(naming), tuple(named)))
        deferred.clear()

    def _best(self, line: LineItem, candidates: Iterable[int | _Batch]) -> int | _Batch | None:
        """The open candidate (an item's position or a batch) nearest in date within the
        window, then amount, date and key."""
        items, item_open = self.items, self.item_open
        window_days = self.rules.window_days
        best = None
        best_rank = None
        for candidate in candidates:
            if type(candidate) is int:
                if not item_open[candidate]:
                    continue
                item = items[candidate]
                date, amount, key = item.date, item.amount, item.key
            else:
                assert isinstance(candidate, _Batch)
                if not all(map(item_open.__getitem__, candidate.members)):
                    continue
                date, amount, key = candidate.date, candidate.amount, f"batch:{candidate.id}"
            gap = abs((line.date - date).days)
            if gap > window_days:
                continue
            rank = (gap, abs(line.amount - amount), date, key)
            if best_rank is None or rank < best_rank:
                best, best_rank = candidate, rank
        return best

    def _amount_date(self) -> None:
        """The ``amount_date`` rule: each open line, in order, takes the open item of its
        currency and amount (within the tolerance) nearest in date within the window."""
        items, lines, batched, groups = self.items, self.lines, self.batched, self.groups
        line_open, item_open, tolerance = self.line_open, self.item_open, self.tolerance
        matched = Outcome.MATCHED
        index: _AmountIndex[int] = _AmountIndex()
        for n in self._open_items():
            if not batched[n]:  # a batch member settles with its batch, never alone
                item = items[n]
                index.add(item.currency, item.amount, n)
        for n in list(self._open_lines()):  # a snapshot: lines close as it goes
            line = lines[n]
            candidates = index.near(line.currency, line.amount, tolerance.get(line.currency, 0))
            if not candidates:
                continue
            best = self._best(line, candidates)
            if best is not None:
                assert type(best) is int
                item = items[best]
                index.discard(item.currency, item.amount, best)
                groups.append(_make_group((matched, "amount_date", (line,), (item,), False, ())))
                line_open[n] = 0
                item_open[best] = 0

    def _batch(self) -> None:
        """The ``batch`` rule: each open line, in order, takes the open provider batch whose
        sum it equals (within the tolerance), nearest in date within the window."""
        items, lines = self.items, self.lines
        is_open, tolerance = self.item_open.__getitem__, self.tolerance
        index: _AmountIndex[_Batch] = _AmountIndex()
        for batch_id, members in self.batches.items():
            if not all(map(is_open, members)):
                continue
            batch_items = tuple([items[n] for n in members])
            currency = batch_items[0].currency
            if len({item.currency for item in batch_items}) != 1:
                continue
            total = sum([item.amount for item in batch_items])
            date = max([item.date for item in batch_items])
            batch = _Batch(batch_id, members, batch_items, currency, total, date)
            index.add(currency, total, batch)
        for n in list(self._open_lines()):  # a snapshot: lines close as it goes
            line = lines[n]
            candidates = index.near(line.currency, line.amount, tolerance.get(line.currency, 0))
            if not candidates:
                continue
            batch = self._best(line, candidates)
            if batch is not None:
                assert isinstance(batch, _Batch)
                self._close(Outcome.MATCHED, "batch", [n], batch.members)

    def _finish(self, suggest: int) -> None:
        """Breaks: each line still open is ``unmatched``, each item still open and due (or
        booked at the bank) is ``expected``; they and the mismatches list their ``suggest``
        nearest counterparts."""
        lines, items, as_of, groups = self.lines, self.items, self.as_of, self.groups
        open_lines = [lines[n] for n in self._open_lines()]
        open_items = [
            item
            for item in [items[n] for n in self._open_items()]
            if item.date <= as_of or item.booked_at_bank
        ]
        near_items = _Nearest(open_items if suggest else (), _KEY)
        near_lines = _Nearest(open_lines if suggest else (), _ID)
        unmatched, expected = Outcome.UNMATCHED, Outcome.EXPECTED
        for line in open_lines:
            candidates = near_items.labels(line.currency, line.amount, line.date, suggest)
            groups.append(_make_group((unmatched, None, (line,), (), False, candidates)))
        for item in open_items:
            candidates = near_lines.labels(item.currency, item.amount, item.date, suggest)
            overdue = as_of > item.date + self.window
            groups.append(_make_group((expected, None, (), (item,), overdue, candidates)))
        # Mismatches also get candidates: the items nearest the line's amount.
        for n in self.mismatches if suggest else ():
            group = groups[n]
            line = group.lines[0]
            candidates = near_items.labels(line.currency, line.amount, line.date, suggest)
            if candidates:
                groups[n] = group._replace(candidates=candidates)


_KEY: Final = attrgetter("key")
_ID: Final = attrgetter("id")
