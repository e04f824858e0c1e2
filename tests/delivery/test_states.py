"""The transition table, checked for every pair of states."""

import itertools

import pytest

from fieldbridge.delivery import states
from fieldbridge.delivery.states import TRANSITIONS, InvalidTransition, Status

S = Status
EXPECTED = {
    (S.pending, S.running), (S.pending, S.parked), (S.pending, S.cancelled), (S.pending, S.held),
    (S.running, S.delivered), (S.running, S.retrying), (S.running, S.rejected),
    (S.running, S.parked), (S.running, S.failed), (S.running, S.held),
    (S.retrying, S.running), (S.retrying, S.parked), (S.retrying, S.failed), (S.retrying, S.cancelled),
    (S.retrying, S.held),
    (S.held, S.pending), (S.held, S.cancelled),
    (S.parked, S.pending), (S.parked, S.cancelled),
    (S.rejected, S.pending), (S.rejected, S.cancelled),
    (S.failed, S.pending), (S.failed, S.cancelled),
    (S.cancelled, S.pending),
    (S.delivered, S.pending),
}  # fmt: skip


@pytest.mark.parametrize(("old", "new"), list(itertools.product(Status, Status)))
def test_every_pair_is_allowed_exactly_when_the_table_says(old: Status, new: Status) -> None:
    assert states.allowed(old, new) == ((old, new) in EXPECTED)
    if (old, new) in EXPECTED:
        states.check(old, new)
    else:
        with pytest.raises(InvalidTransition):
            states.check(old.value, new)


def test_every_state_has_a_row_and_is_reachable_from_pending() -> None:
    assert set(TRANSITIONS) == set(Status)
    seen, frontier = {S.pending}, [S.pending]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(Status)


def test_the_derived_sets_agree_with_the_table() -> None:
    assert all(S.running in TRANSITIONS[s] for s in states.CLAIMABLE)
    assert all(S.pending in TRANSITIONS[s] for s in states.RETRYABLE | states.REPLAYABLE)
    assert {s for s in Status if S.cancelled in TRANSITIONS[s]} == states.CANCELLABLE
    assert S.running not in states.CANCELLABLE
    assert states.CLAIMABLE <= states.BLOCKING
    assert S.delivered not in states.BLOCKING
    assert S.cancelled not in states.BLOCKING
    assert S.held in states.BLOCKING
    assert S.held not in states.CLAIMABLE | states.RETRYABLE
