"""Breaks in front of finance: listing them and resolving them, each resolution posted and
audited.

Three resolutions (``action``):

- ``match_manually``: finance names the counterpart (expected item keys such as
  ``payout:po_...`` for a line; line ids for an expected item). The match is recorded
  and posted as an automatic one would be; any difference goes to ``account``
  (default ``reconciliation_differences``).
- ``write_off``: the amount is accepted into a named ledger account (one of
  :data:`.effects.WRITE_OFF_ACCOUNTS`), with a note: a bank line moves ``bank`` against
  it, an item clears its counterpart into it (see :mod:`.effects`).
- ``ignore``: nothing is posted; the note says why (a line that is not Corridor's money,
  an expectation that no longer holds). The daily report shows ignored amounts apart.

Every resolution writes an entry to the compliance audit trail in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from compliance import audit
from core.database import utcnow
from settlement.ledger import Ledger

from . import effects
from .engine import Group, LineItem, Outcome
from .expected import Expected, Window, from_json
from .service import (
    LINE_COLUMNS,
    LOOKBACK_DAYS,
    ReconciliationError,
    line_item_of,
    open_items,
    record_match,
    settled_keys,
)
from .statement import StatementKind
from .tables import BreakRow, LineRow, StatementRow

ACTIONS: Final = ("match_manually", "write_off", "ignore")


def get_break(session: Session, break_id: str, *, lock: bool = False) -> BreakRow | None:
    query = select(BreakRow).where(BreakRow.id == break_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).one_or_none()


def list_breaks(
    session: Session,
    *,
    status: str | None = "open",
    source: str | None = None,
    kind: str | None = None,
    currency: str | None = None,
    limit: int = 10,
    starting_after: str | None = None,
) -> tuple[list[BreakRow], bool]:
    """Newest first (created, then id), Stripe-style cursor pagination."""
    query = select(BreakRow)
    if status:
        query = query.where(BreakRow.status == status)
    if source:
        query = query.where(BreakRow.source == source)
    if kind:
        query = query.where(BreakRow.kind == kind)
    if currency:
        query = query.where(BreakRow.currency == currency.upper())
    if starting_after:
        cursor = session.get(BreakRow, starting_after)
        if cursor is None:
            raise ReconciliationError(f"no break {starting_after}", param="starting_after")
        query = query.where(
            or_(
                BreakRow.created < cursor.created,
                and_(BreakRow.created == cursor.created, BreakRow.id < cursor.id),
            )
        )
    rows = list(
        session.scalars(
            query.order_by(BreakRow.created.desc(), BreakRow.id.desc()).limit(limit + 1)
        )
    )
    return rows[:limit], len(rows) > limit


def _statement_kind(session: Session, source: str) -> StatementKind:
    kind = session.scalars(
        select(StatementRow.kind).where(StatementRow.source == source).limit(1)
    ).one()
    return StatementKind(kind)


def _open_line(session: Session, line_id: str, source: str) -> LineItem:
    row = session.execute(
        select(*LINE_COLUMNS, LineRow.status, LineRow.source).where(LineRow.id == line_id)
    ).first()
    if row is None or row.source != source:
        raise ReconciliationError(f"no line {line_id} in source {source}", param="target")
    if row.status != "open":
        raise ReconciliationError(f"line {line_id} is already {row.status}", param="target")
    return line_item_of(row)


def _find_items(session: Session, brk: BreakRow, keys: Sequence[str]) -> list[Expected]:
    """The open expected items named by ``keys``: from breaks that carry them, else from
    the providers."""
    found: dict[str, Expected] = {}
    for data in brk.expected:
        item = from_json(data)
        found[item.key] = item
    for row in session.scalars(select(BreakRow).where(BreakRow.expected_key.in_(list(keys)))):
        for data in row.expected:
            item = from_json(data)
            found.setdefault(item.key, item)
    missing = [k for k in keys if k not in found]
    if missing:
        today = utcnow().date()
        window = Window(today - dt.timedelta(days=4 * LOOKBACK_DAYS), today + dt.timedelta(days=30))
        currencies = set(
            session.scalars(
                select(StatementRow.currency).where(StatementRow.source == brk.source).distinct()
            )
        )
        for item in open_items(session, brk.source, currencies, window):
            found.setdefault(item.key, item)
    still = [k for k in keys if k not in found]
    if still:
        raise ReconciliationError(f"no expected item {', '.join(still)}", param="target")
    settled = settled_keys(session, list(keys))
    if settled:
        raise ReconciliationError(
            f"already matched or closed: {', '.join(sorted(settled))}", param="target"
        )
    return [found[k] for k in keys]


def resolve_break(
    session: Session,
    break_id: str,
    action: str,
    *,
    actor: str,
    target: Sequence[str] | str | None = None,
    account: str | None = None,
    note: str | None = None,
) -> BreakRow:
    """Resolve an open break (see the module doc); raises :class:`ReconciliationError`."""
    if action not in ACTIONS:
        raise ReconciliationError(f"action must be one of {', '.join(ACTIONS)}", param="action")
    brk = get_break(session, break_id, lock=True)
    if brk is None:
        raise ReconciliationError(f"no break {break_id}", code="resource_missing", param="id")
    if brk.status != "open":
        raise ReconciliationError(
            f"break {break_id} is already resolved ({brk.resolution})", code="break_resolved"
        )
    note = (note or "").strip() or None
    if action in ("write_off", "ignore") and note is None:
        raise ReconciliationError(f"{action} needs a note saying why", param="note")
    if account is not None and account not in effects.WRITE_OFF_ACCOUNTS:
        raise ReconciliationError(
            f"account must be one of {', '.join(sorted(effects.WRITE_OFF_ACCOUNTS))}",
            param="account",
        )
    kind = _statement_kind(session, brk.source)
    ledger = Ledger(session)
    transfer_ids: list[str] = []
    targets = [target] if isinstance(target, str) else list(target or [])
    if action == "match_manually":
        transfer_ids = _match_manually(session, ledger, brk, kind, targets, account, actor, note)
    elif action == "write_off":
        if account is None:
            raise ReconciliationError("write_off needs an account", param="account")
        transfer_ids = _write_off(session, ledger, brk, kind, account)
    elif brk.line_id is not None:  # ignore a line
        session.execute(
            update(LineRow)
            .where(LineRow.id == brk.line_id)
            .values(status="resolved", posted_amount=0)
        )
    now = utcnow()
    brk.status = "resolved"
    brk.resolution = action
    brk.note = note
    brk.write_off_account = account
    brk.transfer_ids = transfer_ids
    brk.resolved_by = actor
    brk.resolved_at = now
    brk.updated = now
    session.flush()
    audit.append(
        session,
        actor,
        f"reconciliation.break.{action}",
        brk.id,
        {
            "source": brk.source,
            "kind": brk.kind,
            "amount": brk.amount,
            "currency": brk.currency,
            "line": brk.line_id,
            "expected": brk.expected_key,
            "target": targets,
            "account": account,
            "note": note,
            "transfers": transfer_ids,
        },
    )
    return brk


def _match_manually(
    session: Session,
    ledger: Ledger,
    brk: BreakRow,
    kind: StatementKind,
    targets: list[str],
    account: str | None,
    actor: str,
    note: str | None,
) -> list[str]:
    if not targets:
        raise ReconciliationError("match_manually needs a target", param="target")
    if brk.line_id is not None:
        lines = [_open_line(session, brk.line_id, brk.source)]
        items = _find_items(session, brk, targets)
    else:
        items = [from_json(brk.expected[0])]
        lines = [_open_line(session, line_id, brk.source) for line_id in targets]
    currencies = {line.currency for line in lines} | {item.currency for item in items}
    if len(currencies) != 1:
        raise ReconciliationError("a match must be in one currency", param="target")
    group = Group(Outcome.MATCHED, "manual", tuple(lines), tuple(items))
    fees = session.scalar(
        select(func.coalesce(func.sum(LineRow.fee), 0)).where(
            LineRow.id.in_([line.id for line in lines])
        )
    )
    row = record_match(
        session,
        ledger,
        brk.source,
        kind,
        group,
        rule="manual",
        actor=actor,
        fees=int(fees or 0),
        difference_account=account or effects.DIFFERENCES,
    )
    # The counterparts' own breaks are settled by the same match.
    others = select(BreakRow).where(
        BreakRow.status == "open",
        BreakRow.id != brk.id,
        or_(
            BreakRow.line_id.in_([line.id for line in lines]),
            BreakRow.expected_key.in_([item.key for item in items]),
        ),
    )
    now = utcnow()
    for other in session.scalars(others):
        other.status, other.resolution, other.note = "resolved", "match_manually", note
        other.resolved_by, other.resolved_at, other.updated = actor, now, now
    return list(row.transfer_ids)


def _write_off(
    session: Session, ledger: Ledger, brk: BreakRow, kind: StatementKind, account: str
) -> list[str]:
    try:
        if brk.line_id is not None:
            fee = session.scalar(select(LineRow.fee).where(LineRow.id == brk.line_id)) or 0
            legs = effects.line_write_off_legs(kind, brk.amount, account, fee)
            anchor = effects.statement_account(kind)
        else:
            legs = effects.item_write_off_legs(from_json(brk.expected[0]), account)
            anchor = None
    except ValueError as exc:
        raise ReconciliationError(str(exc), param="action") from exc
    ids = effects.post_legs(
        ledger,
        legs,
        brk.currency,
        id_prefix=f"recon:{brk.id}",
        code="recon_write_off",
        reference=brk.id,
        anchor=anchor,
    )
    if brk.line_id is not None:
        session.execute(
            update(LineRow)
            .where(LineRow.id == brk.line_id)
            .values(status="resolved", posted_amount=brk.amount)
        )
    return ids


def age_days(brk: BreakRow, today: dt.date | None = None) -> int:
    return ((today or utcnow().date()) - brk.occurred_on).days
