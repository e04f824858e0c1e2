"""One request budget per connection, fed by the rate-limit headers its connector's
`RateLimitPolicy` names (Procore: `X-Rate-Limit-*`) and shared by every process.

The budget is a row (`delivery_rate_budgets`) read and written under a row lock
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's single writer, taken up front), so any
number of `serve` and `worker` processes draw from the same numbers. Pacing is pure
(`decide`): spread what is left of the window evenly until it resets (so a steady stream
is served steadily instead of bursting, then stalling); only the reserve left -> wait for
the reset. After a 429 nobody sends until
the policy's Retry-After / reset has passed; no wait is ever longer than the policy's
longest window.
"""

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.delivery.models import RateBudget
from fieldbridge.kit.db import Database
from fieldbridge.kit.ratelimit import RateLimitPolicy

RESERVE = 1  # requests left untouched for interactive calls (a project picker, a reconnect)
MAX_WAIT_MS = 60 * 60 * 1000
MIN_SPACING_MS = 20  # below this, pacing costs more than it saves


@dataclass(frozen=True)
class BudgetState:
    limit: int = 0  # 0: nothing reported yet
    remaining: int = 0
    reset_epoch: int = 0
    not_before_ms: int = 0


def decide(
    state: BudgetState, now_ms: int, reserve: int = RESERVE, max_wait_ms: int = MAX_WAIT_MS
) -> tuple[int, BudgetState]:
    """(milliseconds to wait, state after taking a slot). A wait > 0 takes nothing."""
    if now_ms < state.not_before_ms:
        return min(state.not_before_ms - now_ms, max_wait_ms), state
    reset_ms = state.reset_epoch * 1000
    if state.limit <= 0 or reset_ms <= now_ms:
        # Unknown, or the reported window is over: go; the response tells us the new numbers.
        return 0, replace(state, remaining=max(state.limit - 1, 0), reset_epoch=0)
    usable = state.remaining - reserve
    if usable <= 0:
        return min(reset_ms - now_ms + 50, max_wait_ms), state
    spacing = (reset_ms - now_ms) // usable
    if spacing < MIN_SPACING_MS:
        spacing = 0
    return 0, replace(state, remaining=state.remaining - 1, not_before_ms=now_ms + spacing)


def observe_state(
    state: BudgetState, headers: Mapping[str, str], status: int, now_ms: int, policy: RateLimitPolicy
) -> BudgetState:
    """Fold a response's rate-limit headers, named by `policy`, into the budget (pure)."""
    reported = policy.numbers(headers, now_ms / 1000)
    new = state
    if reported is not None:
        limit, remaining, reset = reported.limit, reported.remaining, reported.reset_epoch
        if reset > state.reset_epoch or limit != state.limit:
            new = BudgetState(limit, remaining, reset, state.not_before_ms)
        else:  # same window: responses may arrive out of order, the lowest count is the truth
            new = replace(state, remaining=min(state.remaining, remaining))
    if status == 429:
        retry_after = policy.retry_after(headers, now_ms / 1000)
        wait_ms = int((policy.wait_after_429 if retry_after is None else retry_after) * 1000)
        new = replace(new, remaining=0, not_before_ms=max(new.not_before_ms, now_ms + wait_ms))
    return new


def now_ms() -> int:
    return int(time.time() * 1000)


class Budget:
    """The shared budget of one connection, read the way its connector's policy says."""

    def __init__(self, db: Database, connection_id: int, policy: RateLimitPolicy) -> None:
        self.db = db
        self.connection_id = connection_id
        self.policy = policy
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
            session.add(row)
            await session.flush()
        return row

    @staticmethod
    def _state(row: RateBudget) -> BudgetState:
        return BudgetState(row.limit, row.remaining, row.reset_epoch, row.not_before_ms)

    @staticmethod
    def _store(row: RateBudget, state: BudgetState) -> None:
        row.limit, row.remaining = state.limit, state.remaining
        row.reset_epoch, row.not_before_ms = state.reset_epoch, state.not_before_ms

    async def try_take(self) -> int:
        """Take one request slot now (returns 0), or say how many ms to wait first."""
        async with self.db.transaction() as session:
            row = await self._locked(session)
            wait, state = decide(self._state(row), now_ms(), max_wait_ms=self.max_wait_ms)
            if wait == 0:
                self._store(row, state)
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
            await asyncio.sleep(wait / 1000)
            waited += wait / 1000

    async def observe(self, headers: Mapping[str, str], status: int) -> None:
        if status != 429 and self.policy.numbers(headers, now_ms() / 1000) is None:
            return  # nothing to fold in (e.g. a webhook receiver): spare the locked write
        async with self.db.transaction() as session:
            row = await self._locked(session)
            self._store(row, observe_state(self._state(row), headers, status, now_ms(), self.policy))

    async def wait_hint_ms(self) -> int:
        async with self.db.sessionmaker() as session:
            row = await session.get(RateBudget, self.connection_id)
            return 0 if row is None else decide(self._state(row), now_ms(), max_wait_ms=self.max_wait_ms)[0]
