"""One request budget per connection, fed by the rate-limit headers its connector's
`RateLimitPolicy` names (Procore: `X-Rate-Limit-*`) and shared by every process.

The budget is a row (`delivery_rate_budgets`) read and written under a row lock
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's single writer, taken up front), so any
number of `serve` and `worker` processes draw from the same numbers. Pacing is pure
(`decide`).

Priority classes (`kit.ratelimit.Priority`), highest first: interactive, delivery, change
(sync a webhook asked for), reconcile. Rules:

- A class only takes a slot while what remains of the reported window is above the reserve
  of every class above it (`RESERVE_SHARE` of the window's limit, at least one request).
- Each class paces itself: what it may use of the window is spread evenly until the reset,
  on a clock of its own, so a queued delivery never waits behind a reconcile page.
- Interactive calls and deliveries may run ahead of that even pace by `BURST_SHARE` of what
  they may still use (a generic cell rate algorithm's burst tolerance): a burst of
  detections goes out as it arrives while the window is far from spent, and is paced evenly
  again as it runs low. Someone waits on these, and serving a queue as early as the window
  allows is what keeps its waits shortest; the reserves still hold for every class above.
  Background classes (change, reconcile) never burst.
- Reconcile never takes more than `RECONCILE_CAP` of the hourly limit in any rolling hour.
- After a 429 nobody sends until the policy's Retry-After / reset has passed; no wait is ever
  longer than the policy's longest window.

The row also keeps what each class used per minute for the last hour (the connection page
shows it) and the hourly limit the remote side last reported (`hourly_limit`; the reconcile
cadence is derived from it).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from math import ceil
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.delivery.models import RateBudget
from fieldbridge.kit import clock
from fieldbridge.kit.db import Database
from fieldbridge.kit.ratelimit import Priority, RateLimitPolicy

RESERVE = 1  # the smallest reserve of a class: one request
# Of each reported window, held back for a class from every class below it.
RESERVE_SHARE = {Priority.interactive: 0.02, Priority.delivery: 0.20, Priority.change: 0.10}
RECONCILE_CAP = 0.08  # reconcile's most in any rolling hour, as a share of the hourly limit
# Until the remote side reports its hourly window (Procore reports the window nearest to
# running out, usually the 10-second spike one): Procore's current documented example.
ASSUMED_HOURLY_LIMIT = 600
MAX_WAIT_MS = 60 * 60 * 1000
MIN_SPACING_MS = 20  # below this, pacing costs more than it saves
# Of what a class may still use of the window, how many requests it may send ahead of the
# even pace; only the classes someone waits on.
BURST_SHARE = {Priority.interactive: 0.5, Priority.delivery: 0.5}
MINUTE_MS = 60_000
CLASSES = tuple(Priority)


def reserve_of(priority: Priority, limit: int) -> int:
    """Requests of a window of `limit` that classes below `priority` may not touch."""
    share = RESERVE_SHARE.get(priority)
    return 0 if share is None else max(RESERVE, ceil(share * limit))


def floor_for(priority: Priority, limit: int) -> int:
    """What a class must leave in the window: the reserves of every class above it."""
    return sum(reserve_of(p, limit) for p in CLASSES if p < priority)


@dataclass(frozen=True)
class BudgetState:
    limit: int = 0  # 0: nothing reported yet
    remaining: int = 0
    reset_epoch: int = 0
    not_before_ms: int = 0  # after a 429: nobody sends before this
    paced_ms: tuple[int, ...] = (0, 0, 0, 0)  # per class: its own pacing clock
    hourly_limit: int = 0  # the hourly window's limit when last reported (0: not yet)
    used: Mapping[int, tuple[int, ...]] = field(default_factory=dict)  # minute -> per-class count

    @property
    def hourly(self) -> int:
        return self.hourly_limit or ASSUMED_HOURLY_LIMIT

    def used_last_hour(self, now_ms: int) -> dict[Priority, int]:
        first = now_ms // MINUTE_MS - 59
        totals = dict.fromkeys(CLASSES, 0)
        for minute, counts in self.used.items():
            if minute >= first:
                for p in CLASSES:
                    totals[p] += counts[p] if p < len(counts) else 0
        return totals

    def count(self, priority: Priority, now_ms: int) -> "BudgetState":
        minute = now_ms // MINUTE_MS
        used = {m: c for m, c in self.used.items() if m > minute - 60}
        counts = list(used.get(minute, (0,) * len(CLASSES)))
        counts[priority] += 1
        used[minute] = tuple(counts)
        return replace(self, used=used)


def _reconcile_wait(state: BudgetState, now_ms: int) -> int:
    """0, or how long until reconcile's rolling hour has room again."""
    cap = max(1, int(RECONCILE_CAP * state.hourly))
    if state.used_last_hour(now_ms)[Priority.reconcile] < cap:
        return 0
    first = now_ms // MINUTE_MS - 59
    oldest = min((m for m, c in state.used.items() if m >= first and c[Priority.reconcile]), default=first)
    return max(1000, (oldest + 60) * MINUTE_MS - now_ms)


