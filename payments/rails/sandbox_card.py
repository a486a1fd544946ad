"""A deterministic card processor simulator, driven by Stripe's documented test numbers.

The embedded default's card rail: no network, no account, and every outcome a real
processor gives can be produced on purpose by choosing the card — success, the
generic and specific declines (``insufficient_funds``, ``lost_card``, ...), and the
3-D Secure challenge. Behaviours are data (``payments/data/test_card_behaviours.csv``);
any other valid card is approved.

It keeps no state of its own: references derive from Corridor's ids (so a retried
call gets the same answer) and the little it needs later (the scenario, the capture
method) travels in :attr:`Authorisation.state`, which the caller stores.

3-D Secure: ``authorise`` answers ``action_required`` with a ``redirect_to_url`` to
``{public_base_url}/v1/test_helpers/three_d_secure/{reference}``; that test-helper
route stands in for the issuer's challenge page and calls :meth:`resume` with
``action_result="succeeded"`` or ``"failed"``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Final, Literal

from payments.cards import is_expired
from payments.rails.base import (
    Authorisation,
    AuthorisationRequest,
    AuthorisationResult,
    CancelResult,
    CaptureResult,
    CardInstrument,
    Decline,
    Notification,
    RailError,
    RefundResult,
    RefundStatus,
    UnsupportedOperation,
    check_capture_amount,
    check_refund_amount,
)

Scenario = Literal[
    "approve", "decline", "three_d_secure", "three_d_secure_then_decline", "pending_refund"
]
_SCENARIOS: Final = frozenset(
    {"approve", "decline", "three_d_secure", "three_d_secure_then_decline", "pending_refund"}
)
RAIL: Final = "sandbox_card"

# Stripe's messages for the same codes, so a checkout shows the customer the same text.
_MESSAGES: Final[Mapping[str, str]] = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card has been declined.",
    "stolen_card": "Your card has been declined.",
    "card_velocity_exceeded": "Your card was declined for making repeated attempts too "
    "frequently or exceeding its amount limit.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "payment_intent_authentication_failure": "We are unable to authenticate your payment method. "
    "Please choose a different payment method and try again.",
}


@dataclass(frozen=True)
class CardBehaviour:
    scenario: Scenario
    error_code: str | None = None
    decline_code: str | None = None

    def decline(self) -> Decline:
        code = self.error_code or "card_declined"
        message = _MESSAGES.get(self.decline_code or code, "Your card was declined.")
        return Decline(code=code, message=message, decline_code=self.decline_code)


APPROVE: Final = CardBehaviour("approve")


@lru_cache(maxsize=1)
def sandbox_card_behaviours() -> Mapping[str, CardBehaviour]:
    text = (
        resources.files("payments.data")
        .joinpath("test_card_behaviours.csv")
        .read_text(encoding="utf-8")
    )
    table: dict[str, CardBehaviour] = {}
    for row in csv.DictReader(io.StringIO(text)):
        scenario = row["scenario"].strip()
        if scenario not in _SCENARIOS:
            raise ValueError(f"unknown sandbox scenario {scenario!r} for {row['number'][-4:]}")
        table[row["number"].strip()] = CardBehaviour(
            scenario=scenario,  # type: ignore[arg-type]
            error_code=row["error_code"].strip() or None,
            decline_code=row["decline_code"].strip() or None,
        )
    return table


class SandboxCardAdapter:
    name = RAIL
    supports_manual_capture = True
    cancelable_while_processing = False

    def __init__(
        self,
        public_base_url: str,
        *,
        behaviours: Mapping[str, CardBehaviour] | None = None,
        today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date(),
    ) -> None:
        self._base = public_base_url.rstrip("/")
        self._behaviours = behaviours if behaviours is not None else sandbox_card_behaviours()
        self._today = today

    def challenge_url(self, reference: str) -> str:
        return f"{self._base}/v1/test_helpers/three_d_secure/{reference}"

    def authorise(self, request: AuthorisationRequest) -> AuthorisationResult:
        card = request.instrument
        if not isinstance(card, CardInstrument):
            raise RailError("payment_method_unsupported", "the sandbox card rail takes cards only")
        behaviour = self._behaviours.get(card.number, APPROVE)
        auth = Authorisation(
            rail=RAIL,
            reference=f"sbxauth_{request.intent_id}_{request.attempt}",
            intent_id=request.intent_id,
            amount=request.amount,
            currency=request.currency,
            state={"scenario": behaviour.scenario, "capture_method": request.capture_method},
        )
        if is_expired(card.exp_month, card.exp_year, self._today()):
            return AuthorisationResult.declined(CardBehaviour("decline", "expired_card").decline())
        if behaviour.scenario == "decline":
            return AuthorisationResult.declined(behaviour.decline())
        if behaviour.scenario in ("three_d_secure", "three_d_secure_then_decline"):
            state = dict(auth.state)
            if behaviour.scenario == "three_d_secure_then_decline":
                state["error_code"] = behaviour.error_code or "card_declined"
                state["decline_code"] = behaviour.decline_code or ""
            auth = Authorisation(
                rail=RAIL,
                reference=auth.reference,
                intent_id=auth.intent_id,
                amount=auth.amount,
                currency=auth.currency,
                state=state,
            )
            return AuthorisationResult.action_required(
                auth, self._challenge_action(auth.reference, request.return_url)
            )
        return AuthorisationResult.approved(auth, captured=request.capture_method == "automatic")

    def _challenge_action(self, reference: str, return_url: str | None) -> dict[str, object]:
        return {
            "type": "redirect_to_url",
            "redirect_to_url": {"url": self.challenge_url(reference), "return_url": return_url},
        }

    def resume(
        self, authorisation: Authorisation, *, action_result: str | None = None
    ) -> AuthorisationResult:
        """Finish a 3-D Secure challenge: ``"succeeded"`` passes it, ``"failed"`` fails it."""
        scenario = authorisation.state.get("scenario")
        if scenario not in ("three_d_secure", "three_d_secure_then_decline"):
            raise RailError("no_action_pending", "this authorisation has no challenge to complete")
        if action_result is None:
            return AuthorisationResult.action_required(
                authorisation, self._challenge_action(authorisation.reference, None)
            )
        if action_result == "failed":
            return AuthorisationResult.declined(
                Decline(
                    code="payment_intent_authentication_failure",
                    message=_MESSAGES["payment_intent_authentication_failure"],
                ),
                authorisation,
            )
        if action_result != "succeeded":
            raise RailError("invalid_action_result", f"unknown action result {action_result!r}")
        if scenario == "three_d_secure_then_decline":
            behaviour = CardBehaviour(
                "decline",
                authorisation.state.get("error_code") or "card_declined",
                authorisation.state.get("decline_code") or None,
            )
            return AuthorisationResult.declined(behaviour.decline(), authorisation)
        captured = authorisation.state.get("capture_method") == "automatic"
        return AuthorisationResult.approved(authorisation, captured=captured)

    def capture(
        self, authorisation: Authorisation, amount: int, *, attempt: int = 1
    ) -> CaptureResult:
        check_capture_amount(authorisation, amount)
        return CaptureResult(
            reference=authorisation.reference,
            amount_captured=amount,
            amount_released=authorisation.amount - amount,
        )

    def cancel(self, authorisation: Authorisation, *, attempt: int = 1) -> CancelResult:
        return CancelResult(reference=authorisation.reference, amount_released=authorisation.amount)

    def refund(
        self, authorisation: Authorisation, amount: int, *, refund_id: str, attempt: int = 1
    ) -> RefundResult:
        check_refund_amount(authorisation, amount)
        pending = authorisation.state.get("scenario") == "pending_refund"
        return RefundResult(
            reference=f"sbxre_{refund_id}_{attempt}",
            amount=amount,
            currency=authorisation.currency,
            status=RefundStatus.PENDING if pending else RefundStatus.SUCCEEDED,
        )

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        # The simulator answers synchronously; it has nothing to notify.
        raise UnsupportedOperation(RAIL, "notifications")
