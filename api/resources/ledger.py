"""``/v1/ledger/*``: the ledger itself, for finance — accounts, transfers, verification."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get
from litestar.params import QueryParameter

from api.auth import ADMIN, FINANCE, roles
from api.context import SessionDep
from api.pagination import PAGE, PageDep, list_object
from settlement.ledger import Account, Ledger, Transfer, verify

Filter = Annotated[str | None, QueryParameter(max_length=120)]


def render_account(account: Account) -> dict[str, Any]:
    totals = account.totals
    return {
        "id": account.id,
        "object": "ledger_account",
        "owner": account.owner,
        "purpose": account.purpose,
        "currency": account.currency.lower(),
        "normal": str(account.normal),
        "debits_must_not_exceed_credits": account.debits_must_not_exceed_credits,
        "credits_must_not_exceed_debits": account.credits_must_not_exceed_debits,
        "debits_posted": totals.debits_posted,
        "credits_posted": totals.credits_posted,
        "debits_pending": totals.debits_pending,
        "credits_pending": totals.credits_pending,
        "created": int(account.created.timestamp()),
    }


def render_transfer(transfer: Transfer) -> dict[str, Any]:
    return {
        "id": transfer.id,
        "object": "ledger_transfer",
        "kind": str(transfer.kind),
        "debit_account": transfer.debit_account_id,
        "credit_account": transfer.credit_account_id,
        "amount": transfer.amount,
        "currency": transfer.currency.lower(),
        "released": transfer.released,
        "pending_id": transfer.pending_id,
        "reverses": transfer.reverses_id,
        "code": transfer.code,
        "reference": transfer.reference,
        "journal": transfer.journal_id,
        "timestamp": int(transfer.timestamp.timestamp()),
        "metadata": transfer.metadata,
        "checksum": transfer.checksum,
    }


FINANCE_ONLY = roles(FINANCE, ADMIN)


@get(
    "/v1/ledger/accounts", sync_to_thread=True, opt=FINANCE_ONLY, dependencies=PAGE, tags=["ledger"]
)
def ledger_accounts(
    session: SessionDep,
    page: PageDep,
    owner: Filter = None,
    purpose: Filter = None,
    currency: Filter = None,
) -> dict[str, Any]:
    found = Ledger(session).accounts(
        owner=owner,
        purpose=purpose,
        currency=currency.upper() if currency else None,
        limit=page.limit,
        starting_after=page.starting_after,
        ending_before=page.ending_before,
    )
    return list_object(
        "/v1/ledger/accounts", [render_account(a) for a in found.data], found.has_more
    )


@get(
    "/v1/ledger/transfers",
    sync_to_thread=True,
    opt=FINANCE_ONLY,
    dependencies=PAGE,
    tags=["ledger"],
)
def ledger_transfers(
    session: SessionDep,
    page: PageDep,
    account: Filter = None,
    reference: Filter = None,
    code: Filter = None,
    currency: Filter = None,
    journal: Filter = None,
) -> dict[str, Any]:
    found = Ledger(session).transfers(
        account_id=account,
        reference=reference,
        code=code,
        currency=currency.upper() if currency else None,
        journal_id=journal,
        limit=page.limit,
        starting_after=page.starting_after,
        ending_before=page.ending_before,
    )
    return list_object(
        "/v1/ledger/transfers", [render_transfer(t) for t in found.data], found.has_more
    )


@get("/v1/ledger/verify", sync_to_thread=True, opt=FINANCE_ONLY, tags=["ledger"])
def ledger_verify(session: SessionDep) -> dict[str, Any]:
    """Every invariant, checked now: balanced currencies, totals, limits, journals."""
    report = verify(session)
    return {
        "object": "ledger_verification",
        "ok": report.ok,
        "accounts": report.accounts,
        "transfers": report.transfers,
        "journals": report.journals,
        "problems": [
            {"check": p.check, "subject": p.subject, "message": p.message} for p in report.problems
        ],
        "truncated": report.truncated,
    }


ROUTES = [ledger_accounts, ledger_transfers, ledger_verify]