def decide(
    state: BudgetState,
    now_ms: int,
    reserve: int | None = None,
    max_wait_ms: int = MAX_WAIT_MS,
    priority: Priority = Priority.delivery,
) -> tuple[int, BudgetState]:
    """(milliseconds to wait, state after taking a slot). A wait > 0 takes nothing.
    `reserve` overrides what the class must leave in the window (default: `floor_for`)."""
    if now_ms < state.not_before_ms:
        return min(state.not_before_ms - now_ms, max_wait_ms), state
    if priority == Priority.reconcile:
        capped = _reconcile_wait(state, now_ms)
        if capped:
            return min(capped, max_wait_ms), state
    paced = state.paced_ms[priority] if priority < len(state.paced_ms) else 0
    reset_ms = state.reset_epoch * 1000
    if state.limit <= 0 or reset_ms <= now_ms:
        if now_ms < paced:
            return min(paced - now_ms, max_wait_ms), state
        # Unknown, or the reported window is over: go; the response tells us the new numbers.
        after = replace(state, remaining=max(state.limit - 1, 0), reset_epoch=0)
        return 0, after.count(priority, now_ms)
    floor = floor_for(priority, state.limit) if reserve is None else reserve
    usable = state.remaining - floor
    if usable <= 0:
        return min(reset_ms - now_ms + 50, max_wait_ms), state
    spacing = (reset_ms - now_ms) // usable
    if spacing < MIN_SPACING_MS:
        spacing = 0
    ahead = spacing * int(BURST_SHARE.get(priority, 0.0) * usable)  # the burst tolerance
    if paced - now_ms > ahead:
        return min(paced - ahead - now_ms, max_wait_ms), state
    clocks = list(state.paced_ms) + [0] * (len(CLASSES) - len(state.paced_ms))
    clocks[priority] = max(paced, now_ms) + spacing
    after = replace(state, remaining=state.remaining - 1, paced_ms=tuple(clocks))
    return 0, after.count(priority, now_ms)


def observe_state(
    state: BudgetState, headers: Mapping[str, str], status: int, now_ms: int, policy: RateLimitPolicy
) -> BudgetState:
    """Fold a response's rate-limit headers, named by `policy`, into the budget (pure)."""
    reported = policy.numbers(headers, now_ms / 1000)
    new = state
    if reported is not None:
        limit, remaining, reset = reported.limit, reported.remaining, reported.reset_epoch
        if reset > state.reset_epoch or limit != state.limit:
            new = replace(state, limit=limit, remaining=remaining, reset_epoch=reset)
        else:  # same window: responses may arrive out of order, the lowest count is the truth
            new = replace(state, remaining=min(state.remaining, remaining))
        # A reset further away than the short window (with slack: resets are whole seconds)
        # belongs to the long, hourly one.
        if reset - now_ms / 1000 > 1.5 * policy.shortest_window_seconds:
            new = replace(new, hourly_limit=limit)
    if status == 429:
        retry_after = policy.retry_after(headers, now_ms / 1000)
        wait_ms = int((policy.wait_after_429 if retry_after is None else retry_after) * 1000)
        new = replace(new, remaining=0, not_before_ms=max(new.not_before_ms, now_ms + wait_ms))
    return new


def now_ms() -> int:
    return clock.now_ms()


