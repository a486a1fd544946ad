"""The payout state machine: every (state, action) pair, effects, and idempotent repeats."""

from __future__ import annotations

import itertools

import pytest

from settlement.payouts.state import (
    Action,
    Effect,
    PayoutStateError,
    State,
    Status,
    transition,
)

P, T, D, F, C = Status.PENDING, Status.IN_TRANSIT, Status.PAID, Status.FAILED, Status.CANCELED
HELD = State(P, held=True)

# (state, action) -> (state after, ledger effect); anything not listed is refused.
ALLOWED = {
    (State(P), Action.HOLD): (HELD, Effect.NONE),
    (HELD, Action.HOLD): (HELD, Effect.NONE),
    (HELD, Action.RELEASE): (State(P), Effect.NONE),
    (State(P), Action.SEND): (State(T), Effect.NONE),
    (State(T), Action.SEND): (State(T), Effect.NONE),
    (State(T), Action.PAID): (State(D), Effect.POST),
    (State(D), Action.PAID): (State(D), Effect.NONE),
    (State(P), Action.FAIL): (State(F), Effect.VOID),
    (HELD, Action.FAIL): (State(F), Effect.VOID),
    (State(T), Action.FAIL): (State(F), Effect.VOID),
    (State(D), Action.FAIL): (State(F), Effect.RETURN),
    (State(F), Action.FAIL): (State(F), Effect.NONE),
    (State(P), Action.CANCEL): (State(C), Effect.VOID),
    (HELD, Action.CANCEL): (State(C), Effect.VOID),
    (State(C), Action.CANCEL): (State(C), Effect.NONE),
}
STATES = [State(P), HELD, State(T), State(D), State(F), State(C)]


@pytest.mark.parametrize(("state", "action"), list(itertools.product(STATES, Action)))
def test_every_state_and_action(state: State, action: Action) -> None:
    expected = ALLOWED.get((state, action))
    if expected is None:
        with pytest.raises(PayoutStateError) as raised:
            transition(state, action)
        assert (raised.value.state, raised.value.action) == (state, action)
        return
    move = transition(state, action)
    assert (move.after, move.effect) == expected
    assert move.changed == (move.after != state)
    if not move.changed:
        assert move.effect is Effect.NONE  # a repeat never moves money again


def test_money_moves_at_most_once_along_any_path() -> None:
    """Whatever sequence of actions is applied, a reservation is resolved at most once
    (post or void), and a return only follows a post."""
    for path in itertools.product(list(Action), repeat=4):
        state = State(P)
        effects: list[Effect] = []
        for action in path:
            try:
                move = transition(state, action)
            except PayoutStateError:
                continue
            state = move.after
            if move.effect is not Effect.NONE:
                effects.append(move.effect)
        resolutions = [e for e in effects if e in (Effect.POST, Effect.VOID)]
        assert len(resolutions) <= 1, path
        if Effect.RETURN in effects:
            assert effects == [Effect.POST, Effect.RETURN], path


def test_cancel_message_is_stripes() -> None:
    with pytest.raises(PayoutStateError, match="only be canceled while they are pending"):
        transition(State(T), Action.CANCEL)
