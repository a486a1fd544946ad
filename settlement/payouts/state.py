"""The payout state machine (Stripe's Payout statuses), pure: no database, no ledger.

::

    pending ──send──> in_transit ──paid──> paid
       │  │               │                  │
       │  └─hold/release  └──failed──┐       └──failed (returned by the bank)──┐
       │                             v                                         v
       ├──cancel──> canceled       failed <────────────────────────────────────┘
       └──block───> failed

``hold`` keeps a pending payout for compliance review (funds stay reserved); ``release``
lifts the hold so it can be sent. Each transition names its **ledger effect** on the
payout's reservation: ``post`` it (paid), ``void`` it (failed before being paid, blocked,
canceled) or ``return`` it (a paid payout the bank sent back: the posted money is
reversed). Asking for the state a payout is already in is a no-op (``changed`` false,
no effect), which is what makes a repeated bank answer or cancel request idempotent;
anything else the table does not allow is a :class:`PayoutStateError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    IN_TRANSIT = "in_transit"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"


class Action(StrEnum):
    HOLD = "hold"
    RELEASE = "release"
    SEND = "send"
    PAID = "paid"
    FAIL = "fail"
    CANCEL = "cancel"


class Effect(StrEnum):
    NONE = "none"
    POST = "post"
    VOID = "void"
    RETURN = "return"


@dataclass(frozen=True, slots=True)
class State:
    status: Status
    held: bool = False


@dataclass(frozen=True, slots=True)
class Transition:
    before: State
    after: State
    effect: Effect

    @property
    def changed(self) -> bool:
        return self.before != self.after


class PayoutStateError(ValueError):
    """An action the payout's current state does not allow (Stripe: 400 invalid request)."""

    def __init__(self, state: State, action: Action, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.action = action


P, T, D, F, C = Status.PENDING, Status.IN_TRANSIT, Status.PAID, Status.FAILED, Status.CANCELED

_MESSAGES = {
    Action.CANCEL: "Payouts can only be canceled while they are pending.",
    Action.SEND: "Only a pending payout that is not held for review can be sent.",
    Action.PAID: "Only a payout in transit can be paid.",
    Action.FAIL: "Only a pending, in-transit or paid payout can fail.",
    Action.HOLD: "Only a pending payout can be held for review.",
    Action.RELEASE: "Only a payout held for review can be released.",
}


def transition(state: State, action: Action) -> Transition:
    """The transition ``action`` makes from ``state``, or :class:`PayoutStateError`."""

    def to(after: State, effect: Effect = Effect.NONE) -> Transition:
        return Transition(state, after, effect)

    status, held = state.status, state.held
    if action is Action.HOLD:
        if status is P:
            return to(State(P, held=True))
    elif action is Action.RELEASE:
        if status is P and held:
            return to(State(P))
    elif action is Action.SEND:
        if status is P and not held:
            return to(State(T))
        if status is T:
            return to(state)
    elif action is Action.PAID:
        if status is T:
            return to(State(D), Effect.POST)
        if status is D:
            return to(state)
    elif action is Action.FAIL:
        if status in (P, T):
            return to(State(F), Effect.VOID)
        if status is D:
            return to(State(F), Effect.RETURN)
        if status is F:
            return to(state)
    elif action is Action.CANCEL:
        if status is P:
            return to(State(C), Effect.VOID)
        if status is C:
            return to(state)
    raise PayoutStateError(state, action, _MESSAGES[action])
