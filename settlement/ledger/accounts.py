"""Accounts: found-or-created by (owner, purpose, currency), safely under concurrency.

Two requests that both need a merchant's ``merchant_pending`` EUR account for the first
time must end up with the same account. Creation is therefore
``INSERT ... ON CONFLICT DO NOTHING`` on the unique key followed by a ``SELECT``: the
loser of the race inserts nothing (on PostgreSQL it waits for the winner to commit) and
reads the winner's row. No savepoint, no retry.
"""

from __future__ import annotations

import re
import weakref
from typing import Final

from sqlalchemy import Engine, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.database import dropped_on_rollback, utcnow
from core.ids import new_id
from core.money import currency_code

from .codes import LedgerError
from .purposes import AccountPolicy, Side, policy_for
from .records import Account
from .storage.rows import ACCOUNT_COLUMNS, account_from_row
from .tables import accounts

ACCOUNT_ID_PREFIX: Final = "la"
PLATFORM: Final = "platform"
"""The owner of the platform's own accounts (fees, FX positions, bank, clearing)."""

_OWNER = re.compile(r"[!-~]{1,64}")
_PURPOSE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_COLUMNS = [accounts.columns[name] for name in ACCOUNT_COLUMNS]


def resolve_policy(
    purpose: str,
    normal: Side | str | None,
    debits_must_not_exceed_credits: bool | None,
    credits_must_not_exceed_debits: bool | None,
) -> AccountPolicy:
    """The policy an account of ``purpose`` must have, given any explicit choices.

    A known purpose fixes the policy; explicit arguments may repeat it but not change it.
    An ad-hoc purpose needs ``normal``; its flags default to off.
    """
    known = policy_for(purpose)
    if known is None:
        if normal is None:
            raise LedgerError(
                "account_normal_side_required",
                message=f"purpose {purpose!r} is not in the purpose table; state its normal side",
            )
        return AccountPolicy(
            normal=Side(normal),
            debits_must_not_exceed_credits=bool(debits_must_not_exceed_credits),
            credits_must_not_exceed_debits=bool(credits_must_not_exceed_debits),
        )
    explicit = {
        "normal": Side(normal) if normal is not None else None,
        "debits_must_not_exceed_credits": debits_must_not_exceed_credits,
        "credits_must_not_exceed_debits": credits_must_not_exceed_debits,
    }
    for name, value in explicit.items():
        if value is not None and value != getattr(known, name):
            raise LedgerError(
                "account_policy_conflict",
                message=f"purpose {purpose!r} has {name}={getattr(known, name)}, not {value}",
            )
    return known


def same_policy(account: Account, policy: AccountPolicy) -> bool:
    return (
        account.normal is policy.normal
        and account.debits_must_not_exceed_credits == policy.debits_must_not_exceed_credits
        and account.credits_must_not_exceed_debits == policy.credits_must_not_exceed_debits
    )


def _find(session: Session, owner: str, purpose: str, currency: str) -> Account | None:
    row = session.execute(
        select(*_COLUMNS).where(
            accounts.c.owner == owner,
            accounts.c.purpose == purpose,
            accounts.c.currency == currency,
        )
    ).first()
    return account_from_row(row) if row is not None else None


def find_or_create(
    session: Session, owner: str, purpose: str, currency: str, policy: AccountPolicy
) -> Account:
    if not isinstance(owner, str) or not _OWNER.fullmatch(owner):
        raise LedgerError("account_owner_invalid", message=f"owner {owner!r} is not valid")
    if not isinstance(purpose, str) or not _PURPOSE.fullmatch(purpose):
        raise LedgerError("account_purpose_invalid", message=f"purpose {purpose!r} is not valid")
    currency = currency_code(currency)
    account = _find(session, owner, purpose, currency)
    if account is None:
        dialect = session.get_bind().dialect.name
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
        session.execute(
            insert(accounts)
            .values(
                id=new_id(ACCOUNT_ID_PREFIX),
                owner=owner,
                purpose=purpose,
                currency=currency,
                normal=str(policy.normal),
                debits_must_not_exceed_credits=policy.debits_must_not_exceed_credits,
                credits_must_not_exceed_debits=policy.credits_must_not_exceed_debits,
                debits_pending=0,
                debits_posted=0,
                credits_pending=0,
                credits_posted=0,
                created=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["owner", "purpose", "currency"])
        )
        account = _find(session, owner, purpose, currency)
        assert account is not None, "the account exists once the insert is settled"
    if not same_policy(account, policy):
        raise LedgerError(
            "account_exists_with_different_flags",
            message=f"account {account.id} ({owner}, {purpose}, {currency}) has other flags",
        )
    return account


def get(session: Session, account_id: str) -> Account | None:
    row = session.execute(select(*_COLUMNS).where(accounts.c.id == account_id)).first()
    return account_from_row(row) if row is not None else None


# --- ids of committed accounts, remembered per database ---------------------------------

Key = tuple[str, str, str]
"""(owner, purpose, currency)."""

_known: weakref.WeakKeyDictionary[Engine, dict[Key, Account]] = weakref.WeakKeyDictionary()
"""Accounts this process has seen committed, per database. An account's id and policy
never change and accounts are never deleted, so the posting path (a capture's journal
names four or five accounts) need not look them up again. Only identity is served from
here: the totals in these records are stale by design."""
_SEEN = dropped_on_rollback("ledger_accounts_seen")
"""``session.info`` key: accounts looked up in the current transaction, remembered once
it commits (an account created by a transaction that rolls back never existed)."""
_MAX_KNOWN = 100_000


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def known_id(session: Session, key: Key, policy: AccountPolicy) -> str | None:
    """The id of the committed account ``key``, if this process has seen it and its
    policy is ``policy`` (otherwise the caller looks it up, and reports a conflict)."""
    known = _known.get(_engine(session), {}).get(key)
    return known.id if known is not None and same_policy(known, policy) else None


def seen(session: Session, key: Key, account: Account) -> None:
    """Remember ``account`` for the process once this transaction commits."""
    session.info.setdefault(_SEEN, {})[key] = account


@event.listens_for(Session, "after_commit")
def _remember_seen(session: Session) -> None:
    found = session.info.pop(_SEEN, None)
    if found:
        known = _known.setdefault(_engine(session), {})
        if len(known) > _MAX_KNOWN:
            known.clear()
        known.update(found)
