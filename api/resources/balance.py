"""``/v1/balance`` and ``/v1/balance_transactions``: what a merchant holds, and why."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter
from sqlalchemy import select

from api.auth import ADMIN, FINANCE, MERCHANT, roles
from api.context import PrincipalDep, SessionDep
from api.errors import NotFound
from api.pagination import PAGE, PageDep, list_of, owned
from settlement import balance_transactions
from settlement.balance_transactions import BalanceTransaction
from settlement.ledger import Ledger
from settlement.ledger.tables import accounts as ledger_accounts

BUCKETS = {
    "merchant_available": "available",
    "merchant_pending": "pending",
    "merchant_reserve": "reserved",
}


@get("/v1/balance", sync_to_thread=True, opt=roles(MERCHANT, FINANCE, ADMIN))
def balance(session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Stripe's Balance object, read from the merchant's ledger accounts."""
    account_id = principal.require_account()
    ledger = Ledger(session)
    rows = session.execute(
        select(ledger_accounts.c.id, ledger_accounts.c.purpose, ledger_accounts.c.currency).where(
            ledger_accounts.c.owner == account_id,
            ledger_accounts.c.purpose.in_(list(BUCKETS)),
        )
    ).all()
    out: dict[str, list[dict[str, Any]]] = {bucket: [] for bucket in BUCKETS.values()}
    for row in sorted(rows, key=lambda r: (r.purpose, r.currency)):
        amount = ledger.balance(row.id).posted
        out[BUCKETS[row.purpose]].append(
            {"amount": amount, "currency": row.currency.lower(), "source_types": {"card": amount}}
        )
    return {"object": "balance", "livemode": False, **out}


class BalanceTransactionController(Controller):
    path = "/v1/balance_transactions"
    opt = roles(MERCHANT, FINANCE, ADMIN)

    @get("/", sync_to_thread=True, dependencies=PAGE)
    def index(
        self,
        session: SessionDep,
        principal: PrincipalDep,
        page: PageDep,
        type_: Annotated[str | None, QueryParameter(name="type", max_length=40)] = None,
        source: Annotated[str | None, QueryParameter(max_length=40)] = None,
        currency: Annotated[str | None, QueryParameter(max_length=3)] = None,
    ) -> dict[str, Any]:
        where = owned(BalanceTransaction.account_id, principal)
        if type_:
            where.append(BalanceTransaction.type == type_)
        if source:
            where.append(BalanceTransaction.source == source)
        if currency:
            where.append(BalanceTransaction.currency == currency.upper())
        return list_of(
            session,
            BalanceTransaction,
            page,
            "/v1/balance_transactions",
            balance_transactions.render,
            where=where,
            cursor_visible=lambda t: principal.owns(t.account_id),
        )

    @get("/{txn_id:str}", sync_to_thread=True)
    def retrieve(
        self, txn_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        row = session.get(BalanceTransaction, txn_id)
        if row is None or not principal.owns(row.account_id):
            raise NotFound("balance_transaction", txn_id)
        return balance_transactions.render(row)