def usage_of(row: RateBudget | None) -> dict[str, Any]:
    return dict(row.usage or {}) if row is not None else {}


def state_of(row: RateBudget) -> BudgetState:
    usage = usage_of(row)
    paced = tuple(int(x) for x in usage.get("paced", ())) or (0,) * len(CLASSES)
    used = {int(m): tuple(int(x) for x in c) for m, c in (usage.get("used") or {}).items()}
    hourly = int(usage.get("hourly_limit") or 0)
    return BudgetState(row.limit, row.remaining, row.reset_epoch, row.not_before_ms, paced, hourly, used)


def store_state(row: RateBudget, state: BudgetState) -> None:
    row.limit, row.remaining = state.limit, state.remaining
    row.reset_epoch, row.not_before_ms = state.reset_epoch, state.not_before_ms
    row.usage = {
        "paced": list(state.paced_ms),
        "hourly_limit": state.hourly_limit,
        "used": {str(m): list(c) for m, c in state.used.items()},
    }


@dataclass(frozen=True)
class Usage:
    """What the connection page shows: requests per class in the last hour, and the limits."""

    by_class: dict[str, int]
    hourly_limit: int
    hourly_reported: bool
    reconcile_cap: int

    @property
    def total(self) -> int:
        return sum(self.by_class.values())


def usage_report(row: RateBudget | None, at_ms: int | None = None) -> Usage:
    state = state_of(row) if row is not None else BudgetState()
    used = state.used_last_hour(now_ms() if at_ms is None else at_ms)
    return Usage(
        {p.name: used[p] for p in CLASSES},
        state.hourly,
        state.hourly_limit > 0,
        max(1, int(RECONCILE_CAP * state.hourly)),
    )


class Budget:
    """The shared budget of one connection, read the way its connector's policy says."""

    def __init__(
        self,
        db: Database,
        connection_id: int,
        policy: RateLimitPolicy,
        priority: Priority = Priority.delivery,
    ) -> None:
        self.db = db
        self.connection_id = connection_id
        self.policy = policy
        self.priority = priority
        self.max_wait_ms = policy.longest_window_seconds * 1000

    async def _locked(self, session: AsyncSession) -> RateBudget:
        if self.db.is_sqlite:  # take the write lock first, so two processes never both read-then-write
            await session.execute(
                update(RateBudget)
                .where(RateBudget.connection_id == self.connection_id)
                .values(connection_id=RateBudget.connection_id)
            )
        row = await session.scalar(
            select(RateBudget).where(RateBudget.connection_id == self.connection_id).with_for_update()
        )
        if row is None:
            row = RateBudget(
                connection_id=self.connection_id, limit=0, remaining=0, reset_epoch=0, not_before_ms=0
            )
            row.usage = None
            session.add(row)
            await session.flush()
        return row

    async def try_take(self) -> int:
        """Take one request slot now (returns 0), or say how many ms to wait first."""
        async with self.db.transaction() as session:
            row = await self._locked(session)
            wait, state = decide(
                state_of(row), now_ms(), max_wait_ms=self.max_wait_ms, priority=self.priority
            )
            if wait == 0:
                store_state(row, state)
            return wait

    async def take(self, max_wait_s: float | None = None) -> bool:
        """Wait until a slot is free and take it; False if that would exceed `max_wait_s`."""
        waited = 0.0
        while True:
            wait = await self.try_take()
            if wait == 0:
                return True
            if max_wait_s is not None and waited + wait / 1000 > max_wait_s:
                return False
            await clock.sleep(wait / 1000)
            waited += wait / 1000

    async def observe(self, headers: Mapping[str, str], status: int) -> None:
        if status != 429 and self.policy.numbers(headers, now_ms() / 1000) is None:
            return  # nothing to fold in (e.g. a webhook receiver): spare the locked write
        async with self.db.transaction() as session:
            row = await self._locked(session)
            store_state(row, observe_state(state_of(row), headers, status, now_ms(), self.policy))

    async def wait_hint_ms(self) -> int:
        async with self.db.sessionmaker() as session:
            row = await session.get(RateBudget, self.connection_id)
            if row is None:
                return 0
            return decide(state_of(row), now_ms(), max_wait_ms=self.max_wait_ms, priority=self.priority)[0]
