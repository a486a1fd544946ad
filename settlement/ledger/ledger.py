"""The ledger's one entry point: :class:`Ledger`, bound to the caller's session.

The ledger runs inside the caller's transaction, so a business state change (an intent
captured, a payout sent) and its postings commit or roll back together. It never
commits or rolls back itself. Postings lock the accounts they touch until that
transaction ends, so keep the transaction short, and run it through
:meth:`core.database.Database.run`, which retries the deadlocks, serialization failures
and lost id races (:class:`~core.database.RetryableConflict`) a posting can meet.

A posting is three steps (see :mod:`.storage`): read the transfers the operations refer
to (if any), lock the accounts in id order while looking up existing and failed ids,
then let the pure :class:`~.engine.Engine` decide and write its outcome in one
statement. The commonest posting, one transfer without a journal, first tries the
backend's one-round-trip path (:meth:`.storage.Store.try_lone`), which applies it only
when every rule holds and otherwise leaves the decision to the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, event, exists, select
from sqlalchemy.orm import Session, SessionTransaction

from core.database import before_commit, run_early, utcnow
from core.ids import new_id

from . import accounts as account_store
from .accounts import PLATFORM
from .balances import balance as _balance
from .codes import LedgerError, ResultCode
from .engine import Chain, Engine, LedgerState, make_plan, planned_transfer
from .exchange import Exchange, exchange_legs
from .listing import list_accounts, list_transfers
from .purposes import Side
from .records import (
    RESOLUTIONS,
    Account,
    Balance,
    JournalRecord,
    Page,
    Statement,
    Transfer,
    TransferKind,
    TransferResult,
)
from .specs import (
    Expiry,
    Journal,
    Metadata,
    Operation,
    PostPending,
    Reversal,
    TransferSpec,
    VoidPending,
)
from .statement import statement as _statement
from .storage import Store, store_for
from .storage.rows import TRANSFER_COLUMNS, journal_from_row, transfer_from_row
from .tables import journals, transfers
from .verify import VerifyReport, verify

JOURNAL_ID_PREFIX = "jrn"


def new_journal_id() -> str:
    return new_id(JOURNAL_ID_PREFIX)


def _account_key(owner: str, purpose: str, currency: str) -> account_store.Key:
    return (owner, purpose, currency.upper() if isinstance(currency, str) else currency)


def _target(op: Operation) -> str | None:
    if isinstance(op, PostPending | VoidPending | Expiry):
        return op.pending_id
    if isinstance(op, Reversal):
        return op.reverses
    return None


def _raise_root_failure(results: Sequence[TransferResult]) -> None:
    """Raise :class:`LedgerError` for the first operation refused for its own reason (the
    root cause, not a ``linked_event_failed``), if any was refused."""
    failures = [r for r in results if not r.ok]
    if failures:
        root = next(
            (r for r in failures if r.code is not ResultCode.LINKED_EVENT_FAILED), failures[0]
        )
        root.check()


_QUEUED = "ledger_post_at_commit"
"""``session.info`` key: the postings :meth:`Ledger.post_at_commit` queued, in order."""


@event.listens_for(Session, "after_transaction_end")
def _forget_queued(session: Session, transaction: SessionTransaction) -> None:
    """A session outlives its transactions (a worker's, a benchmark writer's): what the
    ended transaction queued has posted or been dropped with it."""
    if transaction.parent is None:
        session.info.pop(_QUEUED, None)


@dataclass
class _Queued:
    """A posting queued by :meth:`Ledger.post_at_commit`; it runs once, at commit or
    earlier when the transaction reads or posts through the ledger first."""

    ops: list[Operation]
    journal: Journal | None
    journal_id: str | None
    clock: Callable[[], dt.datetime]
    done: bool = False

    def __call__(self, session: Session) -> None:
        if self.done:
            return
        self.done = True
        ledger = Ledger(session, clock=self.clock)
        if self.journal is None:
            ledger.post_or_raise(self.ops)
            return
        journal_id = self.journal_id
        assert journal_id is not None
        chains = ledger._execute([Chain(self.ops, self.journal)], journal_id=lambda: journal_id)
        _raise_root_failure([r for chain in chains for r in chain])

    def run_and_commit(self, session: Session) -> bool:
        """Post and commit in one round trip where the backend can (a lone transfer on
        PostgreSQL: :meth:`.storage.Store.try_lone_and_commit`); otherwise post as
        :meth:`__call__` does and leave the commit to the caller. See
        :class:`core.database.CommittingWork`."""
        op = self.ops[0]
        lone = not self.done and self.journal is None and len(self.ops) == 1
        transfer = (
            planned_transfer(op, self.clock()) if lone and isinstance(op, TransferSpec) else None
        )
        if transfer is None:
            self(session)
            return False
        if store_for(session).try_lone_and_commit(transfer):
            self.done = True
            return True
        # A rule failed in the database: the engine decides (straight away, since
        # post_or_raise would first try the same one-statement path again).
        self.done = True
        results = Ledger(session, clock=self.clock)._execute([Chain([op])])
        _raise_root_failure(results[0])
        return False


class Ledger:
    """Accounts, postings and reads over one SQLAlchemy session.

    ``clock`` stamps postings (UTC-aware); tests inject their own.
    """

    def __init__(self, session: Session, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.session = session
        self._clock = clock
        self._accounts: dict[tuple[str, str, str], Account] = {}

    @property
    def store(self) -> Store:
        """The storage backend on the session's current connection (a session may move to
        another pooled connection between transactions; :func:`.storage.store_for` keeps
        one store per pooled connection)."""
        return store_for(self.session)

    # -- accounts ------------------------------------------------------------------------

    def account(
        self,
        owner: str,
        purpose: str,
        currency: str,
        *,
        normal: Side | str | None = None,
        debits_must_not_exceed_credits: bool | None = None,
        credits_must_not_exceed_debits: bool | None = None,
    ) -> Account:
        """The account of ``(owner, purpose, currency)``, created on first use.

        Known purposes take their normal side and flags from the purpose table
        (:mod:`.purposes`); an ad-hoc purpose must give ``normal`` (flags default off).
        Accounts are remembered per :class:`Ledger`, so the returned record's totals are
        those read at the first lookup; read current ones with :meth:`balance`.
        """
        policy = account_store.resolve_policy(
            purpose, normal, debits_must_not_exceed_credits, credits_must_not_exceed_debits
        )
        key = _account_key(owner, purpose, currency)
        cached = self._accounts.get(key)
        if cached is None:
            cached = account_store.find_or_create(self.session, owner, purpose, currency, policy)
            self._accounts[key] = cached
        elif not account_store.same_policy(cached, policy):
            raise LedgerError(
                "account_exists_with_different_flags",
                message=f"account {cached.id} ({owner}, {purpose}, {key[2]}) has other flags",
            )
        return cached

    def account_id(
        self, owner: str, purpose: str, currency: str, *, normal: Side | str | None = None
    ) -> str:
        """The id of :meth:`account` (created on first use), without a round trip when
        this process has seen the account committed: for postings, which need only ids.
        """
        policy = account_store.resolve_policy(purpose, normal, None, None)
        key = _account_key(owner, purpose, currency)
        known = account_store.known_id(self.session, key, policy)
        if known is not None:
            return known
        account = self.account(owner, purpose, currency, normal=normal)
        account_store.seen(self.session, key, account)
        return account.id

    def platform_account(self, purpose: str, currency: str) -> Account:
        """Shorthand for the platform's own account of ``purpose`` in ``currency``."""
        return self.account(PLATFORM, purpose, currency)

    def get_account(self, account_id: str) -> Account | None:
        return account_store.get(self.session, account_id)

    # -- posting ---------------------------------------------------------------------------

    def post(
        self, ops: Sequence[Operation], journal: bool | Journal = False
    ) -> list[TransferResult]:
        """Post ``ops``; one result per operation, in order.

        ``journal=False``: each operation succeeds or fails on its own (a batch).
        ``journal=True`` or a :class:`Journal` header: all or nothing, recorded under one
        journal id; on failure the failing operation reports its code and the others
        ``linked_event_failed``.
        """
        self._post_queued()
        if not ops:
            if journal:
                raise ValueError("a journal needs at least one operation")
            return []
        if journal is False and len(ops) == 1 and isinstance(ops[0], TransferSpec):
            fast = self._post_lone(ops[0])
            if fast is not None:
                return [fast]
        if journal is False:
            chains = [Chain([op]) for op in ops]
        else:
            first = ops[0]
            header = (
                journal
                if isinstance(journal, Journal)
                else Journal(
                    code=getattr(first, "code", None) or "journal",
                    reference=getattr(first, "reference", None) or "",
                )
            )
            chains = [Chain(list(ops), header)]
        return [r for chain in self._execute(chains) for r in chain]

    def post_journals(
        self, batch: Sequence[tuple[Journal, Sequence[Operation]]]
    ) -> list[list[TransferResult]]:
        """Post several independent journals in one round of statements."""
        self._post_queued()
        if not batch:
            return []
        return self._execute([Chain(list(ops), header) for header, ops in batch])

    def post_or_raise(
        self, ops: Sequence[Operation], journal: bool | Journal = False
    ) -> list[TransferResult]:
        """:meth:`post`, raising :class:`LedgerError` for the first operation not in the
        ledger (the root cause, not a ``linked_event_failed``). Operations of an
        independent batch that did succeed are still in the session: let the exception
        roll the caller's transaction back."""
        results = self.post(ops, journal)
        _raise_root_failure(results)
        return results

    def post_at_commit(
        self, ops: Sequence[Operation], journal: Journal | None = None
    ) -> str | None:
        """Queue ``ops`` to post as the transaction's last step; return the id of the
        journal they will form (``None`` for an independent batch).

        For postings on accounts that every payment touches (the platform's clearing and
        authorisation accounts, a busy merchant's pending balance): a posting locks its
        accounts until the transaction ends, so posting early in a request holds those
        rows for the rest of it and serialises every concurrent payment behind it.
        Queued, the locks are held for the posting and the commit alone.

        The operations are checked when they post, like :meth:`post_or_raise`: a
        refusal raises :class:`LedgerError` from the commit and rolls the whole
        transaction back. So queue only postings that cannot be refused unless the books
        are already wrong (no limit they could cross); post the others with
        :meth:`post_or_raise` and handle the refusal. Any posting or read through a
        :class:`Ledger` on the same session first posts what is queued, in order, so the
        transaction always sees its own postings.
        """
        if not ops:
            raise ValueError("nothing to post")
        journal_id = new_journal_id() if journal is not None else None
        work = _Queued(list(ops), journal, journal_id, self._clock)
        self.session.info.setdefault(_QUEUED, []).append(work)
        before_commit(self.session, work)
        return journal_id

    def _post_queued(self) -> None:
        """Post whatever :meth:`post_at_commit` queued on this session, now and in order."""
        for work in self.session.info.pop(_QUEUED, ()):
            run_early(self.session, work)

    def post_pending(
        self,
        pending_id: str,
        *,
        id: str,
        amount: int | None = None,
        code: str | None = None,
        reference: str | None = None,
        metadata: Metadata | None = None,
    ) -> TransferResult:
        """Post the reservation ``pending_id``, all of it or ``amount``; the rest is released."""
        op = PostPending(id, pending_id, amount, code, reference, metadata or {})
        return self.post([op])[0]

    def void_pending(
        self,
        pending_id: str,
        *,
        id: str,
        code: str | None = None,
        reference: str | None = None,
        metadata: Metadata | None = None,
    ) -> TransferResult:
        """Release the reservation ``pending_id``."""
        return self.post([VoidPending(id, pending_id, code, reference, metadata or {})])[0]

    def reverse(
        self,
        transfer_id: str,
        *,
        id: str,
        code: str | None = None,
        reference: str | None = None,
        metadata: Metadata | None = None,
    ) -> TransferResult:
        """Write the transfer that undoes ``transfer_id`` (same amount, sides swapped)."""
        return self.post([Reversal(id, transfer_id, code, reference, metadata or {})])[0]

    def expire_pending(
        self, now: dt.datetime | None = None, *, limit: int = 1000
    ) -> list[TransferResult]:
        """Void up to ``limit`` reservations whose timeout is at or before ``now``.

        Each expiry is a transfer of kind ``expire_pending`` with the deterministic id
        ``ledger:expire:<pending id>``, so two sweepers never expire one reservation twice.
        """
        now = now or self._clock()
        t = transfers.c
        resolution = transfers.alias("resolution")
        query = (
            select(t.id)
            .where(
                t.kind == TransferKind.PENDING.value,
                t.timeout_at.is_not(None),
                t.timeout_at <= now,
                ~exists().where(
                    and_(
                        resolution.c.pending_id.is_not(None),
                        resolution.c.pending_id == t.id,
                    )
                ),
            )
            .order_by(t.timeout_at, t.seq)
            .limit(limit)
        )
        due = list(self.session.execute(query).scalars())
        if not due:
            return []
        chains = [Chain([Expiry.of(pending_id)]) for pending_id in due]
        return [r for chain in self._execute(chains, now=now) for r in chain]

    # -- cross-currency --------------------------------------------------------------------

    def exchange_legs(self, exchange: Exchange) -> tuple[list[TransferSpec], Journal]:
        """The legs and journal header of a currency exchange (see :mod:`.exchange`), for
        composing with other legs into one journal."""
        positions = {
            currency.upper(): self.platform_account("fx_position", currency).id
            for currency in (exchange.source_currency, exchange.target_currency)
        }
        rounding = self.platform_account("fx_rounding", exchange.target_currency).id
        return exchange_legs(exchange, positions, rounding)

    def exchange(
        self, exchange: Exchange, *, extra: Iterable[Operation] = ()
    ) -> list[TransferResult]:
        """Post an exchange (plus ``extra`` legs) as one journal recording rate and quote."""
        legs, header = self.exchange_legs(exchange)
        return self.post([*extra, *legs], journal=header)

    # -- reads -----------------------------------------------------------------------------

    def balance(self, account_id: str, as_of: dt.datetime | None = None) -> Balance:
        self._post_queued()
        return _balance(self.session, account_id, as_of)

    def statement(
        self, account_id: str, *, limit: int = 100, starting_after: str | None = None
    ) -> Statement:
        self._post_queued()
        return _statement(self.session, account_id, limit=limit, starting_after=starting_after)

    def accounts(
        self,
        *,
        owner: str | None = None,
        purpose: str | None = None,
        currency: str | None = None,
        limit: int = 100,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> Page[Account]:
        self._post_queued()
        return list_accounts(
            self.session,
            owner=owner,
            purpose=purpose,
            currency=currency,
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
        )

    def transfers(
        self,
        *,
        account_id: str | None = None,
        reference: str | None = None,
        code: str | None = None,
        currency: str | None = None,
        journal_id: str | None = None,
        kind: str | None = None,
        limit: int = 100,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> Page[Transfer]:
        self._post_queued()
        return list_transfers(
            self.session,
            account_id=account_id,
            reference=reference,
            code=code,
            currency=currency,
            journal_id=journal_id,
            kind=kind,
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
        )

    def transfer(self, transfer_id: str) -> Transfer | None:
        self._post_queued()
        row = self.session.execute(
            select(*[transfers.columns[c] for c in TRANSFER_COLUMNS]).where(
                transfers.c.id == transfer_id
            )
        ).first()
        return transfer_from_row(row) if row is not None else None

    def journal(self, journal_id: str) -> JournalRecord | None:
        self._post_queued()
        row = self.session.execute(
            select(
                journals.c.id,
                journals.c.code,
                journals.c.reference,
                journals.c.rate,
                journals.c.quote_id,
                journals.c.metadata,
                journals.c.created,
            ).where(journals.c.id == journal_id)
        ).first()
        return journal_from_row(row) if row is not None else None

    def verify(self) -> VerifyReport:
        self._post_queued()
        return verify(self.session)

    # -- the posting pipeline --------------------------------------------------------------

    def _post_lone(self, op: TransferSpec) -> TransferResult | None:
        """The common case, one transfer and no journal, applied in one round trip where
        the backend can; ``None`` when the engine must decide (any rule failed, or the
        id may exist), having written nothing."""
        now = self._clock()
        transfer = planned_transfer(op, now)
        if transfer is None:
            return None
        seq = self.store.try_lone(transfer)
        if seq is None:
            return None
        object.__setattr__(transfer, "seq", seq)  # not yet seen by anyone: see _execute
        return TransferResult(op.id, ResultCode.OK, transfer)

    def _execute(
        self,
        chains: list[Chain],
        *,
        now: dt.datetime | None = None,
        journal_id: Callable[[], str] = new_journal_id,
    ) -> list[list[TransferResult]]:
        now = now or self._clock()
        if now.tzinfo is None:
            raise ValueError("the ledger clock must return timezone-aware UTC datetimes")
        store = self.store
        plan = make_plan(chains, now, journal_id)  # before any lock is taken
        store.prepare(plan.rows.values())
        ops = [op for chain in chains for op in chain.ops]
        ids = {op.id for op in ops}
        targets = {target for op in ops if (target := _target(op)) is not None}
        account_ids: set[str] = set()
        for op in ops:
            if isinstance(op, TransferSpec):
                account_ids.update((op.debit, op.credit))
        if targets:
            for target in store.read_transfers(targets):
                account_ids.update((target.debit_account_id, target.credit_account_id))
        locked, found, failed = store.lock_and_probe(account_ids, ids, targets)
        state = LedgerState(accounts=locked, failed=failed)
        for transfer in found:
            if transfer.id in ids or transfer.id in targets:
                state.transfers[transfer.id] = transfer
            if transfer.pending_id in targets and transfer.kind in RESOLUTIONS:
                state.resolutions[transfer.pending_id] = transfer
            if transfer.reverses_id in targets:
                state.reversals[transfer.reverses_id] = transfer
        # A target that appeared between the unlocked read and the locks: lock its
        # accounts too (out of order; a resulting deadlock is retried by the caller).
        late = {
            account_id
            for target in targets
            if (transfer := state.transfers.get(target)) is not None
            for account_id in (transfer.debit_account_id, transfer.credit_account_id)
        } - locked.keys()
        if late:
            locked.update(store.lock_and_probe(late, (), ())[0])
        outcome = Engine(state, now, journal_id).run(chains, plan)
        seqs = store.write(outcome)
        if not seqs:
            return outcome.results
        for transfer in outcome.transfers:
            # These records were made by this posting and are not yet visible to anyone:
            # stamping the database's sequence number on them in place is safe, and much
            # cheaper than copying thousands of frozen records.
            object.__setattr__(transfer, "seq", seqs[transfer.id])
        return outcome.results
