"""Settlement runs: what became due moves from ``merchant_pending`` to ``merchant_available``.

A run for (account, currency, cut-off):

1. finds or creates its ``settlement_runs`` row (``INSERT ... ON CONFLICT DO NOTHING`` on
   the unique key, then the row locked): a run that already succeeded is returned as it
   is, so repeating a cut-off moves nothing twice, also when two callers race;
2. **streams** the account's due BalanceTransactions (``pending``, no run,
   ``available_on <= cut_off``) in keyset order ``(available_on, id)``, ``batch_size``
   rows at a time, locking each batch (``FOR UPDATE`` on PostgreSQL) and marking it
   ``available`` with the run id; only the running totals stay in memory;
3. posts one journal: ``merchant_pending -> merchant_available`` for the net less the
   rolling reserve and ``merchant_pending -> merchant_reserve`` for the reserve (see
   :mod:`settlement.reserve`); a negative net goes ``merchant_available ->
   merchant_pending`` and holds no reserve;
4. records the reserve as two BalanceTransactions, both carrying the run id (so no later
   run picks them up): ``reserve_hold`` (``-reserved``, available at the cut-off) and
   ``reserve_release`` (``+reserved``, ``pending`` until the release date, when
   :mod:`settlement.runs.reserves` releases it, once).

With these rows the merchant's view and the ledger agree at every moment:
``merchant_available`` equals the sum of ``net`` over its ``available``
BalanceTransactions, and ``merchant_pending + merchant_reserve`` that over its
``pending`` ones.

Steps 2-4 run inside a savepoint. If the ledger refuses the journal (a negative net the
available balance cannot cover), everything is rolled back to it and the run is recorded
``failed`` with the reason, having moved nothing; asking for the same cut-off again
retries it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import String, bindparam, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.accounts import Account
from core.database import Database, UTCDateTime, utcnow
from core.ids import new_id
from core.money import currency_code
from settlement.balance_transactions import AVAILABLE, PENDING, BalanceTransaction
from settlement.ledger import Journal, Ledger, LedgerError, TransferSpec
from settlement.reserve import ReservePolicy, reserve_policy
from settlement.runs.tables import FAILED, SUCCEEDED, SettlementRun, unsettled

MERCHANT_PENDING: Final = "merchant_pending"
MERCHANT_AVAILABLE: Final = "merchant_available"
MERCHANT_RESERVE: Final = "merchant_reserve"
RESERVE_HOLD: Final = "reserve_hold"
RESERVE_RELEASE: Final = "reserve_release"
RESERVE_CATEGORY: Final = "risk_reserved_funds"
"""Stripe's reporting category for reserve holds and releases (types ``reserve_hold`` /
``reserve_release``, the names Stripe's API gives them since 2026-01-28)."""
DEFAULT_BATCH_SIZE: Final = 2000
RUNNING: Final = "running"


