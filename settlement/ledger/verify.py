"""``verify``: check every invariant of the ledger and report each violation found.

Checked, each under the name used in :attr:`Problem.check`:

- ``transfer_shape``: each transfer is well formed for its kind (amounts, links,
  timeout only on reservations, debit and credit accounts differ and exist);
- ``checksum``: each transfer still hashes to the checksum it was written with, i.e.
  stored history was not edited (see :mod:`.checksum`);
- ``currency``: a transfer's currency is that of both its accounts;
- ``account_totals``: every account's four stored totals equal the sums of its
  transfers (catches a lost update, a tampered total, a deleted or edited transfer);
- ``currency_balance``: per currency, total debits equal total credits, posted and
  pending separately, both in the stored totals and in the transfers;
- ``limit`` / ``overflow``: no account's totals break its limit flag, go negative or
  exceed 64 bits;
- ``journal_balance``: every journal balances in each currency on its own, and every
  journal header has transfers;
- ``pending``: every resolution names an existing reservation, copies its accounts and
  currency, releases exactly its amount, posts no more than it, expires it only after
  its timeout, and no reservation is resolved twice;
- ``reversal``: every reversal names a posted transfer that is not itself a reversal,
  swaps its sides with the same amount and currency, and nothing is reversed twice.

Run it in one snapshot (:func:`verify_database` opens a REPEATABLE READ transaction on
PostgreSQL); under READ COMMITTED a concurrent posting between two of its reads would
show up as a false difference.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.database import Database
from core.money import MAX_MINOR_AMOUNT

from .checksum import transfer_checksum
from .records import RESOLUTIONS, Account, Transfer, TransferKind
from .storage.rows import (
    ACCOUNT_COLUMNS,
    TRANSFER_COLUMNS,
    account_from_row,
    transfer_from_row,
    utc,
)
from .tables import accounts, journals, transfers

_STREAM = 5000


@dataclass(frozen=True, slots=True)
class Problem:
    check: str
    subject: str
    message: str


@dataclass(slots=True)
class VerifyReport:
    problems: list[Problem] = field(default_factory=list)
    accounts: int = 0
    transfers: int = 0
    journals: int = 0
    truncated: int = 0
    """Problems found beyond ``max_problems`` and not listed."""

    @property
    def ok(self) -> bool:
        return not self.problems and not self.truncated


class _Collector:
    def __init__(self, report: VerifyReport, limit: int) -> None:
        self.report = report
        self.limit = limit

    def __call__(self, check: str, subject: str, message: str) -> None:
        if len(self.report.problems) < self.limit:
            self.report.problems.append(Problem(check, subject, message))
        else:
            self.report.truncated += 1


def _four(values: list[int]) -> str:
    return "debits_pending={} debits_posted={} credits_pending={} credits_posted={}".format(*values)


def verify(session: Session, *, max_problems: int = 1000) -> VerifyReport:
    report = VerifyReport()
    problem = _Collector(report, max_problems)
    all_accounts: dict[str, Account] = {
        row[0]: account_from_row(row)
        for row in session.execute(select(*[accounts.columns[c] for c in ACCOUNT_COLUMNS]))
    }
    report.accounts = len(all_accounts)
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    journal_sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    _check_transfers(session, all_accounts, sums, journal_sums, report, problem)
    _check_accounts(all_accounts, sums, problem)
    _check_journals(session, journal_sums, report, problem)
    _check_resolutions(session, problem)
    _check_reversals(session, problem)
    return report


def verify_database(database: Database, *, max_problems: int = 1000) -> VerifyReport:
    """:func:`verify` in a snapshot of its own (REPEATABLE READ on PostgreSQL)."""
    with database.engine.connect() as connection:
        if database.dialect == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind=connection) as session:
            try:
                return verify(session, max_problems=max_problems)
            finally:
                session.rollback()


def _check_transfers(
    session: Session,
    all_accounts: dict[str, Account],
    sums: dict[str, list[int]],
    journal_sums: dict[tuple[str, str], list[int]],
    report: VerifyReport,
    problem: _Collector,
) -> None:
    """One streaming pass over the history; every sum is a Python int (never overflows)."""
    query = select(*[transfers.columns[c] for c in TRANSFER_COLUMNS]).execution_options(
        yield_per=_STREAM
    )
    for row in session.execute(query):
        t = transfer_from_row(row)
        report.transfers += 1
        _check_shape(t, problem)
        expected = transfer_checksum(t)
        if expected != t.checksum:
            problem("checksum", t.id, "stored transfer does not match its checksum (edited)")
        for role, account_id in (("debit", t.debit_account_id), ("credit", t.credit_account_id)):
            account = all_accounts.get(account_id)
            if account is None:
                problem("transfer_shape", t.id, f"{role} account {account_id} does not exist")
            elif account.currency != t.currency:
                problem(
                    "currency",
                    t.id,
                    f"transfer in {t.currency}, {role} account {account_id} in {account.currency}",
                )
        sums[t.debit_account_id][0] += t.pending_change
        sums[t.debit_account_id][1] += t.posted_amount
        sums[t.credit_account_id][2] += t.pending_change
        sums[t.credit_account_id][3] += t.posted_amount
        if t.journal_id is not None:
            debit, credit = (
                all_accounts.get(t.debit_account_id),
                all_accounts.get(t.credit_account_id),
            )
            debit_side = journal_sums[(t.journal_id, debit.currency if debit else "???")]
            debit_side[0] += t.posted_amount
            debit_side[1] += t.pending_change
            credit_side = journal_sums[(t.journal_id, credit.currency if credit else "???")]
            credit_side[2] += t.posted_amount
            credit_side[3] += t.pending_change


def _check_shape(t: Transfer, problem: _Collector) -> None:
    def bad(message: str) -> None:
        problem("transfer_shape", t.id, message)

    if t.debit_account_id == t.credit_account_id:
        bad("debits and credits the same account")
    if t.kind in (TransferKind.POSTED, TransferKind.PENDING):
        if t.amount <= 0 or t.released != 0 or t.pending_id is not None:
            bad(f"a {t.kind} transfer needs a positive amount and no pending link")
    elif t.kind is TransferKind.POST_PENDING:
        if t.amount <= 0 or t.pending_id is None:
            bad("a post_pending transfer needs a positive amount and a pending_id")
    elif t.amount != 0 or t.pending_id is None:
        bad(f"a {t.kind} transfer moves nothing and needs a pending_id")
    if t.amount > MAX_MINOR_AMOUNT or t.released > MAX_MINOR_AMOUNT:
        bad("amount beyond 64 bits")
    if t.reverses_id is not None and t.kind is not TransferKind.POSTED:
        bad("only a posted transfer can be a reversal")
    if (t.timeout_seconds is not None or t.timeout_at is not None) and (
        t.kind is not TransferKind.PENDING
    ):
        bad("a timeout on a transfer that is not a reservation")


def _check_accounts(
    all_accounts: dict[str, Account], sums: dict[str, list[int]], problem: _Collector
) -> None:
    per_currency: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    recomputed: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for account_id in sums.keys() - all_accounts.keys():
        problem("account_totals", account_id, "transfers refer to a missing account")
    for account in all_accounts.values():
        tot = account.totals
        stored = [tot.debits_pending, tot.debits_posted, tot.credits_pending, tot.credits_posted]
        summed = sums.get(account.id, [0, 0, 0, 0])
        if stored != summed:
            problem(
                "account_totals",
                account.id,
                f"stored {_four(stored)} but its transfers sum to {_four(summed)}",
            )
        for i in range(4):
            per_currency[account.currency][i] += stored[i]
            recomputed[account.currency][i] += summed[i]
        for values, source in ((stored, "stored"), (summed, "summed")):
            dpe, dpo, cpe, cpo = values
            if min(values) < 0 or dpe + dpo > MAX_MINOR_AMOUNT or cpe + cpo > MAX_MINOR_AMOUNT:
                problem("overflow", account.id, f"{source} totals out of range: {_four(values)}")
            if account.debits_must_not_exceed_credits and dpe + dpo > cpo:
                problem(
                    "limit",
                    account.id,
                    f"{source} debits {dpe + dpo} (incl. pending) exceed credits {cpo}",
                )
            if account.credits_must_not_exceed_debits and cpe + cpo > dpo:
                problem(
                    "limit",
                    account.id,
                    f"{source} credits {cpe + cpo} (incl. pending) exceed debits {dpo}",
                )
    for source, table in (("stored", per_currency), ("summed", recomputed)):
        for currency, (dpe, dpo, cpe, cpo) in sorted(table.items()):
            if dpo != cpo:
                problem(
                    "currency_balance",
                    currency,
                    f"{source} posted debits {dpo} != posted credits {cpo}",
                )
            if dpe != cpe:
                problem(
                    "currency_balance",
                    currency,
                    f"{source} pending debits {dpe} != pending credits {cpe}",
                )


def _check_journals(
    session: Session,
    balance: dict[tuple[str, str], list[int]],
    report: VerifyReport,
    problem: _Collector,
) -> None:
    """Each journal balances per currency (by its accounts' currencies), and headers
    and transfers refer to each other."""
    for (journal_id, currency), (dposted, dpending, cposted, cpending) in sorted(balance.items()):
        if dposted != cposted or dpending != cpending:
            problem(
                "journal_balance",
                journal_id,
                f"{currency}: debits {dposted} (+{dpending} pending) vs credits"
                f" {cposted} (+{cpending} pending)",
            )
    headers = {row[0] for row in session.execute(select(journals.c.id))}
    report.journals = len(headers)
    used = {journal_id for journal_id, _ in balance}
    for journal_id in sorted(headers - used):
        problem("journal_balance", journal_id, "journal header without transfers")
    for journal_id in sorted(used - headers):
        problem("journal_balance", journal_id, "transfers name a journal that does not exist")


def _pair_rows(session: Session, link: Any) -> list[Any]:
    r = transfers.alias("r")
    p = transfers.alias("p")
    query = (
        select(
            r.c.id,
            r.c.kind,
            r.c.amount,
            r.c.released,
            r.c.debit_account_id,
            r.c.credit_account_id,
            r.c.currency,
            r.c.timestamp,
            p.c.id,
            p.c.kind,
            p.c.amount,
            p.c.debit_account_id,
            p.c.credit_account_id,
            p.c.currency,
            p.c.timeout_at,
            p.c.reverses_id,
        )
        .select_from(r.outerjoin(p, p.c.id == r.c[link]))
        .where(r.c[link].is_not(None))
        .execution_options(yield_per=_STREAM)
    )
    return list(session.execute(query))


def _check_resolutions(session: Session, problem: _Collector) -> None:
    seen: dict[str, str] = {}
    for row in _pair_rows(session, "pending_id"):
        rid, rkind, amount, released, rdebit, rcredit, rcur, rtime = row[:8]
        pid, pkind, pamount, pdebit, pcredit, pcur, ptimeout, _ = row[8:]
        if pid is None:
            problem("pending", rid, "resolves a reservation that does not exist")
            continue
        if rkind not in {k.value for k in RESOLUTIONS}:
            problem("pending", rid, f"a {rkind} transfer carries a pending_id")
            continue
        if pkind != TransferKind.PENDING.value:
            problem("pending", rid, f"resolves {pid}, which is a {pkind} transfer")
        if (rdebit, rcredit, rcur) != (pdebit, pcredit, pcur):
            problem("pending", rid, f"accounts or currency differ from reservation {pid}")
        if released != pamount:
            problem("pending", rid, f"releases {released}, reservation {pid} held {pamount}")
        if rkind == TransferKind.POST_PENDING.value and not 0 < amount <= pamount:
            problem("pending", rid, f"posts {amount} of a reservation of {pamount}")
        if rkind == TransferKind.EXPIRE_PENDING.value and (
            ptimeout is None or utc(rtime) < utc(ptimeout)  # type: ignore[operator]
        ):
            problem("pending", rid, f"expires {pid} before its timeout")
        if pid in seen:
            problem("pending", pid, f"resolved twice: by {seen[pid]} and {rid}")
        seen[pid] = rid


def _check_reversals(session: Session, problem: _Collector) -> None:
    seen: dict[str, str] = {}
    for row in _pair_rows(session, "reverses_id"):
        rid, rkind, amount, _, rdebit, rcredit, rcur, _ = row[:8]
        tid, tkind, tamount, tdebit, tcredit, tcur, _, treverses = row[8:]
        if tid is None:
            problem("reversal", rid, "reverses a transfer that does not exist")
            continue
        if rkind != TransferKind.POSTED.value:
            problem("reversal", rid, f"a {rkind} transfer cannot be a reversal")
        if tkind not in (TransferKind.POSTED.value, TransferKind.POST_PENDING.value):
            problem("reversal", rid, f"reverses {tid}, a {tkind} transfer")
        if treverses is not None:
            problem("reversal", rid, f"reverses {tid}, which is itself a reversal")
        if (rdebit, rcredit, amount, rcur) != (tcredit, tdebit, tamount, tcur):
            problem("reversal", rid, f"does not mirror {tid} (sides, amount or currency)")
        if tid in seen:
            problem("reversal", tid, f"reversed twice: by {seen[tid]} and {rid}")
        seen[tid] = rid
