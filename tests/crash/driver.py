"""The traffic and the faults of a crash run: client threads, a seeded mix, SIGKILLs.

Client threads each draw operations from a seeded mix (card payments automatic and
manual, split create/confirm, declines, full and partial captures, cancels, wallet and
bank-transfer payments completed by the provider's signed notification — now and then
delivered twice —, refunds — some fired concurrently at one charge —, settlement runs
with the finance key, payouts and the bank's answers) for the merchants of the run, and
record every acknowledgement in the :class:`~tests.crash.model.Model`. Meanwhile a
fault thread SIGKILLs the API or the worker at planned random moments and restarts it
after a short pause.

Every draw comes from ``random.Random(seed, ...)``; the interleaving with the kills is
the part no seed controls, which is the point.
"""

from __future__ import annotations

import concurrent.futures
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from payments.rails.bank_transfer import build_credit_advice
from payments.rails.base import SignedMessage
from payments.rails.wallet import build_notification
from tests.crash.client import Client, Declined, GaveUp, Refused, Stats
from tests.crash.deployment import Deployment
from tests.crash.model import CURRENCY, Intent, Merchant, Model

DAY = 86400

WEIGHTS: dict[str, int] = {
    "pay_automatic": 22,
    "pay_manual": 12,
    "create_unconfirmed": 6,
    "confirm": 6,
    "pay_declined": 3,
    "pay_wallet": 5,
    "pay_bank_transfer": 4,
    "capture": 10,
    "cancel": 4,
    "refund": 9,
    "refund_race": 4,
    "settle": 4,
    "payout": 6,
    "bank_answer": 6,
}


@dataclass(frozen=True)
class Kill:
    at: float
    """Seconds into the driving window."""
    role: str
    down_for: float


def plan_kills(rng: random.Random, seconds: float, count: int) -> list[Kill]:
    """``count`` kills spread over the window, both roles at least twice when count >= 4."""
    roles = ["api", "worker"] * (count // 2) + [rng.choice(["api", "worker"])] * (count % 2)
    rng.shuffle(roles)
    moments = sorted(rng.uniform(0.05 * seconds, 0.85 * seconds) for _ in range(count))
    return [Kill(at, role, rng.uniform(0.1, 1.5)) for at, role in zip(moments, roles, strict=True)]


@dataclass
class Faults:
    killed: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)


