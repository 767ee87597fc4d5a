"""Batch life cycle (seed 001) and the claims switch (seed 000).

The states and the actions that move between them; every refusal names the current state
and the actions allowed from it.
"""

from __future__ import annotations

from enum import StrEnum

from vouchers.errors import TransitionRefused


class State(StrEnum):
    CONFIGURING = "configuring"
    VALIDATED = "validated"
    GENERATING = "generating"
    GENERATED = "generated"
    DISTRIBUTED = "distributed"
    REDEEMABLE = "redeemable"
    LOCKED = "locked"
    VOID = "void"


class Claims(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class Action(StrEnum):
    VALIDATE = "validate"
    CONFIGURE = "configure"
    GENERATE = "generate"
    DISTRIBUTE = "distribute"
    REDEEMABLE = "redeemable"
    LOCK = "lock"
    VOID = "void"
    # not life-cycle moves, but offered in the same menu
    EDIT = "edit"
    PAUSE = "pause"
    RESUME = "resume"
    DELETE = "delete"


TRANSITIONS: dict[State, dict[Action, State]] = {
    State.CONFIGURING: {Action.VALIDATE: State.VALIDATED},
    State.VALIDATED: {Action.GENERATE: State.GENERATING, Action.CONFIGURE: State.CONFIGURING},
    State.GENERATING: {},  # leaves by itself when the background job finishes
    State.GENERATED: {Action.DISTRIBUTE: State.DISTRIBUTED, Action.VOID: State.VOID},
    State.DISTRIBUTED: {
        Action.REDEEMABLE: State.REDEEMABLE,
        Action.LOCK: State.LOCKED,
        Action.VOID: State.VOID,
    },
    State.REDEEMABLE: {Action.LOCK: State.LOCKED, Action.VOID: State.VOID},
    State.LOCKED: {Action.REDEEMABLE: State.REDEEMABLE, Action.VOID: State.VOID},
    State.VOID: {},
}

EDITABLE = frozenset({State.CONFIGURING, State.VALIDATED})
CLAIMABLE = frozenset({State.DISTRIBUTED, State.REDEEMABLE, State.LOCKED})
HAS_VOUCHERS = frozenset({State.GENERATED, State.DISTRIBUTED, State.REDEEMABLE, State.LOCKED, State.VOID})


def allowed_actions(state: State | str, claims: Claims | str = Claims.ACTIVE) -> list[str]:
    """Every action a user may take on a batch in this state, in menu order."""
    state = State(state)
    actions = [a.value for a in TRANSITIONS[state]]
    if state in EDITABLE:
        actions.append(Action.EDIT.value)
    if state is not State.VOID:
        actions.append(Action.PAUSE.value if Claims(claims) is Claims.ACTIVE else Action.RESUME.value)
    if state is not State.GENERATING:
        actions.append(Action.DELETE.value)
    return actions


def transition(state: State | str, action: Action | str, claims: Claims | str = Claims.ACTIVE) -> State:
    """The state after a life-cycle action, or TransitionRefused."""
    state, action = State(state), Action(action)
    target = TRANSITIONS[state].get(action)
    if target is None:
        raise TransitionRefused(action.value, state.value, allowed_actions(state, claims))
    return target


def finish_generation(state: State | str) -> State:
    """The background job's own move from generating to generated."""
    if State(state) is not State.GENERATING:
        raise TransitionRefused("finish generating", str(state), allowed_actions(state))
    return State.GENERATED


def require_editable(state: State | str, claims: Claims | str = Claims.ACTIVE) -> State:
    """Edits are allowed in configuring, and in validated (which returns to configuring)."""
    state = State(state)
    if state not in EDITABLE:
        raise TransitionRefused(Action.EDIT.value, state.value, allowed_actions(state, claims))
    return State.CONFIGURING


def set_claims(state: State | str, claims: Claims | str, action: Action | str) -> Claims:
    """Pause or resume claims: silent, no timeout, in every state but void. Repeating a switch
    (pausing a paused batch, as a retried request would) is a harmless no-op."""
    state, claims, action = State(state), Claims(claims), Action(action)
    if state is State.VOID or action not in (Action.PAUSE, Action.RESUME):
        raise TransitionRefused(action.value, state.value, allowed_actions(state, claims))
    return Claims.PAUSED if action is Action.PAUSE else Claims.ACTIVE


def require_deletable(state: State | str, claims: Claims | str = Claims.ACTIVE) -> None:
    if State(state) is State.GENERATING:
        raise TransitionRefused(Action.DELETE.value, str(state), allowed_actions(state, claims))
