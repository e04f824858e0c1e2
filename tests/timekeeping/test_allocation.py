"""Allocation arithmetic: the split always adds up to worked time minus breaks (property-based)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldbridge.timekeeping import allocation as a

START = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
totals = st.integers(min_value=0, max_value=24 * 100)
milestones = st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=8, unique=True)


@st.composite
def percent_split(draw: st.DrawFn) -> list[tuple[int, int]]:
    ids = draw(milestones)
    cuts = sorted(
        draw(st.lists(st.integers(0, a.BASIS_POINTS), min_size=len(ids) - 1, max_size=len(ids) - 1))
    )
    bounds = [0, *cuts, a.BASIS_POINTS]
    return [(m, bounds[n + 1] - bounds[n]) for n, m in enumerate(ids)]


@given(total=totals, parts=percent_split())
def test_percent_split_adds_up_and_stays_within_a_hundredth(total: int, parts: list[tuple[int, int]]) -> None:
    lines = a.split_by_percent(total, parts)
    assert sum(line.centihours for line in lines) == total
    shares = dict(parts)
    for line in lines:
        exact = total * shares[line.milestone_id] / a.BASIS_POINTS
        assert abs(line.centihours - exact) < 1
        assert line.centihours >= 0
    kept = [m for m, _ in parts if m in {line.milestone_id for line in lines}]
    assert [line.milestone_id for line in lines] == kept, "lines keep the order they were given in"


@given(total=totals, weights=st.lists(st.integers(0, 10_000), min_size=1, max_size=8))
def test_apportion_adds_up_for_any_weights(total: int, weights: list[int]) -> None:
    lines = a.apportion(total, list(enumerate(weights, start=1)))
    assert sum(line.centihours for line in lines) == total
    assert all(line.centihours >= 0 for line in lines)


@given(total=totals, ids=milestones, data=st.data())
def test_hours_split_is_accepted_exactly_when_it_adds_up(
    total: int, ids: list[int], data: st.DataObject
) -> None:
    parts = [(m, data.draw(st.integers(0, 2400))) for m in ids]
    given_sum = sum(c for _, c in parts)
    if given_sum == total:
        lines = a.split_by_hours(total, parts)
        assert sum(line.centihours for line in lines) == total
    else:
        with pytest.raises(a.AllocationError, match="must add up to"):
            a.split_by_hours(total, parts)


@given(minutes=st.integers(0, 48 * 60), breaks=st.integers(0, 120))
def test_worked_minutes_subtract_breaks_and_never_go_negative(minutes: int, breaks: int) -> None:
    worked = a.worked_minutes(START, START + timedelta(minutes=minutes, seconds=59), breaks)
    assert worked == max(0, minutes - breaks)
    c = a.minutes_to_centihours(worked)
    assert abs(c - worked * 100 / 60) <= 0.5


def test_rounding_rule_examples() -> None:
    assert a.minutes_to_centihours(480) == 800
    assert a.minutes_to_centihours(470) == 783
    assert a.minutes_to_centihours(20) == 33
    assert a.minutes_to_centihours(1) == 2  # 1.67 rounds half up to 2
    assert a.format_hours(783) == "7.83"
    assert a.format_hours(800) == "8"
    assert a.format_hours(50) == "0.5"
    # 33.33 / 33.33 / 33.34 % of 8 h: exact 2.6664, 2.6664, 2.6672; the two spare hundredths go to
    # the largest remainders (the third line, then the first of the tied two)
    lines = a.split_by_percent(800, [(1, 3333), (2, 3333), (3, 3334)])
    assert [line.centihours for line in lines] == [267, 266, 267]
    assert [line.centihours for line in a.apportion(800, [(1, 1), (2, 1), (3, 1)])] == [267, 267, 266]


def test_default_puts_everything_on_the_clock_in_milestone() -> None:
    assert a.default_split(750, 9) == [a.Line(9, 750)]


def test_parsing_and_messages() -> None:
    assert a.split(800, a.SplitMode.hours, [(1, "5.5"), (2, "2.5")]) == [a.Line(1, 550), a.Line(2, 250)]
    assert a.split(800, a.SplitMode.percent, [(1, 75), (2, "25")]) == [a.Line(1, 600), a.Line(2, 200)]
    with pytest.raises(a.AllocationError, match="adds up to 7 h; it must add up to 8 h"):
        a.split(800, a.SplitMode.hours, [(1, "5"), (2, "2")])
    with pytest.raises(a.AllocationError, match="add up to 90 %"):
        a.split(800, a.SplitMode.percent, [(1, "50"), (2, "40")])
    with pytest.raises(a.AllocationError, match="two decimals"):
        a.parse_hours("1.234")
    with pytest.raises(a.AllocationError, match="not a number"):
        a.parse_percent("abc")
    with pytest.raises(a.AllocationError, match="zero or more"):
        a.parse_hours("-1")
    with pytest.raises(a.AllocationError, match="only once"):
        a.split_by_hours(800, [(1, 400), (1, 400)])
    with pytest.raises(a.AllocationError, match="at least one"):
        a.split_by_hours(0, [])
    with pytest.raises(a.AllocationError, match="before clock-in"):
        a.worked_minutes(START, START - timedelta(minutes=1))
    # zero lines are dropped unless all are zero
    assert a.split(800, a.SplitMode.hours, [(1, "8"), (2, "0")]) == [a.Line(1, 800)]
    assert a.split(0, a.SplitMode.hours, [(1, "0"), (2, "0")]) == [a.Line(1, 0)]


def test_a_shift_longer_than_a_week_is_a_forgotten_clock_out() -> None:
    assert a.worked_minutes(START, START + timedelta(days=7)) == 7 * 24 * 60
    with pytest.raises(a.AllocationError, match="longer than 7 days"):
        a.worked_minutes(START, START + timedelta(days=7, minutes=1))
