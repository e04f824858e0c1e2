"""The company's time policy: how far back and ahead a phone may report, the longest shift, and
no overlapping shifts for one worker.

A shift outside the policy is still stored (nothing a worker did is lost), but its exports are
held under `shift_key(shift.id)` with the reasons until an admin approves or corrects it on the
Timesheets page. Impossible input (clock-out before clock-in) is refused by the caller instead.
`breaches` is pure; the rest reads and writes through a session and never commits.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.delivery.service import Hold
from fieldbridge.kit.cache import MISSING, ProcessCache
from fieldbridge.kit.clock import utcnow
from fieldbridge.timekeeping.models import ClockShift, ShiftStatus, TimePolicy
from fieldbridge.timekeeping.repository import ShiftRepository
from fieldbridge.timekeeping.schemas import TimePolicyIn

DEFAULTS = TimePolicyIn()
# Shifts are at most 7 days long (schemas), so an overlapping one started at most this long before.
OVERLAP_LOOKBACK = timedelta(days=8)


@dataclass(frozen=True)
class Other:
    """Another shift of the same worker, for the overlap rule."""

    started_at: datetime
    ended_at: datetime | None
    place: str


def shift_key(shift_id: int) -> str:
    return f"shift:{shift_id}"


def _when(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def breaches(
    rules: TimePolicyIn,
    now: datetime,
    started_at: datetime,
    ended_at: datetime | None,
    others: Sequence[Other],
    tz: ZoneInfo,
) -> list[str]:
    """Each rule the shift breaks, in words an admin can check against the phone's report."""
    out: list[str] = []
    earliest = now - timedelta(days=rules.max_days_back)
    latest = now + timedelta(minutes=rules.max_minutes_ahead)
    for label, at in (("clock-in", started_at), ("clock-out", ended_at)):
        if at is None:
            continue
        if at > latest:
            out.append(f"the {label} ({_when(at, tz)}) is in the future")
        elif at < earliest:
            days = (now - at).days
            out.append(
                f"the {label} ({_when(at, tz)}) is {days} days back; the policy allows {rules.max_days_back}"
            )
    if ended_at is not None and ended_at - started_at > timedelta(hours=rules.max_shift_hours):
        hours = (ended_at - started_at).total_seconds() / 3600
        out.append(f"the shift is {hours:.1f} hours long; the policy allows {rules.max_shift_hours}")
    if rules.hold_overlaps:
        end = ended_at or max(now, started_at)
        for o in others:
            if o.started_at < end and started_at < (o.ended_at or max(now, o.started_at)):
                out.append(f"it overlaps the worker's shift from {_when(o.started_at, tz)} at {o.place}")
                break
    return out


# The company's rules across requests (`kit/cache.py`); any write to time_policies drops them.
_RULES: ProcessCache[int, TimePolicyIn] = ProcessCache("timekeeping.policy", tables={"time_policies"})


async def rules(session: AsyncSession, company_id: int) -> TimePolicyIn:
    known = _RULES.get(session, company_id)
    if known is not MISSING:
        return known.model_copy()
    stamp = _RULES.stamp(session)
    row = await ShiftRepository.from_session(session).time_policy(company_id)
    found = DEFAULTS if row is None else TimePolicyIn.model_validate(row, from_attributes=True)
    _RULES.put(session, company_id, found, stamp)
    return found.model_copy()


def cached_rules(engine: Engine, company_id: int) -> TimePolicyIn | None:
    """`rules` when the process cache has them, else None (a hot path's miss)."""
    known = _RULES.peek(engine, company_id)
    return None if known is MISSING else known


async def set_rules(session: AsyncSession, company_id: int, data: TimePolicyIn) -> TimePolicyIn:
    repo = ShiftRepository.from_session(session)
    row = await repo.time_policy(company_id)
    if row is None:
        await repo.add_time_policy(TimePolicy(company_id=company_id, **data.model_dump()))
    else:
        for key, value in data.model_dump().items():
            setattr(row, key, value)
    return data


async def holds(session: AsyncSession, shifts: Sequence[ClockShift], tz: ZoneInfo) -> dict[int, list[Hold]]:
    """The policy hold of each shift that breaks the policy and is not approved (by shift id).
    Two queries for any number of shifts: the rules, and the workers' shifts nearby."""
    todo = [s for s in shifts if s.status != ShiftStatus.approved]
    if not todo:
        return {}
    policy = await rules(session, todo[0].company_id)
    nearby: list[ClockShift] = []
    if policy.hold_overlaps:
        nearby = await ShiftRepository.from_session(session).worker_shifts_around(
            todo[0].company_id, sorted({s.worker_id for s in todo}), *around(todo)
        )
    return held(policy, todo, nearby, tz)


def around(shifts: Sequence[ClockShift]) -> tuple[datetime, datetime]:
    """Where the workers' shifts that may overlap these started: [since, until)."""
    return window(min(s.started_at for s in shifts), max(s.ended_at or s.started_at for s in shifts))


def window(first_start: datetime, last_end: datetime) -> tuple[datetime, datetime]:
    return first_start - OVERLAP_LOOKBACK, last_end + timedelta(days=1)


class _Near(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def worker_id(self) -> int: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def place(self) -> str: ...


def held(
    policy: TimePolicyIn, shifts: Sequence[ClockShift], nearby: Sequence[_Near], tz: ZoneInfo
) -> dict[int, list[Hold]]:
    """`holds` once the rules and the workers' nearby shifts are read (oldest first); pure.
    Approved shifts are skipped; without `hold_overlaps`, `nearby` is not looked at."""
    now = utcnow()
    out: dict[int, list[Hold]] = {}
    for shift in shifts:
        if shift.status == ShiftStatus.approved:
            continue
        others = (
            [
                Other(o.started_at, o.ended_at, o.place)
                for o in nearby
                if o.worker_id == shift.worker_id and o.id != shift.id
            ]
            if policy.hold_overlaps
            else []
        )
        found = breaches(policy, now, shift.started_at, shift.ended_at, others, tz)
        if found:
            reason = (
                "Held for approval: "
                + "; ".join(found)
                + ". An admin approves or corrects the shift on the Timesheets page; then it is sent."
            )
            out[shift.id] = [Hold(shift_key(shift.id), reason[:2000])]
    return out
