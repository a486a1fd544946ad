"""The Payout object in Stripe's shape (what ``/v1/payouts`` and ``payout.*`` events show)."""

from __future__ import annotations

from typing import Any

from settlement.payouts.tables import Payout


def render_payout(payout: Payout) -> dict[str, Any]:
    destination = payout.destination or {}
    return {
        "id": payout.id,
        "object": "payout",
        "amount": payout.amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": int(payout.arrival_date.timestamp()),
        "automatic": payout.automatic,
        "balance_transaction": payout.balance_transaction_id,
        "created": int(payout.created.timestamp()),
        "currency": payout.currency.lower(),
        "description": payout.description,
        "destination": destination.get("id"),
        "failure_balance_transaction": payout.failure_balance_transaction_id,
        "failure_code": payout.failure_code,
        "failure_message": payout.failure_message,
        "livemode": False,
        "metadata": dict(payout.metadata_ or {}),
        "method": payout.method,
        "original_payout": None,
        "reconciliation_status": "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": payout.statement_descriptor,
        "status": payout.status,
        "type": "bank_account",
    }
