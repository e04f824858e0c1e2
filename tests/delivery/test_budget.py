"""Pacing decisions of the shared rate budget (pure)."""

import httpx
from hypothesis import given
from hypothesis import strategies as st

from fieldbridge.connectors.procore.provider import RATE_LIMIT
from fieldbridge.delivery.budget import BudgetState, decide, floor_for, observe_state
from fieldbridge.kit.ratelimit import Priority, RateLimitPolicy, Window

NOW = 1_800_000_000_000  # ms
RESERVE = floor_for(Priority.delivery, 100)  # a delivery leaves the interactive reserve


def _headers(limit: int, remaining: int, reset: int, **extra: str) -> httpx.Headers:
    return httpx.Headers(
        {
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(reset),
            **extra,
        }
    )


def test_unknown_budget_goes_and_learns_from_headers() -> None:
    wait, state = decide(BudgetState(), NOW)
    assert wait == 0
    learned = observe_state(state, _headers(100, 99, NOW // 1000 + 10), 200, NOW, RATE_LIMIT)
    assert (learned.limit, learned.remaining, learned.reset_epoch) == (100, 99, NOW // 1000 + 10)


def test_spreads_what_is_left_evenly_until_the_reset() -> None:
    change = Priority.change  # a class that never bursts
    state = BudgetState(limit=100, remaining=40, reset_epoch=NOW // 1000 + 10)
    wait, after = decide(state, NOW, priority=change)
    assert wait == 0
    assert after.remaining == 39
    paced = after.paced_ms[change]
    assert paced == NOW + 10_000 // (40 - floor_for(change, 100))
    wait, _ = decide(after, NOW + 1, priority=change)
    assert wait == paced - NOW - 1


def test_only_the_reserve_left_waits_for_the_reset() -> None:
    state = BudgetState(limit=100, remaining=RESERVE, reset_epoch=NOW // 1000 + 4)
    wait, after = decide(state, NOW)
    assert wait >= 4000
    assert after == state


def test_a_429_blocks_everyone_until_retry_after() -> None:
    state = BudgetState(limit=100, remaining=50, reset_epoch=NOW // 1000 + 10)
    blocked = observe_state(
        state, _headers(100, 0, NOW // 1000 + 10, **{"Retry-After": "7"}), 429, NOW, RATE_LIMIT
    )
    assert blocked.remaining == 0
    assert blocked.not_before_ms == NOW + 7000
    assert decide(blocked, NOW + 10)[0] == 7000 - 10


def test_a_429_without_retry_after_waits_for_the_reported_reset() -> None:
    state = BudgetState(limit=100, remaining=50, reset_epoch=NOW // 1000 + 10)
    blocked = observe_state(state, _headers(100, 0, NOW // 1000 + 4), 429, NOW, RATE_LIMIT)
    assert blocked.not_before_ms == NOW + 4000


def test_the_budget_reads_the_headers_its_policy_names() -> None:
    """Another connector's headers (IETF RateLimit-*, reset in seconds from now) feed the
    same budget; Procore's policy ignores them, and no wait outlasts the longest window."""
    other = RateLimitPolicy(
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        (Window("minute", 60),),
        reset_is_epoch=False,
    )
    headers = httpx.Headers({"RateLimit-Limit": "50", "RateLimit-Remaining": "7", "RateLimit-Reset": "30"})
    learned = observe_state(BudgetState(), headers, 200, NOW, other)
    assert (learned.limit, learned.remaining, learned.reset_epoch) == (50, 7, NOW // 1000 + 30)
    assert observe_state(BudgetState(), headers, 200, NOW, RATE_LIMIT) == BudgetState()
    assert learned.hourly_limit == 0  # 30 s is the policy's only (shortest) window
    blocked = observe_state(BudgetState(), httpx.Headers({"Retry-After": "7200"}), 429, NOW, other)
    assert blocked.not_before_ms == NOW + 60_000


def test_out_of_order_answers_keep_the_lowest_count_of_a_window() -> None:
    state = BudgetState(limit=100, remaining=40, reset_epoch=NOW // 1000 + 10)
    late = observe_state(state, _headers(100, 60, NOW // 1000 + 10), 200, NOW, RATE_LIMIT)
    assert late.remaining == 40
    fresh = observe_state(state, _headers(100, 99, NOW // 1000 + 20), 200, NOW, RATE_LIMIT)
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
        assert state.remaining - floor_for(Priority.delivery, limit) >= 1
        assert after.remaining == state.remaining - 1
    if wait > 0:
        assert after == state


def _sent_at_once(state: BudgetState, priority: Priority) -> int:
    sent = 0
    while True:
        wait, state = decide(state, NOW, priority=priority)
        if wait:
            return sent
        sent += 1


def test_a_delivery_may_burst_ahead_of_the_even_pace_while_the_window_is_far_from_spent() -> None:
    fresh = BudgetState(limit=100, remaining=100, reset_epoch=NOW // 1000 + 10)
    burst = _sent_at_once(fresh, Priority.delivery)
    assert 30 <= burst <= 55  # about half of what the class may use, then the even pace again
    assert _sent_at_once(fresh, Priority.change) == 1  # background classes never burst
    assert _sent_at_once(fresh, Priority.reconcile) == 1
    nearly_spent = BudgetState(limit=100, remaining=RESERVE + 8, reset_epoch=NOW // 1000 + 10)
    assert 1 < _sent_at_once(nearly_spent, Priority.delivery) <= 4  # at most half of the 8 left


def test_the_burst_never_takes_more_than_the_window_leaves() -> None:
    state = BudgetState(limit=100, remaining=100, reset_epoch=NOW // 1000 + 10)
    now, sent = NOW, 0
    while now < NOW + 10_000:
        wait, after = decide(state, now)
        if wait:
            now += wait
        else:
            state, sent = after, sent + 1
    assert sent <= 100 - RESERVE
