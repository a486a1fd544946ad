"""Reconciliation's service functions: import a statement, run matching, persist results.

Everything runs in the caller's transaction (one unit of work, see
:class:`core.database.Database`): an import either stores the statement, all its lines
and the matching run's results, or nothing. A file is keyed by its SHA-256: importing it
again returns the statement already there and changes nothing.

A run (:func:`reconcile`) takes every open line of a source and every expected item the
registered providers give for it, leaves out what earlier runs and people already
settled, calls the pure engine, and persists: matches (with their ledger postings, each
in a savepoint so one refused posting turns into a break instead of failing the run),
breaks opened or updated, breaks closed because their subject matched. Runs of one
source are serialised (an advisory lock on PostgreSQL, the write lock on SQLite), so
repeating or overlapping runs never match anything twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.database import utcnow
from core.ids import new_id
from settlement.ledger import Ledger, LedgerError

from . import effects, hooks
from .engine import Group, LineItem, Outcome, make_line_item, match, paused_gc
from .expected import Expected, ExpectedKind, Window, collect, register_provider, to_json
from .formats import parse_statement
from .generic_csv import CsvMapping
from .providers import ProviderReportBatches
from .references import line_tokens
from .rules import SourceRules, rules_for
from .statement import (
    Direction,
    ParsedStatement,
    StatementKind,
    StatementRefused,
)
from .tables import BreakRow, CsvMappingRow, LineRow, MatchedItemRow, MatchRow, StatementRow

LOOKBACK_DAYS: Final = 60
"""How far before a run's lines expected items are still looked for."""
AUTO_CLOSED: Final = frozenset({"auto_matched", "superseded", "withdrawn"})
"""Resolutions a run made itself; such a break reopens if its subject comes back."""
_CHUNK: Final = 500

register_provider("provider_reports", ProviderReportBatches())