@dataclass
class Driver:
    deployment: Deployment
    model: Model
    finance_key: str
    seed: int
    threads: int = 6
    provider_secrets: dict[str, str] = field(default_factory=dict)
    """The secrets wallets and the bank sign their notifications with."""
    stats: Stats = field(default_factory=Stats)
    faults: Faults = field(default_factory=Faults)
    problems: list[str] = field(default_factory=list)
    _as_of: int = 0
    _counter: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._as_of = int(time.time()) + 3 * DAY

    # --- the run -----------------------------------------------------------------------

    def run(self, seconds: float, kills: int) -> None:
        """Drive for ``seconds`` with ``kills`` SIGKILLs, then let every operation finish."""
        started = time.monotonic()
        stop = threading.Event()
        plan = plan_kills(random.Random(f"{self.seed}:kills"), seconds, kills)
        fault_thread = threading.Thread(target=self._faults, args=(plan, started), daemon=True)
        workers = [
            threading.Thread(target=self._client, args=(n, stop), name=f"client-{n}", daemon=True)
            for n in range(self.threads)
        ]
        fault_thread.start()
        for worker in workers:
            worker.start()
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        stop.set()
        fault_thread.join()
        for worker in workers:
            worker.join()

    def _faults(self, plan: list[Kill], started: float) -> None:
        try:
            self._kill_as_planned(plan, started)
        except Exception as exc:  # a role that does not come back is a finding too
            self.problems.append(f"fault injection stopped: {exc!r}")

    def _kill_as_planned(self, plan: list[Kill], started: float) -> None:
        for kill in plan:
            time.sleep(max(0.0, kill.at - (time.monotonic() - started)))
            pid = self.deployment.processes[kill.role].pid
            self.deployment.kill(kill.role)
            self.faults.killed[kill.role] += 1
            self.faults.log.append(
                f"{time.monotonic() - started:6.1f}s SIGKILL {kill.role} (pid {pid})"
            )
            time.sleep(kill.down_for)
            self.deployment.restart(kill.role)
            self.faults.log.append(f"{time.monotonic() - started:6.1f}s {kill.role} back")

    def _client(self, number: int, stop: threading.Event) -> None:
        rng = random.Random(f"{self.seed}:client:{number}")
        client = Client(self.deployment.base_url, self.stats)
        names = list(WEIGHTS)
        weights = [WEIGHTS[n] for n in names]
        try:
            while not stop.is_set():
                merchant = rng.choice(self.model.merchants)
                operation = rng.choices(names, weights)[0]
                try:
                    getattr(self, f"_{operation}")(client, rng, merchant)
                except Refused as refused:
                    self._refused(operation, refused)
                except GaveUp as gave_up:
                    self.problems.append(f"{operation} never got an answer ({gave_up})")
                except Exception as exc:  # keep driving; the audit shows what it left
                    self.problems.append(f"{operation} failed in the client: {exc!r}")
        finally:
            client.close()

    def _refused(self, operation: str, refused: Refused) -> None:
        error = refused.error
        if error.get("type") == "idempotency_error":
            # Only a client that changed its request under one key gets this: a harness bug.
            self.problems.append(f"{operation}: {error.get('message')}")
        self.model.refused(f"{operation}: {error.get('code') or refused.status}")

    def _key(self, what: str) -> str:
        with self._lock:
            self._counter += 1
            return f"crash-{self.seed}-{what}-{self._counter}"

    # --- payments ----------------------------------------------------------------------

    def _create(
        self, client: Client, rng: random.Random, merchant: Merchant, **params: Any
    ) -> Intent | None:
        key = self._key("pi")
        body = {"amount": rng.randint(500, 20_000), "currency": CURRENCY, **params}
        try:
            intent = client.sdk(
                merchant.key,
                lambda s: s.v1.payment_intents.create(
                    params=body, options={"idempotency_key": key}
                ),
            )
        except Declined as declined:
            self.model.intent_acknowledged(declined.error["payment_intent"], merchant.id, key)
            return None
        return self.model.intent_acknowledged(intent, merchant.id, key)

    def _pay_automatic(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        self._create(client, rng, merchant, payment_method="pm_card_visa", confirm=True)

    def _pay_manual(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        self._create(
            client,
            rng,
            merchant,
            payment_method="pm_card_visa",
            confirm=True,
            capture_method="manual",
        )

    def _pay_declined(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        self._create(client, rng, merchant, payment_method="pm_card_chargeDeclined", confirm=True)

    def _notify(
        self, client: Client, rng: random.Random, provider: str, message: SignedMessage
    ) -> dict[str, Any]:
        """Deliver a provider's notification; now and then twice, as providers do."""
        path = (
            "/v1/webhooks/bank_transfers"
            if provider == "bank_transfer"
            else f"/v1/webhooks/wallets/{provider}"
        )
        answer = client.provider(path, dict(message.headers), message.body)
        if rng.random() < 0.2:
            again = client.provider(path, dict(message.headers), message.body)
            if again["id"] != answer["id"]:
                self.problems.append(f"{provider} duplicate got another record: {again}")
        return answer

    def _pay_wallet(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        provider = rng.choice(["alipay", "wechat_pay", "paypal"])
        intent = self._create(
            client,
            rng,
            merchant,
            payment_method_types=[provider],
            payment_method_data={"type": provider},
            confirm=True,
        )
        if intent is None or intent.status != "requires_action":
            self.problems.append(f"{provider} payment did not wait for the wallet: {intent}")
            return
        url = self._next_action_url(client, merchant, intent.id)
        message = build_notification(
            provider,
            self.provider_secrets[provider],
            reference=url.rsplit("/", 1)[-1],
            status="succeeded",
            amount=intent.amount,
            currency=CURRENCY,
            intent_id=intent.id,
            event_id=self._key(f"wevt-{provider}"),
        )
        answer = self._notify(client, rng, provider, message)
        if answer["outcome"] == "succeeded":
            self.model.intent_paid(intent.id)
        else:
            self.problems.append(f"{provider} notification for {intent.id}: {answer}")

    def _pay_bank_transfer(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        intent = self._create(
            client,
            rng,
            merchant,
            payment_method_types=["bank_transfer"],
            payment_method_data={"type": "bank_transfer"},
            confirm=True,
        )
        if intent is None or intent.status != "requires_action":
            self.problems.append(f"bank transfer did not wait for the credit: {intent}")
            return
        instructions = self._next_action(client, merchant, intent.id)
        message = build_credit_advice(
            self.provider_secrets["bank_transfer"],
            amount=intent.amount,
            currency=CURRENCY,
            reference=instructions["display_bank_transfer_instructions"]["reference"],
            credit_id=self._key("bcrd"),
        )
        answer = self._notify(client, rng, "bank_transfer", message)
        if answer["outcome"] == "exact":
            self.model.intent_paid(intent.id)
        else:
            self.problems.append(f"bank credit for {intent.id}: {answer}")

    def _next_action(self, client: Client, merchant: Merchant, intent_id: str) -> dict[str, Any]:
        intent = client.sdk(merchant.key, lambda s: s.v1.payment_intents.retrieve(intent_id))
        return intent["next_action"]

    def _next_action_url(self, client: Client, merchant: Merchant, intent_id: str) -> str:
        return self._next_action(client, merchant, intent_id)["redirect_to_url"]["url"]

    def _create_unconfirmed(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        method = rng.choice(["automatic", "manual"])
        self._create(client, rng, merchant, payment_method="pm_card_visa", capture_method=method)

    def _lifecycle(
        self,
        client: Client,
        rng: random.Random,
        merchant: Merchant,
        statuses: set[str],
        what: str,
        call: Callable[[Any, Intent, str], Any],
        fallback: str = "_pay_automatic",
    ) -> None:
        intent = self.model.take_intent(rng, merchant.id, statuses)
        if intent is None:
            getattr(self, fallback)(client, rng, merchant)
            return
        key = self._key(what)
        try:
            body = client.sdk(merchant.key, lambda s: call(s, intent, key))
        except Declined as declined:
            self.model.intent_acknowledged(
                declined.error["payment_intent"], merchant.id, intent.idempotency_key
            )
            return
        except BaseException:
            self.model.release_intent(intent)
            raise
        self.model.intent_acknowledged(body, merchant.id, intent.idempotency_key)

    def _confirm(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        self._lifecycle(
            client,
            rng,
            merchant,
            {"requires_confirmation"},
            "confirm",
            lambda s, i, key: s.v1.payment_intents.confirm(i.id, options={"idempotency_key": key}),
            fallback="_create_unconfirmed",
        )

    def _capture(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        partial = rng.random() < 0.5
        share = rng.random()

        def call(s: Any, intent: Intent, key: str) -> Any:
            # Drawn once, before the first attempt: a retry must send the very same body.
            params = {}
            if partial:
                params["amount_to_capture"] = max(1, int(intent.amount_capturable * share))
            return s.v1.payment_intents.capture(
                intent.id, params=params, options={"idempotency_key": key}
            )

        self._lifecycle(
            client, rng, merchant, {"requires_capture"}, "capture", call, fallback="_pay_manual"
        )

    def _cancel(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        self._lifecycle(
            client,
            rng,
            merchant,
            {"requires_capture", "requires_confirmation"},
            "cancel",
            lambda s, i, key: s.v1.payment_intents.cancel(
                i.id,
                params={"cancellation_reason": "requested_by_customer"},
                options={"idempotency_key": key},
            ),
            fallback="_pay_manual",
        )

    # --- refunds -----------------------------------------------------------------------

    def _refund_one(self, client: Client, merchant: Merchant, intent: Intent, amount: int) -> None:
        key = self._key("re")
        try:
            refund = client.sdk(
                merchant.key,
                lambda s: s.v1.refunds.create(
                    params={"payment_intent": intent.id, "amount": amount},
                    options={"idempotency_key": key},
                ),
            )
        except Refused as refused:
            self._refused("refund", refused)
            return
        self.model.refund_acknowledged(refund, merchant.id)

    def _refund(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        intent = self.model.refundable(rng, merchant.id)
        if intent is None:
            self._pay_automatic(client, rng, merchant)
            return
        left = intent.amount_received - intent.refunded
        # Now and then more than is left: Corridor must refuse it, whatever raced it.
        amount = rng.randint(1, left) if rng.random() < 0.85 else left + rng.randint(1, 500)
        self._refund_one(client, merchant, intent, amount)

    def _refund_race(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        """Three refunds of one charge at once, together asking for more than is left."""
        intent = self.model.refundable(rng, merchant.id)
        if intent is None:
            self._pay_automatic(client, rng, merchant)
            return
        left = intent.amount_received - intent.refunded
        amount = max(1, left // 2)
        clients = [Client(self.deployment.base_url, self.stats) for _ in range(3)]
        try:
            with concurrent.futures.ThreadPoolExecutor(3) as pool:
                futures = [
                    pool.submit(self._refund_one, c, merchant, intent, amount) for c in clients
                ]
                for future in futures:
                    future.result()
        finally:
            for c in clients:
                c.close()

    # --- settlement and payouts ----------------------------------------------------------

    def _settle(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        with self._lock:
            self._as_of += 1
            as_of = self._as_of
        run = client.http(
            self.finance_key,
            "POST",
            "/v1/settlement_runs",
            idempotency_key=self._key("sr"),
            json={"account": merchant.id, "as_of": as_of},
        )
        self.model.run_acknowledged(run)

    def _payout(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        key = self._key("po")
        amount = rng.randint(100, 4_000)
        payout = client.sdk(
            merchant.key,
            lambda s: s.v1.payouts.create(
                params={"amount": amount, "currency": CURRENCY}, options={"idempotency_key": key}
            ),
        )
        self.model.payout_acknowledged(payout, merchant.id)

    def _bank_answer(self, client: Client, rng: random.Random, merchant: Merchant) -> None:
        payout = self.model.take_payout(rng, "in_transit")
        if payout is None:
            self._settle(client, rng, merchant)
            return
        body: dict[str, Any] = {"result": "paid"}
        if rng.random() < 0.3:
            body = {"result": "failed", "failure_code": "account_closed"}
        try:
            answered = client.http(
                self.finance_key,
                "POST",
                f"/v1/test_helpers/payouts/{payout.id}/answer",
                idempotency_key=self._key("answer"),
                json=body,
            )
        except BaseException:
            self.model.release_payout(payout)
            raise
        self.model.payout_acknowledged(answered, payout.account)