class SettlementRunError(ValueError):
    """A run that cannot be started as asked; ``code`` and ``param`` follow Stripe's errors."""

    def __init__(self, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.param = param


@dataclass
class RunTotals:
    """What a run has claimed so far: counts and sums, never the rows themselves."""

    count: int = 0
    gross: int = 0
    fee: int = 0
    net: int = 0
    batches: int = 0
    by_type: Counter[str] = field(default_factory=Counter)

    def add(self, rows: list[Any]) -> None:
        self.batches += 1
        for row in rows:
            self.count += 1
            self.gross += row.amount
            self.fee += row.fee
            self.net += row.net
            self.by_type[row.type] += 1


def cut_off_instant(as_of: dt.datetime) -> dt.datetime:
    """The cut-off as stored: UTC, whole seconds (what the API shows is what is keyed)."""
    if not isinstance(as_of, dt.datetime) or as_of.tzinfo is None:
        raise SettlementRunError(
            "as_of must be a timezone-aware timestamp", code="parameter_invalid", param="as_of"
        )
    return as_of.astimezone(dt.UTC).replace(microsecond=0)


def run_settlement(
    target: Database | Session,
    account_id: str,
    currency: str,
    as_of: dt.datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> SettlementRun:
    """Settle what is due for ``account_id`` in ``currency`` up to ``as_of`` (the cut-off).

    Given a :class:`Database`, the run is its own transaction (retried on serialization
    failures and deadlocks); given a session, it joins the caller's transaction.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    if isinstance(target, Database):
        return target.run(lambda session: _run(session, account_id, currency, as_of, batch_size))
    return _run(target, account_id, currency, as_of, batch_size)


def get_run(session: Session, run_id: str) -> SettlementRun | None:
    return session.get(SettlementRun, run_id)


def _run(
    session: Session, account_id: str, currency: str, as_of: dt.datetime, batch_size: int
) -> SettlementRun:
    cut_off = cut_off_instant(as_of)
    try:
        currency = currency_code(currency)
    except ValueError as exc:
        raise SettlementRunError(str(exc), code="parameter_invalid", param="currency") from exc
    account = session.get(Account, account_id)
    if account is None:
        raise SettlementRunError(
            f"No such account: '{account_id}'", code="resource_missing", param="account"
        )
    policy = reserve_policy(account.settings)
    run = _claim_run_row(session, account_id, currency, cut_off)
    if run.status == SUCCEEDED:
        return run
    attempts = (run.attempts or 0) + 1
    try:
        with session.begin_nested():
            totals = _settle_due(session, run, batch_size)
            _book(session, run, totals, policy, attempts)
    except LedgerError as exc:
        run.attempts = attempts
        run.status = FAILED
        run.failure_code = "balance_insufficient" if exc.code == "exceeds_credits" else exc.code
        run.failure_message = (
            f"the ledger refused the settlement journal ({exc.code}): "
            "nothing was moved; the run can be retried"
        )[:500]
        run.finished = utcnow()
        session.flush()
    _expire_cached_balance_transactions(session)
    return run


def _claim_run_row(
    session: Session, account_id: str, currency: str, cut_off: dt.datetime
) -> SettlementRun:
    """The run row for the key, created if missing, locked until the transaction ends.

    One statement: ``INSERT ... ON CONFLICT DO UPDATE`` (a no-op update) ``RETURNING`` the
    row, new or existing; the update takes the row lock, so a second caller waits for
    the first's transaction and then sees its outcome.
    """
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    statement = (
        insert(SettlementRun)
        .values(
            id=new_id("sr"),
            account_id=account_id,
            currency=currency,
            cut_off=cut_off,
            status=RUNNING,
            transaction_count=0,
            counts={},
            gross=0,
            fee=0,
            net=0,
            reserved=0,
            available=0,
            reserve_ppm=0,
            batches=0,
            attempts=0,
            created=utcnow(),
        )
        .on_conflict_do_update(
            index_elements=["account_id", "currency", "cut_off"],
            set_={"attempts": SettlementRun.attempts},
        )
        .returning(SettlementRun)
    )
    return session.scalars(statement, execution_options={"populate_existing": True}).one()


def _settle_due(session: Session, run: SettlementRun, batch_size: int) -> RunTotals:
    """Claim the due rows batch by batch (keyset pagination); return their totals.

    Each batch is one statement: ``WITH page AS MATERIALIZED (SELECT the next page ORDER
    BY available_on, id LIMIT n FOR UPDATE) UPDATE ... FROM page RETURNING`` the figures
    of the rows claimed.
    The page is locked before it is updated, so on PostgreSQL a row another run claimed
    meanwhile drops out of the page instead of being claimed twice (and the re-checked
    ``settlement_run_id IS NULL`` makes that hold on any backend).
    """
    table = BalanceTransaction.__table__
    due = table.alias("due")
    key = tuple_(due.c.available_on, due.c.id)
    totals = RunTotals()
    last: tuple[dt.datetime, str] | None = None
    while True:
        page = select(due.c.id).where(
            due.c.account_id == run.account_id,
            due.c.currency == run.currency,
            unsettled(due.c),
            due.c.available_on <= run.cut_off,
        )
        if last is not None:
            page = page.where(
                key
                > tuple_(
                    bindparam("after_on", last[0], type_=UTCDateTime()),
                    bindparam("after_id", last[1], type_=String()),
                )
            )
        # A materialized CTE is evaluated exactly once: a LIMITed subquery in FROM could be
        # rescanned by a nested loop and yield another page while the update runs.
        chosen = (
            page.order_by(due.c.available_on, due.c.id)
            .limit(batch_size)
            .with_for_update()
            .cte("page")
            .prefix_with("MATERIALIZED")
        )
        rows = session.execute(
            update(table)
            .where(table.c.id == chosen.c.id, table.c.settlement_run_id.is_(None))
            .values(status=AVAILABLE, settlement_run_id=run.id)
            .returning(
                table.c.id,
                table.c.available_on,
                table.c.type,
                table.c.amount,
                table.c.fee,
                table.c.net,
            )
        ).all()
        if not rows:
            break
        totals.add(rows)
        if len(rows) < batch_size:
            break
        last = max((row.available_on, row.id) for row in rows)
    return totals


def _book(
    session: Session, run: SettlementRun, totals: RunTotals, policy: ReservePolicy, attempts: int
) -> None:
    """Post the run's journal and reserve rows, and fill in the run's figures."""
    reserved = policy.held(totals.net)
    to_available = totals.net - reserved
    ledger = Ledger(session)
    owner, currency = run.account_id, run.currency
    known = _merchant_accounts(ledger, owner, currency)

    def account_id(purpose: str) -> str:
        return known.get(purpose) or ledger.account(owner, purpose, currency).id

    pending = account_id(MERCHANT_PENDING)
    available = account_id(MERCHANT_AVAILABLE)
    ops: list[TransferSpec] = []
    if to_available > 0:
        ops.append(_transfer(run, "available", pending, available, to_available, "settlement"))
    elif to_available < 0:
        ops.append(_transfer(run, "available", available, pending, -to_available, "settlement"))
    release_on = policy.release_on(run.cut_off) if reserved else None
    if reserved:
        reserve = account_id(MERCHANT_RESERVE)
        ops.append(_transfer(run, "reserve", pending, reserve, reserved, RESERVE_HOLD))
    journal_id = None
    if ops:
        header = Journal(
            code="settlement",
            reference=run.id,
            metadata={
                "account_id": owner,
                "cut_off": run.cut_off.isoformat(),
                "transactions": totals.count,
                "reserve_ppm": policy.ppm,
            },
        )
        journal_id = ledger.post_or_raise(ops, journal=header)[0].journal_id
    if reserved and release_on is not None:
        _record_reserve(session, run, reserved, release_on, journal_id)
    run.status = SUCCEEDED
    run.attempts = attempts
    run.transaction_count = totals.count
    run.counts = dict(sorted(totals.by_type.items()))
    run.gross, run.fee, run.net = totals.gross, totals.fee, totals.net
    run.reserved, run.available = reserved, to_available
    run.reserve_ppm = policy.ppm if reserved else 0
    run.reserve_release_on = release_on
    run.journal_id = journal_id
    run.batches = totals.batches
    run.failure_code = run.failure_message = None
    run.finished = utcnow()
    session.flush()


def _merchant_accounts(ledger: Ledger, owner: str, currency: str) -> dict[str, str]:
    """The merchant's existing ledger accounts in ``currency`` by purpose, in one read
    (a run needs up to three; missing ones are created on first use)."""
    page = ledger.accounts(owner=owner, currency=currency, limit=100)
    return {account.purpose: account.id for account in page}


def _transfer(
    run: SettlementRun, key: str, debit: str, credit: str, amount: int, code: str
) -> TransferSpec:
    return TransferSpec(
        id=f"{run.id}:{key}",
        debit=debit,
        credit=credit,
        amount=amount,
        currency=run.currency,
        code=code,
        reference=run.id,
    )


def _record_reserve(
    session: Session,
    run: SettlementRun,
    reserved: int,
    release_on: dt.datetime,
    journal_id: str | None,
) -> None:
    """The hold and release rows, written in one batch and stamped with the run id.

    They carry ``settlement_run_id`` from the start (``balance_transactions.record``
    cannot set it), which is what keeps every later run from picking them up.
    """
    now = utcnow()

    def row(kind: str, amount: int, **fields: Any) -> BalanceTransaction:
        return BalanceTransaction(
            id=new_id("txn"),
            account_id=run.account_id,
            type=kind,
            reporting_category=RESERVE_CATEGORY,
            amount=amount,
            fee=0,
            net=amount,
            currency=run.currency,
            fee_details=[],
            exchange_rate=None,
            source=run.id,
            settlement_run_id=run.id,
            created=now,
            **fields,
        )

    hold = row(
        RESERVE_HOLD,
        -reserved,
        status=AVAILABLE,
        available_on=run.cut_off,
        journal_id=journal_id,
        description=f"Rolling reserve held from settlement {run.id}",
        details={"release_on": release_on.isoformat()},
    )
    release = row(
        RESERVE_RELEASE,
        reserved,
        status=PENDING,
        available_on=release_on,
        journal_id=None,
        description=f"Rolling reserve of settlement {run.id} released",
        details={"held_by": hold.id},
    )
    session.add_all([hold, release])


def _expire_cached_balance_transactions(session: Session) -> None:
    """The run updates rows with bulk statements; refresh any the caller holds."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, BalanceTransaction):
            session.expire(obj)
