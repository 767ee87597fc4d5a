"""The batch life cycle (seed 001, docs/DESIGN.md) and the claims switch (seed 000)."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from vouchers.errors import Conflict, TransitionRefused
from vouchers.lifecycle import (
    Action,
    Claims,
    State,
    allowed_actions,
    finish_generation,
    require_deletable,
    require_editable,
    set_claims,
    transition,
)

C, VA, GI, GD, DI, RE, LO, VO = (
    "configuring",
    "validated",
    "generating",
    "generated",
    "distributed",
    "redeemable",
    "locked",
    "void",
)
STATES = [C, VA, GI, GD, DI, RE, LO, VO]
LIFE_CYCLE_ACTIONS = ["validate", "configure", "generate", "distribute", "redeemable", "lock", "void"]
OTHER_ACTIONS = ["edit", "pause", "resume", "delete"]

# docs/DESIGN.md's table, written out: (state, action) -> new state; every other pair is refused.
MOVES = {
    (C, "validate"): VA,
    (VA, "generate"): GI,
    (VA, "configure"): C,
    (GD, "distribute"): DI,
    (GD, "void"): VO,
    (DI, "redeemable"): RE,
    (DI, "lock"): LO,
    (DI, "void"): VO,
    (RE, "lock"): LO,
    (RE, "void"): VO,
    (LO, "redeemable"): RE,
    (LO, "void"): VO,
}
EDITABLE = {C, VA}


ALL_PAIRS = [
    pytest.param(state, action, MOVES.get((state, action)), id=f"{state}-{action}")
    for state in STATES
    for action in LIFE_CYCLE_ACTIONS
]


@pytest.mark.parametrize(("state", "action", "expected"), ALL_PAIRS)
def test_every_state_and_life_cycle_action(state, action, expected):
    if expected is not None:
        assert transition(state, action) == State(expected)
        assert transition(State(state), Action(action)) is State(expected)
        assert action in allowed_actions(state)
        return
    with pytest.raises(TransitionRefused) as caught:
        transition(state, action)
    refused = caught.value
    assert refused.current_state == state
    assert refused.action == action
    assert refused.allowed == allowed_actions(state)
    assert action not in refused.allowed
    assert state in refused.detail
    for allowed in refused.allowed:
        assert allowed in refused.detail
    assert isinstance(refused, Conflict)  # answered 409 (central/problems.py)
    assert refused.extra == {"current_state": state, "allowed": refused.allowed}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", OTHER_ACTIONS)
def test_menu_actions_are_not_life_cycle_moves(state, action):
    """edit, pause, resume and delete have their own functions; transition() refuses them."""
    with pytest.raises(TransitionRefused):
        transition(state, action)


EXPECTED_MENU = {
    C: ["validate", "edit", "pause", "delete"],
    VA: ["generate", "configure", "edit", "pause", "delete"],
    GI: ["pause"],
    GD: ["distribute", "void", "pause", "delete"],
    DI: ["redeemable", "lock", "void", "pause", "delete"],
    RE: ["lock", "void", "pause", "delete"],
    LO: ["redeemable", "void", "pause", "delete"],
    VO: ["delete"],
}


@pytest.mark.parametrize("state", STATES)
def test_allowed_actions_per_state(state):
    assert sorted(allowed_actions(state)) == sorted(EXPECTED_MENU[state])
    paused = [("resume" if a == "pause" else a) for a in EXPECTED_MENU[state]]
    assert sorted(allowed_actions(state, "paused")) == sorted(paused)


def test_void_refusal_says_the_batch_allows_only_deletion():
    with pytest.raises(TransitionRefused) as caught:
        transition("void", "redeemable")
    assert caught.value.current_state == "void"
    assert caught.value.allowed == ["delete"]
    assert "void" in caught.value.detail and "delete" in caught.value.detail


def test_refusal_message_with_nothing_allowed_still_reads():
    refused = TransitionRefused("lock", "void", [])
    assert "void" in refused.detail and "nothing" in refused.detail


def test_unknown_state_or_action_is_not_silently_accepted():
    with pytest.raises(ValueError):
        transition("archived", "validate")
    with pytest.raises(ValueError):
        transition("configuring", "publish")


# --- generation, editing, deletion -----------------------------------------------------------


def test_finish_generation_only_from_generating():
    assert finish_generation("generating") is State.GENERATED
    for state in STATES:
        if state == GI:
            continue
        with pytest.raises(TransitionRefused) as caught:
            finish_generation(state)
        assert caught.value.current_state == state
        assert caught.value.allowed == allowed_actions(state)
        assert state in caught.value.detail


@pytest.mark.parametrize("state", STATES)
def test_require_editable(state):
    if state in EDITABLE:
        assert require_editable(state) is State.CONFIGURING
        assert require_editable(state, "paused") is State.CONFIGURING
        return
    with pytest.raises(TransitionRefused) as caught:
        require_editable(state, "paused")
    assert caught.value.current_state == state
    assert caught.value.allowed == allowed_actions(state, "paused")
    assert "edit" not in caught.value.allowed
    assert state in caught.value.detail


@pytest.mark.parametrize("state", STATES)
def test_require_deletable(state):
    if state != GI:
        assert require_deletable(state) is None
        assert require_deletable(state, "paused") is None
        return
    with pytest.raises(TransitionRefused) as caught:
        require_deletable(state, "paused")
    assert caught.value.current_state == "generating"
    assert caught.value.allowed == ["resume"]
    assert "generating" in caught.value.detail and "resume" in caught.value.detail


# --- the claims switch -----------------------------------------------------------------------


@pytest.mark.parametrize("state", [s for s in STATES if s != VO])
def test_pause_and_resume_in_every_state_but_void(state):
    assert set_claims(state, "active", "pause") is Claims.PAUSED
    assert set_claims(state, "paused", "resume") is Claims.ACTIVE


@pytest.mark.parametrize("claims", ["active", "paused"])
@pytest.mark.parametrize("action", ["pause", "resume"])
def test_void_batch_claims_cannot_be_switched(claims, action):
    with pytest.raises(TransitionRefused) as caught:
        set_claims("void", claims, action)
    assert caught.value.current_state == "void"
    assert caught.value.allowed == ["delete"]


@pytest.mark.parametrize("action", LIFE_CYCLE_ACTIONS + ["edit", "delete"])
def test_set_claims_refuses_other_actions(action):
    with pytest.raises(TransitionRefused):
        set_claims("redeemable", "active", action)


def test_pausing_does_not_change_the_life_cycle():
    # Claims are independent of the state: a paused batch moves through the life cycle.
    assert transition("distributed", "redeemable", "paused") is State.REDEEMABLE
    assert transition("redeemable", "lock", "paused") is State.LOCKED
    with pytest.raises(TransitionRefused) as caught:
        transition("redeemable", "distribute", "paused")
    assert "resume" in caught.value.allowed and "pause" not in caught.value.allowed


@pytest.mark.parametrize(("claims", "action"), [("paused", "pause"), ("active", "resume")])
def test_a_repeated_pause_or_resume_is_a_harmless_no_op(claims, action):
    """The menu offers only the useful switch, but repeating one (a retried request) changes nothing."""
    assert action not in allowed_actions("redeemable", claims)
    assert set_claims("redeemable", claims, action) == Claims(claims)


# --- a random walk through the life cycle -----------------------------------------------------


def apply(state: State, claims: Claims, action: str) -> tuple[State, Claims]:
    """Carry out one menu action with the function the server uses for it."""
    if action in LIFE_CYCLE_ACTIONS:
        return transition(state, action, claims), claims
    if action == "edit":
        return require_editable(state, claims), claims
    if action in ("pause", "resume"):
        return state, set_claims(state, claims, action)
    require_deletable(state, claims)
    return state, claims


def succeeds(state: State, claims: Claims, action: str) -> bool:
    try:
        apply(state, claims, action)
    except TransitionRefused:
        return False
    return True


def redundant_switch(claims: Claims, action: str) -> bool:
    """Pausing a paused batch or resuming an active one: an allowed no-op (see the test above)."""
    return (action, claims) in (("pause", Claims.PAUSED), ("resume", Claims.ACTIVE))


class LifeCycleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = State.CONFIGURING
        self.claims = Claims.ACTIVE
        self.path: list[State] = [self.state]

    def _moved(self, before: State, after: State, how: str) -> None:
        if before is State.VOID:
            assert after is State.VOID, f"void left by {how}"
        if after is State.GENERATED and before is not State.GENERATED:
            assert how == "finish", f"generated reached by {how}"
            assert before is State.GENERATING
        if after is State.REDEEMABLE and before is not State.REDEEMABLE:
            assert before in (State.DISTRIBUTED, State.LOCKED), f"redeemable reached from {before}"
        if after is State.GENERATING and before is not State.GENERATING:
            assert before is State.VALIDATED
        self.state = after
        self.path.append(after)

    @rule(action=st.sampled_from(LIFE_CYCLE_ACTIONS + OTHER_ACTIONS))
    def act(self, action):
        before, claims = self.state, self.claims
        offered = action in allowed_actions(before, claims)
        try:
            state, self.claims = apply(before, claims, action)
        except TransitionRefused as refused:
            assert not offered, f"{action} offered in {before}/{claims} but refused"
            assert refused.current_state == before.value
            assert refused.allowed == allowed_actions(before, claims)
            assert self.state is before and self.claims is claims
            return
        assert offered or redundant_switch(claims, action), f"{action} not offered in {before}/{claims}"
        if action in ("pause", "resume"):
            assert self.claims is (Claims.PAUSED if action == "pause" else Claims.ACTIVE)
        self._moved(before, state, action)

    @rule(data=st.data())
    def act_on_an_offered_action(self, data):
        """Mostly walk forward, so that the later states are reached often."""
        offered = [a for a in allowed_actions(self.state, self.claims) if a not in ("configure", "edit")]
        self.act(data.draw(st.sampled_from(offered), label="offered action"))

    @precondition(lambda self: self.state is State.GENERATING)
    @rule()
    def finish(self):
        self._moved(self.state, finish_generation(self.state), "finish")

    @invariant()
    def allowed_actions_predict_exactly(self):
        offered = set(allowed_actions(self.state, self.claims))
        for action in LIFE_CYCLE_ACTIONS + OTHER_ACTIONS:
            if redundant_switch(self.claims, action):
                continue
            assert succeeds(self.state, self.claims, action) == (action in offered), (
                self.state,
                self.claims,
                action,
            )

    @invariant()
    def void_is_terminal(self):
        if State.VOID in self.path:
            assert self.state is State.VOID
            assert allowed_actions(self.state, self.claims) == ["delete"]

    @invariant()
    def vouchers_exist_only_after_generation(self):
        if self.state in (State.GENERATED, State.DISTRIBUTED, State.REDEEMABLE, State.LOCKED):
            assert State.GENERATING in self.path


LifeCycleMachine.TestCase.settings = settings(max_examples=80, stateful_step_count=30, deadline=None)
TestLifeCycle = LifeCycleMachine.TestCase
