"""Allocation arithmetic for clock-out: pure functions, no I/O.

Rounding rule (the one place it is defined):

1. Worked time is whole minutes: `(clock_out - clock_in)` truncated to the minute, minus the
   break minutes. It is never negative.
2. Hours are kept as integer **hundredths of an hour** ("centihours", 0.01 h = 36 s), the
   precision Procore shows. Minutes become centihours rounding half up:
   `c = (minutes * 100 + 30) // 60` (8 h 00 = 800, 7 h 50 = 783, 20 min = 33).
3. A split **by hours** gives each milestone hours with at most two decimals; they must add up
   to exactly the worked centihours, or the split is refused with both numbers in the message.
4. A split **by percent** gives percents with at most two decimals adding up to exactly 100.
   Each milestone gets the floor of its exact share; the centihours left over (fewer than the
   number of lines) go one each to the lines with the largest remainders, earlier lines first
   on ties (the largest-remainder method). So the parts always add up to the worked time and
   each part is within 0.01 h of its exact share.
5. The default allocation puts all worked time on the clock-in milestone.
6. Lines that end up with 0 h are dropped, unless every line is 0 h (then the first stays).
   The first remaining line is the one that updates the timecard entry made at clock-in.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

CENTI_PER_HOUR = 100
BASIS_POINTS = 10_000
MAX_SHIFT_MINUTES = 7 * 24 * 60  # longer is a forgotten clock-out: correct it


class SplitMode(StrEnum):
    hours = "hours"
    percent = "percent"


class AllocationError(ValueError):
    """A split a person has to fix; the message says how."""


@dataclass(frozen=True)
class Line:
    milestone_id: int
    centihours: int

    @property
    def hours(self) -> str:
        return format_hours(self.centihours)


def worked_minutes(start: datetime, end: datetime, break_minutes: int = 0) -> int:
    if end < start:
        raise AllocationError("Clock-out is before clock-in; check the times.")
    if break_minutes < 0:
        raise AllocationError("Breaks cannot be negative.")
    total = int((end - start).total_seconds() // 60)
    if total > MAX_SHIFT_MINUTES:
        raise AllocationError("A shift cannot be longer than 7 days; check the clock-in and clock-out times.")
    return max(0, total - break_minutes)


def minutes_to_centihours(minutes: int) -> int:
    return (max(0, minutes) * CENTI_PER_HOUR + 30) // 60


def format_hours(centihours: int) -> str:
    """ "7.83", "8", "0.5": the way Procore's `hours` string and the phone show it."""
    whole, frac = divmod(centihours, CENTI_PER_HOUR)
    if frac == 0:
        return str(whole)
    return f"{whole}.{frac:02d}".rstrip("0")


def _fixed(value: str | float | int, what: str, scale: int) -> int:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise AllocationError(f"{value!r} is not a number of {what}.") from None
    if not number.is_finite() or number < 0:
        raise AllocationError(f"{what.capitalize()} must be zero or more.")
    scaled = number * scale
    if scaled != scaled.to_integral_value():
        raise AllocationError(f"Use at most two decimals for {what} ({value}).")
    return int(scaled)


def parse_hours(value: str | float | int) -> int:
    return _fixed(value, "hours", CENTI_PER_HOUR)


def parse_percent(value: str | float | int) -> int:
    return _fixed(value, "percent", 100)


def default_split(total_centihours: int, milestone_id: int) -> list[Line]:
    return [Line(milestone_id, total_centihours)]


def _check_milestones(milestone_ids: Sequence[int]) -> None:
    if not milestone_ids:
        raise AllocationError("Pick at least one milestone for the time.")
    if len(set(milestone_ids)) != len(milestone_ids):
        raise AllocationError("Each milestone can appear only once in a split.")


def _trim(lines: list[Line]) -> list[Line]:
    kept = [line for line in lines if line.centihours > 0]
    return kept or lines[:1]


def split_by_hours(total_centihours: int, parts: Sequence[tuple[int, int]]) -> list[Line]:
    """`parts` is (milestone id, centihours); they must add up to the worked time exactly."""
    _check_milestones([m for m, _ in parts])
    given = sum(c for _, c in parts)
    if given != total_centihours:
        raise AllocationError(
            f"The split adds up to {format_hours(given)} h; it must add up to "
            f"{format_hours(total_centihours)} h (worked time minus breaks)."
        )
    return _trim([Line(m, c) for m, c in parts])


def split_by_percent(total_centihours: int, parts: Sequence[tuple[int, int]]) -> list[Line]:
    """`parts` is (milestone id, hundredths of a percent); they must add up to 100 %."""
    _check_milestones([m for m, _ in parts])
    given = sum(bp for _, bp in parts)
    if given != BASIS_POINTS:
        raise AllocationError(
            f"The percentages add up to {Decimal(given) / 100:g} %; they must add up to 100 %."
        )
    return _trim(apportion(total_centihours, parts))


def apportion(total_centihours: int, weights: Sequence[tuple[int, int]]) -> list[Line]:
    """Share `total_centihours` in proportion to integer weights (largest remainder; ties to the
    earlier line). Used for percent splits and to rescale a split when a correction changes the time."""
    whole = sum(w for _, w in weights)
    if whole <= 0:
        return [Line(m, total_centihours if n == 0 else 0) for n, (m, _) in enumerate(weights)]
    floors = [(total_centihours * w) // whole for _, w in weights]
    remainders = [(total_centihours * w) % whole for _, w in weights]
    left = total_centihours - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [Line(m, c) for (m, _), c in zip(weights, floors, strict=True)]


def split(
    total_centihours: int, mode: SplitMode, parts: Sequence[tuple[int, str | float | int]]
) -> list[Line]:
    """Parse the phone's values for `mode` and split the worked time."""
    if mode is SplitMode.hours:
        return split_by_hours(total_centihours, [(m, parse_hours(v)) for m, v in parts])
    return split_by_percent(total_centihours, [(m, parse_percent(v)) for m, v in parts])
