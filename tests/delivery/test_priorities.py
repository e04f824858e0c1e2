"""Priority classes of the shared rate budget, each rule on a frozen clock: the shared row in
the database (`Budget`), fed by the headers Procore would send."""

from datetime import UTC, datetime, timedelta

import httpx
import time_machine

from fieldbridge.connections.models import Connection
from fieldbridge.connectors.procore.provider import RATE_LIMIT
from fieldbridge.delivery.budget import (
    RECONCILE_CAP,
    Budget,
    BudgetState,
    decide,
    floor_for,
    observe_state,
    usage_report,
)
from fieldbridge.delivery.models import RateBudget
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.kit.ratelimit import Priority
from fieldbridge.settings import Settings
from tests.factories import create_tenant

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NOW_MS = int(START.timestamp() * 1000)


def _headers(limit: int, remaining: int, reset_in: int, now: datetime = START) -> httpx.Headers:
    return httpx.Headers(
        {
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(int(now.timestamp()) + reset_in),
        }
    )


async def _budgets(db: Database, settings: Settings) -> dict[Priority, Budget]:
    tenant = await create_tenant(db, settings)
    async with db.transaction() as session:
        connection = Connection(company_id=tenant.company.id, provider="procore", label="Budget")
        session.add(connection)
        await session.flush()
        connection_id = connection.id
    return {p: Budget(db, connection_id, RATE_LIMIT, p) for p in Priority}


async def _take_all(budget: Budget, frozen: time_machine.Traveller, window_end: datetime) -> int:
    """Take slots, moving the clock over pacing waits inside the reported window; stop at a
    wait that reaches its end (the reset, the cap): that is what the class may not have."""
    taken = 0
    while True:
        wait = await budget.try_take()
        if wait == 0:
            taken += 1
        elif utcnow() + timedelta(milliseconds=wait) >= window_end:
            return taken
        else:
            frozen.shift(timedelta(milliseconds=wait))


def test_each_class_leaves_the_reserves_of_the_classes_above_it() -> None:
    assert floor_for(Priority.interactive, 100) == 0
    assert floor_for(Priority.delivery, 100) == 2  # interactive's reserve
    assert floor_for(Priority.change, 100) == 2 + 20  # + delivery's
    assert floor_for(Priority.reconcile, 100) == 2 + 20 + 10  # + change's
    # With 30 left of the window: reconcile waits for the reset, the classes above go on.
    state = BudgetState(limit=100, remaining=30, reset_epoch=NOW_MS // 1000 + 10)
    waits = {p: decide(state, NOW_MS, priority=p)[0] for p in Priority}
    assert waits[Priority.reconcile] >= 10_000
    assert waits[Priority.interactive] == waits[Priority.delivery] == waits[Priority.change] == 0
    # With 10 left only interactive and delivery go; with 2 left only interactive.
    low = BudgetState(limit=100, remaining=10, reset_epoch=NOW_MS // 1000 + 10)
    assert decide(low, NOW_MS, priority=Priority.change)[0] > 0
    assert decide(low, NOW_MS, priority=Priority.delivery)[0] == 0
    last = BudgetState(limit=100, remaining=2, reset_epoch=NOW_MS // 1000 + 10)
    assert decide(last, NOW_MS, priority=Priority.delivery)[0] > 0
    assert decide(last, NOW_MS, priority=Priority.interactive)[0] == 0


async def test_a_lower_class_gets_only_what_remains_after_the_reserves(
    db: Database, settings: Settings
) -> None:
    budgets = await _budgets(db, settings)
    with time_machine.travel(START, tick=False) as frozen:
        # Procore says: 25 per 10 minutes here (a long window, so pacing waits stay inside it), 12 left.
        await budgets[Priority.delivery].observe(_headers(25, 12, 14), 200)
        taken = {p: 0 for p in Priority}
        for p in reversed(Priority):  # the lowest class first: it must not eat the others' reserves
            taken[p] = await _take_all(budgets[p], frozen, START + timedelta(seconds=14))
        assert taken[Priority.reconcile] == 12 - floor_for(Priority.reconcile, 25)
        assert taken[Priority.change] == floor_for(Priority.reconcile, 25) - floor_for(Priority.change, 25)
        assert sum(taken.values()) == 12
        assert taken[Priority.interactive] >= 1


async def test_a_queued_delivery_never_waits_behind_a_reconcile_page(
    db: Database, settings: Settings
) -> None:
    budgets = await _budgets(db, settings)
    with time_machine.travel(START, tick=False):
        await budgets[Priority.reconcile].observe(_headers(25, 25, 10), 200)
        assert await budgets[Priority.reconcile].try_take() == 0  # a reconcile page goes...
        assert await budgets[Priority.reconcile].try_take() > 0  # ...and paces the next one
        assert await budgets[Priority.delivery].try_take() == 0  # a delivery does not wait for it
        assert await budgets[Priority.change].try_take() == 0


async def test_reconcile_never_takes_more_than_its_share_of_the_hour(
    db: Database, settings: Settings
) -> None:
    budgets = await _budgets(db, settings)
    with time_machine.travel(START, tick=False) as frozen:
        hourly = 600
        reset = int(START.timestamp()) + 3600
        await budgets[Priority.delivery].observe(
            httpx.Headers(
                {
                    "X-Rate-Limit-Limit": "600",
                    "X-Rate-Limit-Remaining": "600",
                    "X-Rate-Limit-Reset": str(reset),
                }
            ),
            200,
        )
        cap = int(RECONCILE_CAP * hourly)
        taken = await _take_all(budgets[Priority.reconcile], frozen, START + timedelta(seconds=3600))
        assert taken == cap  # the cap, not the window, stopped it
        assert await budgets[Priority.reconcile].try_take() > 0
        assert await budgets[Priority.delivery].try_take() == 0  # others are not capped
        async with db.sessionmaker() as session:
            usage = usage_report(await session.get(RateBudget, budgets[Priority.delivery].connection_id))
        assert usage.by_class["reconcile"] == cap
        assert usage.hourly_limit == hourly
        assert usage.hourly_reported
        frozen.shift(timedelta(hours=1, minutes=1))  # an hour on, the rolling hour has room again
        assert await budgets[Priority.reconcile].try_take() == 0


def test_the_hourly_limit_is_learned_from_the_long_window_only() -> None:
    spike = observe_state(BudgetState(), _headers(25, 24, 10), 200, NOW_MS, RATE_LIMIT)
    assert spike.hourly_limit == 0
    assert spike.hourly == 600
    hourly = observe_state(spike, _headers(3600, 50, 1800), 200, NOW_MS, RATE_LIMIT)
    assert hourly.hourly_limit == 3600
    assert hourly.hourly == 3600
