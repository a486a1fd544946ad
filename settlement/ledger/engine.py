"""The ledger's rules as a pure state machine: no database, no clock, no I/O.

:class:`Engine` takes a snapshot of the accounts a posting touches (locked by the caller)
and of the transfers it refers to, applies a batch of operation *chains* in order, and
returns what to write: new transfers, journal headers, failure records and, per
account, the change to its four totals. Storage backends do the reading and writing;
this module decides. Keeping it pure is what lets one batch of thousands of transfers
cost a handful of SQL statements, and what makes the rules testable on their own.

Semantics (after TigerBeetle):

- Operations are applied one after another, each seeing the effects of the previous
  ones, including those earlier in the same batch (a reservation may be posted in the
  batch that made it).
- A chain with a :class:`~.specs.Journal` is all-or-nothing: at its first failure the
  operations already applied are undone, the failing one reports its code and every
  other one ``linked_event_failed``. A chain without a journal is one independent
  operation.
- Re-posting a journal whose transfers all exist is an idempotent no-op (every result
  ``exists``); a journal mixing existing and new transfers is refused
  (``journal_partially_exists``), because journals are atomic and so can never have
  been half-applied.
- Limits: with ``debits_must_not_exceed_credits``, an account's posted plus pending
  debits, including this transfer, may not exceed its posted credits (and mirror-wise
  for ``credits_must_not_exceed_debits``). Reservations count at reserve time, so a
  later post never breaks a limit. No total may exceed 2**63 - 1, nor may posted plus
  pending on one side (``overflows_*``).
- A reservation resolves at most once: posted (fully or partly, releasing the rest),
  voided, or expired once its timeout has passed. Posting or voiding it after its
  timeout fails with ``pending_transfer_expired`` even before the expiry sweep ran.
- A posted transfer (single-phase or a posted reservation) can be reversed once, by a
  transfer of the same amount with the sides swapped; a reversal itself cannot be
  reversed (post a new transfer instead).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.money import MAX_MINOR_AMOUNT

from .checksum import transfer_checksum
from .codes import ResultCode
from .records import RESOLUTIONS, JournalRecord, Totals, Transfer, TransferKind, TransferResult
from .specs import (
    Expiry,
    Journal,
    Operation,
    PostPending,
    Reversal,
    TransferSpec,
    VoidPending,
    input_error,
    timeout_at,
    valid_currency,
)

DEFAULT_REVERSAL_CODE = "reversal"


@dataclass(slots=True)
class AccountState:
    """The mutable part of an account a posting needs: its identity rules and totals."""

    id: str
    currency: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def totals(self) -> Totals:
        return Totals(
            self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted
        )


@dataclass(slots=True)
class LedgerState:
    """What a posting may consult: locked accounts and the transfers its operations name.

    ``transfers`` must hold every stored transfer whose id is an operation id or a
    ``pending_id``/``reverses`` target; ``resolutions`` and ``reversals`` the stored
    transfers resolving / reversing those targets; ``failed`` the recorded failures
    among the operation ids.
    """

    accounts: dict[str, AccountState]
    transfers: dict[str, Transfer] = field(default_factory=dict)
    resolutions: dict[str, Transfer] = field(default_factory=dict)
    reversals: dict[str, Transfer] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Chain:
    """Operations applied together: all-or-nothing under ``journal``, else exactly one."""

    ops: Sequence[Operation]
    journal: Journal | None = None

    def __post_init__(self) -> None:
        if self.journal is None and len(self.ops) != 1:
            raise ValueError("a chain without a journal holds exactly one operation")
        if not self.ops:
            raise ValueError("a journal needs at least one operation")


@dataclass(slots=True)
class Outcome:
    """What :meth:`Engine.run` decided: results per chain, and the writes that follow."""

    now: dt.datetime
    results: list[list[TransferResult]]
    transfers: list[Transfer]
    journals: list[JournalRecord]
    failed: list[tuple[str, str]]
    deltas: dict[str, Totals]


class _Refused(Exception):
    """Internal: an operation failed with ``code`` (raised and caught within the engine)."""

    def __init__(self, code: ResultCode, detail: str = "") -> None:
        self.code = code
        self.detail = detail


def new_transfer(
    now: dt.datetime,
    *,
    id: str,
    kind: TransferKind,
    debit: str,
    credit: str,
    currency: str,
    amount: int,
    code: str,
    reference: str,
    journal_id: str | None,
    metadata: dict[str, Any],
    released: int = 0,
    pending_id: str | None = None,
    reverses_id: str | None = None,
    timeout_seconds: int | None = None,
    timeout_at: dt.datetime | None = None,
) -> Transfer:
    """A transfer record as it will be stored, stamped ``now`` and checksummed."""
    transfer = Transfer(
        id=id,
        seq=None,
        kind=kind,
        debit_account_id=debit,
        credit_account_id=credit,
        currency=currency,
        amount=amount,
        released=released,
        pending_id=pending_id,
        reverses_id=reverses_id,
        timeout_seconds=timeout_seconds,
        timeout_at=timeout_at,
        code=code,
        reference=reference,
        journal_id=journal_id,
        timestamp=now,
        metadata=metadata,
        checksum="",
    )
    # Stamped in place, like ``seq`` after the write: nobody has seen the record yet, and
    # a second frozen record of eighteen fields would cost more than the hash.
    object.__setattr__(transfer, "checksum", transfer_checksum(transfer))
    return transfer


def planned_transfer(
    op: TransferSpec, now: dt.datetime, journal_id: str | None = None
) -> Transfer | None:
    """The transfer ``op`` becomes if the ledger's state allows it, or ``None`` when the
    request itself is invalid or its timeout is out of range (the engine reports those).

    None of it depends on the ledger's state, so a posting computes it before taking any
    lock (see :func:`make_plan`), and backends use it to apply a lone transfer in one
    round trip (:meth:`.storage.Store.try_lone`).
    """
    if input_error(op) is not None:
        return None
    try:
        expires = timeout_at(now, op.timeout_seconds)
    except OverflowError:
        return None
    return new_transfer(
        now,
        id=op.id,
        kind=TransferKind.PENDING if op.pending else TransferKind.POSTED,
        debit=op.debit,
        credit=op.credit,
        currency=valid_currency(op.currency) or op.currency,
        amount=op.amount,
        timeout_seconds=op.timeout_seconds,
        timeout_at=expires,
        code=op.code,
        reference=op.reference,
        journal_id=journal_id,
        metadata=dict(op.metadata),
    )


@dataclass(frozen=True, slots=True)
class Plan:
    """What a posting decides before it locks anything: each chain's journal id, and the
    row (checksum included) each valid :class:`TransferSpec` becomes if state allows.

    Moving this work out of the locked section shortens the time other writers wait
    for the same accounts.
    """

    journal_ids: list[str | None]
    rows: dict[tuple[int, int], Transfer]


def make_plan(chains: Sequence[Chain], now: dt.datetime, new_journal_id: Callable[[], str]) -> Plan:
    journal_ids: list[str | None] = []
    rows: dict[tuple[int, int], Transfer] = {}
    for c, chain in enumerate(chains):
        journal_id = new_journal_id() if chain.journal is not None else None
        journal_ids.append(journal_id)
        for o, op in enumerate(chain.ops):
            if isinstance(op, TransferSpec):
                row = planned_transfer(op, now, journal_id)
                if row is not None:
                    rows[(c, o)] = row
    return Plan(journal_ids, rows)


class Engine:
    """Applies chains of operations to a :class:`LedgerState`. One engine, one batch."""

    def __init__(
        self, state: LedgerState, now: dt.datetime, new_journal_id: Callable[[], str]
    ) -> None:
        self._state = state
        self._now = now
        self._new_journal_id = new_journal_id
        self._initial = {
            a.id: (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
            for a in state.accounts.values()
        }
        self._transfers: list[Transfer] = []
        self._journals: list[JournalRecord] = []
        self._failed: list[tuple[str, str]] = []

    # -- batch -----------------------------------------------------------------------------

    def run(self, chains: Sequence[Chain], plan: Plan | None = None) -> Outcome:
        """Apply ``chains`` in order; ``plan`` is :func:`make_plan`'s for these chains."""
        plan = plan or make_plan(chains, self._now, self._new_journal_id)
        results = [
            self._chain(chain, plan.journal_ids[c], plan.rows, c) for c, chain in enumerate(chains)
        ]
        deltas: dict[str, Totals] = {}
        initial = self._initial
        for a in self._state.accounts.values():
            dp, dpo, cp, cpo = initial[a.id]
            if (dp, dpo, cp, cpo) != (
                a.debits_pending,
                a.debits_posted,
                a.credits_pending,
                a.credits_posted,
            ):
                deltas[a.id] = Totals(
                    a.debits_pending - dp,
                    a.debits_posted - dpo,
                    a.credits_pending - cp,
                    a.credits_posted - cpo,
                )
        return Outcome(self._now, results, self._transfers, self._journals, self._failed, deltas)

    def _chain(
        self,
        chain: Chain,
        journal_id: str | None,
        rows: dict[tuple[int, int], Transfer],
        c: int,
    ) -> list[TransferResult]:
        header = chain.journal
        results: list[TransferResult] = []
        applied: list[Transfer] = []
        for o, op in enumerate(chain.ops):
            result = self._one(op, journal_id, rows.get((c, o)))
            results.append(result)
            if not result.ok:
                break
            if result.created and result.transfer is not None:
                applied.append(result.transfer)
        else:
            if header is None or not applied:
                return results  # independent op, or a journal re-posted whole: all exist
            stale = [
                i
                for i, r in enumerate(results)
                if r.code is ResultCode.EXISTS and r.id not in {t.id for t in applied}
            ]
            if not stale:
                self._journals.append(self._journal_record(journal_id or "", header))
                return results
            for i in stale:
                results[i] = TransferResult(
                    results[i].id,
                    ResultCode.JOURNAL_PARTIALLY_EXISTS,
                    results[i].transfer,
                    "this transfer already exists outside the journal being posted",
                )
        # The chain failed: undo what it applied, and report the others as linked failures.
        for transfer in reversed(applied):
            self._unapply(transfer)
        final: list[TransferResult] = []
        for i, op in enumerate(chain.ops):
            if i < len(results) and results[i].code not in (ResultCode.OK, ResultCode.EXISTS):
                final.append(results[i])
            else:
                final.append(TransferResult(op.id, ResultCode.LINKED_EVENT_FAILED))
        return final

    def _journal_record(self, journal_id: str, header: Journal) -> JournalRecord:
        return JournalRecord(
            id=journal_id,
            code=header.code,
            reference=header.reference,
            rate=str(header.rate) if header.rate is not None else None,
            quote_id=header.quote_id,
            metadata=dict(header.metadata),
            created=self._now,
        )

    # -- one operation -------------------------------------------------------------------

    def _one(
        self, op: Operation, journal_id: str | None, planned: Transfer | None
    ) -> TransferResult:
        error = None if planned is not None else input_error(op)
        if error is not None:
            return TransferResult(op.id, error)
        existing = self._state.transfers.get(op.id)
        if existing is not None:
            difference = self._difference(op, existing)
            code = difference or ResultCode.EXISTS
            return TransferResult(op.id, code, existing)
        failed = self._state.failed.get(op.id)
        if failed is not None:
            return TransferResult(
                op.id, ResultCode.ID_ALREADY_FAILED, None, f"an earlier attempt failed: {failed}"
            )
        try:
            transfer = self._build(op, journal_id, planned)
        except _Refused as refused:
            if refused.code.recorded and not isinstance(op, Expiry):
                self._state.failed[op.id] = refused.code
                self._failed.append((op.id, refused.code))
            return TransferResult(op.id, refused.code, None, refused.detail)
        self._apply(transfer)
        return TransferResult(op.id, ResultCode.OK, transfer)

    def _build(self, op: Operation, journal_id: str | None, planned: Transfer | None) -> Transfer:
        if isinstance(op, TransferSpec):
            return self._build_transfer(op, journal_id, planned)
        if isinstance(op, Reversal):
            return self._build_reversal(op, journal_id)
        return self._build_resolution(op, journal_id)

    def _build_transfer(
        self, op: TransferSpec, journal_id: str | None, planned: Transfer | None
    ) -> Transfer:
        # Plain ifs rather than a helper: this runs for every transfer of every batch, and
        # the failure details must only be formatted when something fails.
        debit = self._state.accounts.get(op.debit)
        if debit is None:
            raise _Refused(ResultCode.DEBIT_ACCOUNT_NOT_FOUND, op.debit)
        credit = self._state.accounts.get(op.credit)
        if credit is None:
            raise _Refused(ResultCode.CREDIT_ACCOUNT_NOT_FOUND, op.credit)
        currency = valid_currency(op.currency) or op.currency
        for account in (debit, credit):
            if account.currency != currency:
                raise _Refused(
                    ResultCode.CURRENCY_MISMATCH,
                    f"account {account.id} holds {account.currency}, transfer is in {currency}",
                )
        self._check_limits(debit, credit, op.amount, pending=op.pending)
        if planned is not None:  # its timeout is known to be in range
            self._check_funds(debit, credit, op.amount)
            return planned
        try:
            expires = timeout_at(self._now, op.timeout_seconds)
        except OverflowError as exc:
            raise _Refused(ResultCode.OVERFLOWS_TIMEOUT, str(exc)) from None
        self._check_funds(debit, credit, op.amount)
        return self._row(
            id=op.id,
            kind=TransferKind.PENDING if op.pending else TransferKind.POSTED,
            debit=debit.id,
            credit=credit.id,
            currency=currency,
            amount=op.amount,
            timeout_seconds=op.timeout_seconds,
            timeout_at=expires,
            code=op.code,
            reference=op.reference,
            journal_id=journal_id,
            metadata=dict(op.metadata),
        )

    def _build_reversal(self, op: Reversal, journal_id: str | None) -> Transfer:
        target = self._state.transfers.get(op.reverses)
        if target is None:
            raise _Refused(ResultCode.TRANSFER_NOT_FOUND, op.reverses)
        if target.kind not in (TransferKind.POSTED, TransferKind.POST_PENDING):
            raise _Refused(
                ResultCode.TRANSFER_NOT_REVERSIBLE,
                f"a {target.kind} transfer moves no posted money; void a reservation instead",
            )
        if target.reverses_id is not None:
            raise _Refused(
                ResultCode.TRANSFER_NOT_REVERSIBLE,
                "a reversal cannot be reversed; post a new transfer",
            )
        previous = self._state.reversals.get(target.id)
        if previous is not None:
            raise _Refused(ResultCode.ALREADY_REVERSED, f"reversed by {previous.id}")
        debit = self._state.accounts[target.credit_account_id]
        credit = self._state.accounts[target.debit_account_id]
        self._check_limits(debit, credit, target.amount, pending=False)
        self._check_funds(debit, credit, target.amount)
        return self._row(
            id=op.id,
            kind=TransferKind.POSTED,
            debit=debit.id,
            credit=credit.id,
            currency=target.currency,
            amount=target.amount,
            reverses_id=target.id,
            code=op.code if op.code is not None else DEFAULT_REVERSAL_CODE,
            reference=op.reference if op.reference is not None else target.reference,
            journal_id=journal_id,
            metadata=dict(op.metadata),
        )

    def _build_resolution(
        self, op: PostPending | VoidPending | Expiry, journal_id: str | None
    ) -> Transfer:
        pending = self._state.transfers.get(op.pending_id)
        if pending is None:
            raise _Refused(ResultCode.PENDING_TRANSFER_NOT_FOUND, op.pending_id)
        if pending.kind is not TransferKind.PENDING:
            raise _Refused(ResultCode.PENDING_TRANSFER_NOT_PENDING, f"it is {pending.kind}")
        resolution = self._state.resolutions.get(pending.id)
        if resolution is not None:
            code = {
                TransferKind.POST_PENDING: ResultCode.PENDING_TRANSFER_ALREADY_POSTED,
                TransferKind.VOID_PENDING: ResultCode.PENDING_TRANSFER_ALREADY_VOIDED,
            }.get(resolution.kind, ResultCode.PENDING_TRANSFER_EXPIRED)
            raise _Refused(code, f"resolved by {resolution.id}")
        timed_out = pending.timeout_at is not None and pending.timeout_at <= self._now
        if isinstance(op, Expiry) and not timed_out:
            raise _Refused(ResultCode.PENDING_TRANSFER_NOT_EXPIRED)
        if not isinstance(op, Expiry) and timed_out:
            raise _Refused(ResultCode.PENDING_TRANSFER_EXPIRED, "its timeout has passed")
        amount = 0
        if isinstance(op, PostPending):
            amount = pending.amount if op.amount is None else op.amount
            if amount > pending.amount:
                raise _Refused(
                    ResultCode.EXCEEDS_PENDING_TRANSFER_AMOUNT,
                    f"{amount} requested, {pending.amount} reserved",
                )
        kind = {
            PostPending: TransferKind.POST_PENDING,
            VoidPending: TransferKind.VOID_PENDING,
            Expiry: TransferKind.EXPIRE_PENDING,
        }[type(op)]
        code = getattr(op, "code", None)
        reference = getattr(op, "reference", None)
        return self._row(
            id=op.id,
            kind=kind,
            debit=pending.debit_account_id,
            credit=pending.credit_account_id,
            currency=pending.currency,
            amount=amount,
            released=pending.amount,
            pending_id=pending.id,
            code=code if code is not None else pending.code,
            reference=reference if reference is not None else pending.reference,
            journal_id=journal_id,
            metadata=dict(getattr(op, "metadata", {})),
        )

    @staticmethod
    def _check_limits(
        debit: AccountState, credit: AccountState, amount: int, *, pending: bool
    ) -> None:
        """The ``overflows_*`` rules: no total, nor posted + pending, beyond 2**63 - 1."""
        code = None
        if pending and debit.debits_pending + amount > MAX_MINOR_AMOUNT:
            code = ResultCode.OVERFLOWS_DEBITS_PENDING
        elif pending and credit.credits_pending + amount > MAX_MINOR_AMOUNT:
            code = ResultCode.OVERFLOWS_CREDITS_PENDING
        elif debit.debits_posted + amount > MAX_MINOR_AMOUNT:
            code = ResultCode.OVERFLOWS_DEBITS_POSTED
        elif credit.credits_posted + amount > MAX_MINOR_AMOUNT:
            code = ResultCode.OVERFLOWS_CREDITS_POSTED
        elif debit.debits_pending + debit.debits_posted + amount > MAX_MINOR_AMOUNT:
            code = ResultCode.OVERFLOWS_DEBITS
        elif credit.credits_pending + credit.credits_posted + amount > MAX_MINOR_AMOUNT:
            code = ResultCode.OVERFLOWS_CREDITS
        if code is not None:
            raise _Refused(code)

    @staticmethod
    def _check_funds(debit: AccountState, credit: AccountState, amount: int) -> None:
        """The limit flags, counting reservations already made."""
        if debit.debits_must_not_exceed_credits:
            room = debit.credits_posted - debit.debits_posted - debit.debits_pending
            if amount > room:
                raise _Refused(
                    ResultCode.EXCEEDS_CREDITS,
                    f"account {debit.id} can be debited {room} more, {amount} requested",
                )
        if credit.credits_must_not_exceed_debits:
            room = credit.debits_posted - credit.credits_posted - credit.credits_pending
            if amount > room:
                raise _Refused(
                    ResultCode.EXCEEDS_DEBITS,
                    f"account {credit.id} can be credited {room} more, {amount} requested",
                )

    # -- idempotency -----------------------------------------------------------------------

    def _difference(self, op: Operation, e: Transfer) -> ResultCode | None:
        """The first field in which ``op`` differs from the stored transfer ``e``, if any."""
        R = ResultCode
        checks: list[tuple[bool, ResultCode]]
        if isinstance(op, TransferSpec):
            kind = TransferKind.PENDING if op.pending else TransferKind.POSTED
            checks = [
                (e.kind is kind, R.EXISTS_WITH_DIFFERENT_KIND),
                (e.debit_account_id == op.debit, R.EXISTS_WITH_DIFFERENT_DEBIT),
                (e.credit_account_id == op.credit, R.EXISTS_WITH_DIFFERENT_CREDIT),
                (e.amount == op.amount, R.EXISTS_WITH_DIFFERENT_AMOUNT),
                (e.currency == op.currency.upper(), R.EXISTS_WITH_DIFFERENT_CURRENCY),
                (e.reverses_id is None, R.EXISTS_WITH_DIFFERENT_REVERSES),
                (e.timeout_seconds == op.timeout_seconds, R.EXISTS_WITH_DIFFERENT_TIMEOUT),
                (e.code == op.code, R.EXISTS_WITH_DIFFERENT_CODE),
                (e.reference == op.reference, R.EXISTS_WITH_DIFFERENT_REFERENCE),
                (e.metadata == op.metadata, R.EXISTS_WITH_DIFFERENT_METADATA),
            ]
        elif isinstance(op, Reversal):
            target = self._state.transfers.get(op.reverses)
            code = op.code if op.code is not None else DEFAULT_REVERSAL_CODE
            reference = op.reference
            if reference is None:
                reference = target.reference if target is not None else e.reference
            checks = [
                (e.kind is TransferKind.POSTED, R.EXISTS_WITH_DIFFERENT_KIND),
                (e.reverses_id == op.reverses, R.EXISTS_WITH_DIFFERENT_REVERSES),
                (e.code == code, R.EXISTS_WITH_DIFFERENT_CODE),
                (e.reference == reference, R.EXISTS_WITH_DIFFERENT_REFERENCE),
                (e.metadata == op.metadata, R.EXISTS_WITH_DIFFERENT_METADATA),
            ]
        else:
            kind = {
                PostPending: TransferKind.POST_PENDING,
                VoidPending: TransferKind.VOID_PENDING,
                Expiry: TransferKind.EXPIRE_PENDING,
            }[type(op)]
            pending = self._state.transfers.get(op.pending_id)
            checks = [
                (e.kind is kind, R.EXISTS_WITH_DIFFERENT_KIND),
                (e.pending_id == op.pending_id, R.EXISTS_WITH_DIFFERENT_PENDING_ID),
            ]
            if isinstance(op, PostPending):
                amount = e.released if op.amount is None else op.amount
                checks.append((e.amount == amount, R.EXISTS_WITH_DIFFERENT_AMOUNT))
            if not isinstance(op, Expiry):
                code, reference = op.code, op.reference
                if pending is not None:
                    code = pending.code if code is None else code
                    reference = pending.reference if reference is None else reference
                checks += [
                    (code is None or e.code == code, R.EXISTS_WITH_DIFFERENT_CODE),
                    (
                        reference is None or e.reference == reference,
                        R.EXISTS_WITH_DIFFERENT_REFERENCE,
                    ),
                    (e.metadata == op.metadata, R.EXISTS_WITH_DIFFERENT_METADATA),
                ]
        for same, code_if_not in checks:
            if not same:
                return code_if_not
        return None

    # -- effects ---------------------------------------------------------------------------

    def _row(self, **fields: Any) -> Transfer:
        return new_transfer(self._now, **fields)

    def _apply(self, transfer: Transfer, sign: int = 1) -> None:
        debit = self._state.accounts[transfer.debit_account_id]
        credit = self._state.accounts[transfer.credit_account_id]
        posted = sign * transfer.posted_amount
        pending = sign * transfer.pending_change
        debit.debits_posted += posted
        debit.debits_pending += pending
        credit.credits_posted += posted
        credit.credits_pending += pending
        state = self._state
        if sign > 0:
            state.transfers[transfer.id] = transfer
            self._transfers.append(transfer)
            if transfer.kind in RESOLUTIONS and transfer.pending_id is not None:
                state.resolutions[transfer.pending_id] = transfer
            if transfer.reverses_id is not None:
                state.reversals[transfer.reverses_id] = transfer

    def _unapply(self, transfer: Transfer) -> None:
        self._apply(transfer, sign=-1)
        state = self._state
        del state.transfers[transfer.id]
        removed = self._transfers.pop()
        assert removed is transfer, "chains are undone last-in first-out"
        if transfer.pending_id is not None:
            state.resolutions.pop(transfer.pending_id, None)
        if transfer.reverses_id is not None:
            state.reversals.pop(transfer.reverses_id, None)
