"""Zone names as Procore and people write them, local times with the zone's name, and wall times
that a daylight-saving change skips or repeats."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from fieldbridge.kit.zones import RAILS_ZONES, LocalTimeError, at_local, local_time, zone, zone_name

DENVER = ZoneInfo("America/Denver")


def test_every_procore_zone_name_is_a_zone_of_the_tz_database() -> None:
    for rails, iana in RAILS_ZONES.items():
        assert ZoneInfo(iana).key == iana, rails


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Mountain Time (US & Canada)", "America/Denver"),
        ("mountain time (us & canada)", "America/Denver"),
        ("Hawaii", "Pacific/Honolulu"),
        ("US/Pacific", "US/Pacific"),
        ("america/new_york", "America/New_York"),
        ("  Europe/London ", "Europe/London"),
        ("Denver", None),
        ("../../etc/passwd", None),
        ("", None),
        (None, None),
    ],
)
def test_zone_names(name: str | None, expected: str | None) -> None:
    assert zone_name(name) == expected


def test_an_unknown_zone_falls_back_to_the_companys() -> None:
    assert zone(None, "Pacific/Honolulu").key == "Pacific/Honolulu"
    assert zone("Nowhere", "Hawaii").key == "Pacific/Honolulu"
    assert zone("Nowhere", "Nowhere either").key == "America/New_York"


def test_local_time_names_the_zone() -> None:
    at = datetime(2026, 11, 27, 6, 30, tzinfo=UTC)
    assert local_time(at, DENVER) == "23:30 MST"
    assert local_time(at, "Hawaii", "%a %d %b %H:%M") == "Thu 26 Nov 20:30 HST"
    assert local_time(at, "Asia/Kathmandu") == "12:15 +0545"
    assert local_time(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "Europe/London") == "13:00 BST"


def test_a_wall_time_skipped_by_spring_forward_is_refused_with_a_real_one() -> None:
    with pytest.raises(
        LocalTimeError, match=r"02:30 does not exist on 2026-03-08 in America/New_York.*03:30 EDT"
    ):
        at_local(datetime(2026, 3, 8, 2, 30), ZoneInfo("America/New_York"))


def test_a_wall_time_repeated_by_fall_back_is_the_first_one() -> None:
    first = at_local(datetime(2026, 11, 1, 1, 30), DENVER)
    assert first.astimezone(UTC) == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)  # 01:30 MDT
    assert at_local(datetime(2026, 11, 1, 3, 0), DENVER).astimezone(UTC) == datetime(
        2026, 11, 1, 10, 0, tzinfo=UTC
    )
