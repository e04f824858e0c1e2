"""Pacing decisions of the shared rate budget (pure)."""

import httpx
from hypothesis import given
from hypothesis import strategies as st

from fieldbridge.delivery.budget import RESERVE, BudgetState, decide, observe_state

NOW = 1_800_000_000_000  # ms


def _headers(limit: int, remaining: int, reset: int) -> httpx.Headers:
    return httpx.Headers(
        {
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(reset),
        }
    )


def test_unknown_budget_goes_and_learns_from_headers() -> None:
    wait, state = decide(BudgetState(), NOW)
    assert wait == 0
    learned = observe_state(state, _headers(100, 99, NOW // 1000 + 10), 200, NOW, None)
    assert (learned.limit, learned.remaining, learned.reset_epoch) == (100, 99, NOW // 1000 + 10)


def test_spreads_what_is_left_evenly_until_the_reset() -> None:
    state = BudgetState(limit=100, remaining=11, reset_epoch=NOW // 1000 + 10)
    wait, after = decide(state, NOW)
    assert wait == 0
    assert after.remaining == 10
    assert after.not_before_ms == NOW + 10_000 // (11 - RESERVE)
    wait, _ = decide(after, NOW + 1)
    assert wait == after.not_before_ms - NOW - 1


def test_only_the_reserve_left_waits_for_the_reset() -> None:
    state = BudgetState(limit=100, remaining=RESERVE, reset_epoch=NOW // 1000 + 4)
    wait, after = decide(state, NOW)
    assert wait >= 4000
    assert after == state


def test_a_429_blocks_everyone_until_retry_after() -> None:
    state = BudgetState(limit=100, remaining=50, reset_epoch=NOW // 1000 + 10)
    blocked = observe_state(state, _headers(100, 0, NOW // 1000 + 10), 429, NOW, 7.0)
    assert blocked.remaining == 0
    assert blocked.not_before_ms == NOW + 7000
    assert decide(blocked, NOW + 10)[0] == 7000 - 10


def test_out_of_order_answers_keep_the_lowest_count_of_a_window() -> None:
    state = BudgetState(limit=100, remaining=40, reset_epoch=NOW // 1000 + 10)
    late = observe_state(state, _headers(100, 60, NOW // 1000 + 10), 200, NOW, None)
    assert late.remaining == 40
    fresh = observe_state(state, _headers(100, 99, NOW // 1000 + 20), 200, NOW, None)
    assert fresh.remaining == 99


def test_a_new_window_after_the_reset_goes_at_once() -> None:
    state = BudgetState(limit=100, remaining=0, reset_epoch=NOW // 1000 - 1)
    assert decide(state, NOW)[0] == 0


@given(
    limit=st.integers(1, 5000),
    remaining=st.integers(0, 5000),
    reset_in=st.integers(1, 3600),
    elapsed=st.integers(0, 3_600_000),
)
def test_never_takes_a_slot_it_does_not_have(limit: int, remaining: int, reset_in: int, elapsed: int) -> None:
    state = BudgetState(limit=limit, remaining=min(remaining, limit), reset_epoch=NOW // 1000 + reset_in)
    now = NOW + elapsed
    wait, after = decide(state, now)
    window_open = now < state.reset_epoch * 1000
    if wait == 0 and window_open:
        assert state.remaining - RESERVE >= 1
        assert after.remaining == state.remaining - 1
    if wait > 0:
        assert after == state
