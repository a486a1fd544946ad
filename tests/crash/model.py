"""The client's model of what Corridor acknowledged, and what that predicts.

An operation enters the model only when the client got a 2xx for it (possibly a replay
of a response whose first delivery the crash swallowed), or a 402 decline, which
Corridor also commits. A definitive 4xx refusal leaves the model untouched: the server
promised it changed nothing. From the acknowledged objects alone the model predicts
every merchant's balance, every object's final state and how many of each money
movement the ledger must hold; :mod:`tests.crash.audit` compares that with the database.

Fees are computed here independently of ``settlement.fees`` (that is what is checked):
the harness gives each merchant a fee schedule of 2.9 % + 30 per capture (each line
rounded half up), 10 per refund (capture fees kept) and 25 per payout.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

PERCENT_PPM: Final = 29_000
FIXED_FEE: Final = 30
REFUND_FEE: Final = 10
PAYOUT_FEE: Final = 25
CURRENCY: Final = "eur"


def capture_fee(amount: int) -> int:
    """2.9 % rounded half up to the cent, plus the fixed 30."""
    return (amount * PERCENT_PPM + 500_000) // 1_000_000 + FIXED_FEE


@dataclass
class Intent:
    id: str
    account: str
    amount: int
    capture_method: str
    status: str
    amount_received: int = 0
    amount_capturable: int = 0
    refunded: int = 0
    idempotency_key: str = ""
    method: str = "card"
    busy: bool = False
    """A capture, cancel or confirm is in flight (one lifecycle change at a time)."""


@dataclass
class Refund:
    id: str
    intent: str
    account: str
    amount: int
    status: str


@dataclass
class Payout:
    id: str
    account: str
    amount: int
    fee: int
    status: str
    busy: bool = False


@dataclass
class Merchant:
    id: str
    key: str
    endpoint_id: str = ""


@dataclass
class Model:
    """Thread-safe: client threads record acknowledgements and pick their next targets."""

    merchants: list[Merchant] = field(default_factory=list)
    intents: dict[str, Intent] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    payouts: dict[str, Payout] = field(default_factory=dict)
    settlement_runs: dict[str, tuple[str, str]] = field(default_factory=dict)
    """run id -> (account, status)."""
    refusals: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- recording acknowledgements ------------------------------------------------------

    def intent_acknowledged(self, body: dict, account: str, key: str) -> Intent:
        with self.lock:
            intent = self.intents.get(body["id"])
            if intent is None:
                intent = Intent(
                    id=body["id"],
                    account=account,
                    amount=body["amount"],
                    capture_method=body["capture_method"],
                    status=body["status"],
                    idempotency_key=key,
                    method=body["payment_method_types"][0],
                )
                self.intents[intent.id] = intent
            intent.status = body["status"]
            intent.amount_received = body["amount_received"]
            intent.amount_capturable = body["amount_capturable"]
            intent.busy = False
            return intent

    def intent_paid(self, intent_id: str) -> None:
        """The provider's notification of the payment was acknowledged (outcome: paid)."""
        with self.lock:
            intent = self.intents[intent_id]
            intent.status = "succeeded"
            intent.amount_received = intent.amount
            intent.amount_capturable = 0

    def refund_acknowledged(self, body: dict, account: str) -> None:
        with self.lock:
            if body["id"] in self.refunds:
                raise AssertionError(f"refund {body['id']} acknowledged twice")
            self.refunds[body["id"]] = Refund(
                body["id"], body["payment_intent"], account, body["amount"], body["status"]
            )
            self.intents[body["payment_intent"]].refunded += body["amount"]

    def payout_acknowledged(self, body: dict, account: str) -> None:
        with self.lock:
            payout = self.payouts.get(body["id"])
            if payout is None:
                payout = Payout(body["id"], account, body["amount"], PAYOUT_FEE, body["status"])
                self.payouts[payout.id] = payout
            payout.status = body["status"]
            payout.busy = False

    def run_acknowledged(self, body: dict) -> None:
        with self.lock:
            self.settlement_runs[body["id"]] = (body["account"], body["status"])

    def refused(self, what: str) -> None:
        with self.lock:
            self.refusals[what] += 1

    # --- choosing targets ----------------------------------------------------------------

    def take_intent(self, rng: random.Random, account: str, statuses: set[str]) -> Intent | None:
        """An idle intent in one of ``statuses``, marked busy for the caller."""
        with self.lock:
            choices = [
                i
                for i in self.intents.values()
                if i.account == account and i.status in statuses and not i.busy
            ]
            if not choices:
                return None
            intent = rng.choice(sorted(choices, key=lambda i: i.id))
            intent.busy = True
            return intent

    def release_intent(self, intent: Intent) -> None:
        with self.lock:
            intent.busy = False

    def refundable(self, rng: random.Random, account: str) -> Intent | None:
        """A captured intent with something left to refund (refunds may run concurrently)."""
        with self.lock:
            choices = [
                i
                for i in self.intents.values()
                if i.account == account
                and i.status == "succeeded"
                and i.refunded < i.amount_received
            ]
            return rng.choice(sorted(choices, key=lambda i: i.id)) if choices else None

    def take_payout(self, rng: random.Random, status: str) -> Payout | None:
        with self.lock:
            choices = [p for p in self.payouts.values() if p.status == status and not p.busy]
            if not choices:
                return None
            payout = rng.choice(sorted(choices, key=lambda p: p.id))
            payout.busy = True
            return payout

    def release_payout(self, payout: Payout) -> None:
        with self.lock:
            payout.busy = False

    # --- predictions ---------------------------------------------------------------------

    def expected_balance(self, account: str) -> int:
        """pending + available + reserve, net of reservations: what the merchant owns."""
        total = 0
        for intent in self.intents.values():
            if intent.account == account and intent.amount_received:
                total += intent.amount_received - capture_fee(intent.amount_received)
        for refund in self.refunds.values():
            if refund.account == account:
                total -= refund.amount + REFUND_FEE
        for payout in self.payouts.values():
            if payout.account == account and payout.status not in ("failed", "canceled"):
                total -= payout.amount + payout.fee
        return total

    def expected_in_flight_payouts(self, account: str) -> int:
        """What payouts not yet answered still hold as pending ledger reservations."""
        return sum(
            p.amount + p.fee
            for p in self.payouts.values()
            if p.account == account and p.status in ("pending", "in_transit")
        )

    def expected_balance_transactions(self, account: str) -> Counter[str]:
        counts: Counter[str] = Counter()
        for intent in self.intents.values():
            if intent.account == account and intent.amount_received:
                counts["charge"] += 1
        counts["refund"] = sum(1 for r in self.refunds.values() if r.account == account)
        for payout in self.payouts.values():
            if payout.account == account:
                counts["payout"] += 1
                if payout.status == "failed":
                    counts["payout_failure"] += 1
        return +counts