class ReconciliationError(ValueError):
    """A request reconciliation refuses (unknown source kind mix, bad mapping...)."""

    def __init__(
        self, message: str, *, code: str = "parameter_invalid", param: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.param = param


@dataclass
class RunSummary:
    source: str
    counts: dict[str, int]
    matches: int = 0
    breaks_open: int = 0
    breaks_closed: int = 0
    refused: list[str] = field(default_factory=list)
    """Matches the ledger refused (kept as breaks), with the reason."""


@dataclass
class ImportResult:
    statement: StatementRow
    created: bool
    run: RunSummary | None


# -- CSV mappings ---------------------------------------------------------------------------


def save_csv_mapping(
    session: Session, source: str, mapping: CsvMapping, *, actor: str | None = None
) -> None:
    row = session.get(CsvMappingRow, source)
    if row is None:
        session.add(
            CsvMappingRow(
                source=source, mapping=mapping.to_json(), updated=utcnow(), updated_by=actor
            )
        )
    else:
        row.mapping = mapping.to_json()
        row.updated = utcnow()
        row.updated_by = actor
    session.flush()


def csv_mapping(session: Session, source: str) -> CsvMapping | None:
    row = session.get(CsvMappingRow, source)
    return CsvMapping.from_json(row.mapping) if row is not None else None


# -- import ---------------------------------------------------------------------------------


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _lock_source(session: Session, source: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": f"recon:{source}"}
        )


def import_statement(
    session: Session,
    source: str,
    data: bytes,
    *,
    actor: str = "system",
    as_of: dt.date | None = None,
    reconcile_now: bool = True,
) -> ImportResult:
    """Parse, check and store a statement file, then (by default) run matching for its
    source. Raises :class:`StatementRefused` (line and reason) for a malformed file;
    the caller's transaction then holds nothing of it."""
    if not source or len(source) > 100:
        raise ReconciliationError("source must be 1-100 characters", param="source")
    digest = file_hash(data)
    _lock_source(session, source)
    existing = session.scalars(
        select(StatementRow).where(StatementRow.file_sha256 == digest)
    ).first()
    if existing is not None:
        return ImportResult(existing, False, None)
    parsed = parse_statement(data, csv_mapping(session, source))
    known = session.scalars(
        select(StatementRow.kind).where(StatementRow.source == source).limit(1)
    ).first()
    if known is not None and known != parsed.kind.value:
        raise ReconciliationError(
            f"source {source!r} holds {known} statements; this file is a {parsed.kind.value} "
            "statement: import it under another source",
            param="source",
        )
    try:
        with session.begin_nested():
            statement = _store(session, source, parsed, digest, actor)
    except IntegrityError:
        # The same file, imported concurrently under its hash: that import wins.
        existing = session.scalars(
            select(StatementRow).where(StatementRow.file_sha256 == digest)
        ).one()
        return ImportResult(existing, False, None)
    run = None
    if reconcile_now:
        run = reconcile(session, source, as_of=as_of, actor=actor)
        if parsed.kind is StatementKind.PROVIDER:
            # Its payout batches are now expected at the bank: give the banks' open lines
            # in that currency their chance at once.
            for bank_source in _bank_sources_with_open_lines(session, parsed.currency):
                reconcile(session, bank_source, as_of=as_of, actor=actor)
    return ImportResult(statement, True, run)


def _bank_sources_with_open_lines(session: Session, currency: str) -> list[str]:
    return sorted(
        session.scalars(
            select(LineRow.source)
            .where(
                LineRow.kind == StatementKind.BANK.value,
                LineRow.currency == currency,
                LineRow.status == "open",
            )
            .distinct()
        )
    )


def _store(
    session: Session, source: str, parsed: ParsedStatement, digest: str, actor: str
) -> StatementRow:
    dates = [line.booking_date for line in parsed.lines]
    statement = StatementRow(
        id=new_id("stmt"),
        source=source,
        format=parsed.format,
        kind=parsed.kind.value,
        file_sha256=digest,
        account=parsed.account or source,
        currency=parsed.currency,
        statement_ref=parsed.statement_ref,
        opening_balance=parsed.opening.amount if parsed.opening else None,
        opening_date=parsed.opening.date if parsed.opening else None,
        closing_balance=parsed.closing.amount if parsed.closing else None,
        closing_date=parsed.closing.date if parsed.closing else None,
        first_date=min(dates) if dates else None,
        last_date=max(dates) if dates else None,
        line_count=len(parsed.lines),
        credit_total=sum(li.amount for li in parsed.lines if li.direction is Direction.CREDIT),
        debit_total=sum(li.amount for li in parsed.lines if li.direction is Direction.DEBIT),
        opening_posted=0,
        imported_at=utcnow(),
        imported_by=actor,
    )
    session.add(statement)
    session.flush()
    rows = [
        {
            "id": new_id("rcl"),
            "statement_id": statement.id,
            "source": source,
            "kind": parsed.kind.value,
            "line_no": line.line_no,
            "booking_date": line.booking_date,
            "value_date": line.value_date,
            "amount": line.amount,
            "currency": line.currency,
            "direction": line.direction.value,
            "fee": line.fee,
            "category": line.category,
            "end_to_end_id": line.refs.end_to_end_id,
            "provider_id": line.refs.provider_id,
            "bank_reference": line.refs.bank_reference,
            "batch_id": line.refs.batch_id,
            "remittance_info": line.refs.remittance_info,
            "counterparty_name": line.refs.counterparty_name,
            "counterparty_account": line.refs.counterparty_account,
            "raw": line.raw,
            "tokens": list(line_tokens(line.refs)),
            "status": "open",
            "outcome": None,
            "match_id": None,
            "posted_amount": 0,
        }
        for line in parsed.lines
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(LineRow), rows[start : start + 5000])
    if parsed.kind is StatementKind.BANK and parsed.opening is not None:
        _post_opening(session, statement)
    return statement


def _post_opening(session: Session, statement: StatementRow) -> None:
    """The first statement of a bank account brings its balance before Corridor into the
    ledger (``bank`` against ``bank_opening_balance``), so ledger and bank agree from day
    one. Later statements add only their lines."""
    earlier = session.scalars(
        select(StatementRow.id)
        .where(
            StatementRow.kind == StatementKind.BANK.value,
            StatementRow.account == statement.account,
            StatementRow.currency == statement.currency,
            StatementRow.id != statement.id,
            StatementRow.opening_balance.is_not(None),
        )
        .limit(1)
    ).first()
    amount = statement.opening_balance or 0
    if earlier is not None or amount == 0:
        return
    effects.post_legs(
        Ledger(session),
        effects.opening_legs(amount),
        statement.currency,
        id_prefix=f"recon:opening:{statement.id}",
        code="recon_opening_balance",
        reference=statement.id,
        anchor="bank",
    )
    statement.opening_posted = amount


# -- matching runs --------------------------------------------------------------------------


def line_item_of(row: Any) -> LineItem:
    """A stored line as the engine sees it (``row`` has the columns of :data:`LINE_COLUMNS`)."""
    signed = row.amount if row.direction == "credit" else -row.amount
    return make_line_item((row.id, signed, row.currency, row.booking_date, tuple(row.tokens or ())))


LINE_COLUMNS: Final = (
    LineRow.id,
    LineRow.amount,
    LineRow.direction,
    LineRow.currency,
    LineRow.booking_date,
    LineRow.tokens,
)


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def settled_keys(session: Session, keys: Sequence[str]) -> set[str]:
    settled: set[str] = set()
    for chunk in _chunks(keys):
        settled.update(
            session.scalars(
                select(MatchedItemRow.expected_key).where(MatchedItemRow.expected_key.in_(chunk))
            )
        )
        settled.update(
            session.scalars(
                select(BreakRow.expected_key).where(
                    BreakRow.expected_key.in_(chunk),
                    BreakRow.status == "resolved",
                    BreakRow.resolution.not_in(AUTO_CLOSED),
                )
            )
        )
    return settled


def open_items(
    session: Session, source: str, currencies: Iterable[str], window: Window
) -> list[Expected]:
    """Expected items for ``source`` not yet matched or closed by a person."""
    items: list[Expected] = []
    for currency in sorted(set(currencies)):
        items += collect(session, source, currency, window)
    settled = settled_keys(session, [item.key for item in items])
    return [item for item in items if item.key not in settled]


def reconcile(
    session: Session,
    source: str,
    *,
    as_of: dt.date | None = None,
    actor: str = "system",
    rules: SourceRules | None = None,
) -> RunSummary:
    """Match every open line of ``source``; see the module doc. Re-runnable at will."""
    as_of = as_of or utcnow().date()
    rules = rules or rules_for(source)
    _lock_source(session, source)
    kind = session.scalars(
        select(StatementRow.kind).where(StatementRow.source == source).limit(1)
    ).first()
    if kind is None:
        return RunSummary(source, {o.value: 0 for o in Outcome})
    rows = session.execute(
        select(*LINE_COLUMNS, LineRow.fee)
        .where(LineRow.source == source, LineRow.status == "open")
        .order_by(LineRow.booking_date, LineRow.id)
    ).all()
    with paused_gc():
        lines = [line_item_of(row) for row in rows]
    fees = {row.id: row.fee for row in rows if row.fee}
    currencies = set(
        session.scalars(
            select(StatementRow.currency).where(StatementRow.source == source).distinct()
        )
    )
    dates = [line.date for line in lines] + [as_of]
    margin = dt.timedelta(days=rules.window_days)
    window = Window(min(dates) - margin - dt.timedelta(days=LOOKBACK_DAYS), max(dates) + margin)
    items = open_items(session, source, currencies, window)
    result = match(lines, items, rules, as_of)
    summary = RunSummary(source, result.counts())
    _Persist(session, source, StatementKind(kind), actor, fees, summary, window).apply(
        result.groups, items
    )
    return summary


class _Persist:
    def __init__(
        self,
        session: Session,
        source: str,
        kind: StatementKind,
        actor: str,
        fees: dict[str, int],
        summary: RunSummary,
        window: Window,
    ) -> None:
        self.session = session
        self.source = source
        self.kind = kind
        self.actor = actor
        self.fees = fees
        self.summary = summary
        self.window = window
        self.now = utcnow()
        self.ledger = Ledger(session)

    def apply(self, groups: list[Group], items: list[Expected]) -> None:
        line_ids = [line.id for g in groups for line in g.lines]
        keys = [item.key for item in items]
        self.by_line: dict[str, BreakRow] = {}
        self.by_key: dict[str, BreakRow] = {}
        for chunk in _chunks(line_ids):
            for row in self.session.scalars(select(BreakRow).where(BreakRow.line_id.in_(chunk))):
                self.by_line[row.line_id] = row
        for chunk in _chunks(keys):
            for row in self.session.scalars(
                select(BreakRow).where(BreakRow.expected_key.in_(chunk))
            ):
                self.by_key[row.expected_key] = row
        seen_keys: set[str] = set()
        for group in groups:
            seen_keys.update(item.key for item in group.expected)
            if group.outcome is Outcome.MATCHED:
                self._matched(group)
            elif group.outcome is Outcome.EXPECTED:
                self._item_break(group)
            else:
                self._line_breaks(group)
        self._withdraw(seen_keys)

    # -- matches --

    def _matched(self, group: Group) -> None:
        try:
            with self.session.begin_nested():
                record_match(
                    self.session,
                    self.ledger,
                    self.source,
                    self.kind,
                    group,
                    rule=group.rule or "reference",
                    actor=self.actor,
                    fees=sum(self.fees.get(line.id, 0) for line in group.lines),
                )
        except (LedgerError, ValueError, IntegrityError) as exc:
            self.summary.refused.append(f"{[line.id for line in group.lines]}: {exc}")
            self.summary.counts[Outcome.MATCHED.value] -= len(group.lines)
            self.summary.counts[Outcome.MISMATCHED.value] += len(group.lines)
            refused = Group(
                Outcome.MISMATCHED,
                group.rule,
                group.lines,
                group.expected,
                False,
                tuple(item.key for item in group.expected),
            )
            self._line_breaks(refused, note=f"the ledger refused the match: {exc}")
            return
        self.summary.matches += 1
        for line in group.lines:
            self._close(self.by_line.get(line.id), "auto_matched")
        for item in group.expected:
            self._close(self.by_key.get(item.key), "auto_matched")

    # -- breaks --

    def _close(self, row: BreakRow | None, resolution: str) -> None:
        if row is None or row.status != "open":
            return
        row.status = "resolved"
        row.resolution = resolution
        row.resolved_by = self.actor
        row.resolved_at = self.now
        row.updated = self.now
        self.summary.breaks_closed += 1

    def _upsert(self, row: BreakRow | None, **values: Any) -> BreakRow:
        if row is not None and row.status == "resolved" and row.resolution not in AUTO_CLOSED:
            return row  # a person's decision stands
        if row is None:
            row = BreakRow(
                id=new_id("brk"),
                source=self.source,
                created=self.now,
                transfer_ids=[],
                status="open",
                **values,
            )
            self.session.add(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
            if row.status != "open":
                row.status, row.resolution, row.resolved_by, row.resolved_at = (
                    "open",
                    None,
                    None,
                    None,
                )
        row.updated = self.now
        self.summary.breaks_open += 1
        return row

    def _line_breaks(self, group: Group, note: str | None = None) -> None:
        payload = [to_json(item) for item in group.expected]
        for line in group.lines:
            values: dict[str, Any] = {
                "kind": group.outcome.value,
                "line_id": line.id,
                "amount": line.amount,
                "currency": line.currency,
                "difference": group.difference if group.expected else 0,
                "occurred_on": line.date,
                "overdue": False,
                "expected": payload,
                "candidates": list(group.candidates),
            }
            if note is not None:
                values["note"] = note
            self.by_line[line.id] = self._upsert(self.by_line.get(line.id), **values)
        self.session.execute(
            update(LineRow)
            .where(LineRow.id.in_([line.id for line in group.lines]))
            .values(outcome=group.outcome.value)
        )
        for item in group.expected:
            self._close(self.by_key.get(item.key), "superseded")

    def _item_break(self, group: Group) -> None:
        item = group.expected[0]
        self.by_key[item.key] = self._upsert(
            self.by_key.get(item.key),
            kind=Outcome.EXPECTED.value,
            expected_key=item.key,
            amount=item.amount,
            currency=item.currency,
            difference=0,
            occurred_on=item.date,
            overdue=group.overdue,
            expected=[to_json(item)],
            candidates=list(group.candidates),
        )

    def _withdraw(self, seen: set[str]) -> None:
        """Open ``expected`` breaks whose item no provider gives any more (a payout failed
        or was canceled) are closed; items beyond the window are left as they are."""
        stale = self.session.scalars(
            select(BreakRow).where(
                BreakRow.source == self.source,
                BreakRow.status == "open",
                BreakRow.kind == Outcome.EXPECTED.value,
                BreakRow.occurred_on >= self.window.start,
                BreakRow.occurred_on <= self.window.end,
            )
        ).all()
        for row in stale:
            if row.expected_key not in seen:
                self._close(row, "withdrawn")


def record_match(
    session: Session,
    ledger: Ledger,
    source: str,
    kind: StatementKind,
    group: Group,
    *,
    rule: str,
    actor: str,
    fees: int = 0,
    difference_account: str = effects.DIFFERENCES,
) -> MatchRow:
    """Store a match, run the hooks its items need and post its ledger legs, once.

    Raises (and the caller's savepoint undoes everything) if an item is already matched
    or the ledger refuses a posting.
    """
    match_id = new_id("rcm")
    currency = group.expected[0].currency if group.expected else group.lines[0].currency
    session.add(
        MatchRow(
            id=match_id,
            source=source,
            currency=currency,
            rule=rule,
            outcome=Outcome.MATCHED.value,
            line_ids=[line.id for line in group.lines],
            expected=[to_json(item) for item in group.expected],
            line_total=group.line_total,
            expected_total=group.expected_total,
            difference=group.difference,
            transfer_ids=[],
            created=utcnow(),
            created_by=actor,
        )
    )
    session.flush()
    session.execute(
        insert(MatchedItemRow),
        [
            {
                "expected_key": item.key,
                "match_id": match_id,
                "kind": item.kind.value,
                "object_id": item.id,
                "amount": item.amount,
                "currency": item.currency,
            }
            for item in group.expected
        ],
    )
    first = group.lines[0] if group.lines else None
    for item in group.expected:
        if item.kind is ExpectedKind.PAYOUT and kind is StatementKind.BANK:
            hooks.payout_confirmed(session, item.id)
        elif item.kind is ExpectedKind.BANK_TRANSFER_CREDIT and first is not None:
            hooks.bank_transfer_received(
                session,
                hooks.BankCredit(
                    intent_id=item.id,
                    amount=item.amount,
                    received=group.line_total,
                    currency=currency,
                    line_id=first.id,
                    booking_date=first.date,
                    reference=item.references.get("rf_reference"),
                ),
            )
    legs = effects.match_legs(kind, group.line_total, fees, group.expected)
    if difference_account != effects.DIFFERENCES and effects.DIFFERENCES in legs:
        legs[difference_account] = legs.get(difference_account, 0) + legs.pop(effects.DIFFERENCES)
    transfer_ids = effects.post_legs(
        ledger,
        legs,
        currency,
        id_prefix=f"recon:{match_id}",
        code=f"recon_{rule}",
        reference=match_id,
        anchor=effects.statement_account(kind),
    )
    session.execute(
        update(MatchRow).where(MatchRow.id == match_id).values(transfer_ids=transfer_ids)
    )
    for line in group.lines:
        session.execute(
            update(LineRow)
            .where(LineRow.id == line.id, LineRow.status == "open")
            .values(
                status="matched",
                outcome=Outcome.MATCHED.value,
                match_id=match_id,
                posted_amount=line.amount,
            )
        )
    return session.get(MatchRow, match_id)  # type: ignore[return-value]


# -- reads ----------------------------------------------------------------------------------


def get_statement(session: Session, statement_id: str) -> StatementRow | None:
    return session.get(StatementRow, statement_id)


def statement_lines(
    session: Session, statement_id: str, *, limit: int = 100, starting_after: str | None = None
) -> tuple[list[LineRow], bool]:
    """A page of a statement's lines in file order (cursor: a line id)."""
    query = select(LineRow).where(LineRow.statement_id == statement_id)
    if starting_after:
        cursor = session.get(LineRow, starting_after)
        if cursor is None or cursor.statement_id != statement_id:
            raise ReconciliationError(
                f"no line {starting_after} in {statement_id}", param="starting_after"
            )
        query = query.where(
            (LineRow.line_no > cursor.line_no)
            | ((LineRow.line_no == cursor.line_no) & (LineRow.id > cursor.id))
        )
    rows = list(session.scalars(query.order_by(LineRow.line_no, LineRow.id).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def statement_counts(session: Session, statement: StatementRow) -> dict[str, int]:
    """Lines per outcome, and the source's items still expected up to the statement's date."""
    counts = {o.value: 0 for o in Outcome}
    for outcome, number in session.execute(
        select(LineRow.outcome, func.count())
        .where(LineRow.statement_id == statement.id)
        .group_by(LineRow.outcome)
    ):
        if outcome in counts:
            counts[outcome] += number
    last = statement.last_date or statement.closing_date or statement.imported_at.date()
    counts[Outcome.EXPECTED.value] = (
        session.scalar(
            select(func.count())
            .select_from(BreakRow)
            .where(
                BreakRow.source == statement.source,
                BreakRow.status == "open",
                BreakRow.kind == Outcome.EXPECTED.value,
                BreakRow.currency == statement.currency,
                BreakRow.occurred_on <= last,
            )
        )
        or 0
    )
    return counts


__all__ = [
    "ImportResult",
    "ReconciliationError",
    "RunSummary",
    "StatementRefused",
    "csv_mapping",
    "file_hash",
    "get_statement",
    "import_statement",
    "open_items",
    "reconcile",
    "record_match",
    "save_csv_mapping",
    "statement_counts",
    "statement_lines",
]
