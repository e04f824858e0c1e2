"""Time zones: names as people and Procore write them, and times shown with their zone.

Procore projects carry Rails/ActiveSupport zone names ("Mountain Time (US & Canada)"); people
type tz-database names ("America/Denver"). `zone_name` turns either into the tz-database name,
`local_time` shows an instant as wall time with the zone's abbreviation ("23:30 MST"), so a time
on a page or a phone never leaves the reader guessing which clock it is on.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_ZONE = "America/New_York"

# ActiveSupport::TimeZone's names and the tz-database zone each stands for.
RAILS_ZONES: dict[str, str] = {
    "International Date Line West": "Etc/GMT+12",
    "Midway Island": "Pacific/Midway",
    "American Samoa": "Pacific/Pago_Pago",
    "Hawaii": "Pacific/Honolulu",
    "Alaska": "America/Juneau",
    "Pacific Time (US & Canada)": "America/Los_Angeles",
    "Tijuana": "America/Tijuana",
    "Mountain Time (US & Canada)": "America/Denver",
    "Arizona": "America/Phoenix",
    "Chihuahua": "America/Chihuahua",
    "Mazatlan": "America/Mazatlan",
    "Central Time (US & Canada)": "America/Chicago",
    "Saskatchewan": "America/Regina",
    "Guadalajara": "America/Mexico_City",
    "Mexico City": "America/Mexico_City",
    "Monterrey": "America/Monterrey",
    "Central America": "America/Guatemala",
    "Eastern Time (US & Canada)": "America/New_York",
    "Indiana (East)": "America/Indiana/Indianapolis",
    "Bogota": "America/Bogota",
    "Lima": "America/Lima",
    "Quito": "America/Lima",
    "Atlantic Time (Canada)": "America/Halifax",
    "Caracas": "America/Caracas",
    "La Paz": "America/La_Paz",
    "Santiago": "America/Santiago",
    "Newfoundland": "America/St_Johns",
    "Brasilia": "America/Sao_Paulo",
    "Buenos Aires": "America/Argentina/Buenos_Aires",
    "Montevideo": "America/Montevideo",
    "Georgetown": "America/Guyana",
    "Puerto Rico": "America/Puerto_Rico",
    "Greenland": "America/Nuuk",
    "Mid-Atlantic": "Atlantic/South_Georgia",
    "Azores": "Atlantic/Azores",
    "Cape Verde Is.": "Atlantic/Cape_Verde",
    "Dublin": "Europe/Dublin",
    "Edinburgh": "Europe/London",
    "Lisbon": "Europe/Lisbon",
    "London": "Europe/London",
    "Casablanca": "Africa/Casablanca",
    "Monrovia": "Africa/Monrovia",
    "UTC": "Etc/UTC",
    "Belgrade": "Europe/Belgrade",
    "Bratislava": "Europe/Bratislava",
    "Budapest": "Europe/Budapest",
    "Ljubljana": "Europe/Ljubljana",
    "Prague": "Europe/Prague",
    "Sarajevo": "Europe/Sarajevo",
    "Skopje": "Europe/Skopje",
    "Warsaw": "Europe/Warsaw",
    "Zagreb": "Europe/Zagreb",
    "Brussels": "Europe/Brussels",
    "Copenhagen": "Europe/Copenhagen",
    "Madrid": "Europe/Madrid",
    "Paris": "Europe/Paris",
    "Amsterdam": "Europe/Amsterdam",
    "Berlin": "Europe/Berlin",
    "Bern": "Europe/Zurich",
    "Zurich": "Europe/Zurich",
    "Rome": "Europe/Rome",
    "Stockholm": "Europe/Stockholm",
    "Vienna": "Europe/Vienna",
    "West Central Africa": "Africa/Algiers",
    "Bucharest": "Europe/Bucharest",
    "Cairo": "Africa/Cairo",
    "Helsinki": "Europe/Helsinki",
    "Kyiv": "Europe/Kyiv",
    "Riga": "Europe/Riga",
    "Sofia": "Europe/Sofia",
    "Tallinn": "Europe/Tallinn",
    "Vilnius": "Europe/Vilnius",
    "Athens": "Europe/Athens",
    "Istanbul": "Europe/Istanbul",
    "Minsk": "Europe/Minsk",
    "Jerusalem": "Asia/Jerusalem",
    "Harare": "Africa/Harare",
    "Pretoria": "Africa/Johannesburg",
    "Kaliningrad": "Europe/Kaliningrad",
    "Moscow": "Europe/Moscow",
    "St. Petersburg": "Europe/Moscow",
    "Volgograd": "Europe/Volgograd",
    "Samara": "Europe/Samara",
    "Kuwait": "Asia/Kuwait",
    "Riyadh": "Asia/Riyadh",
    "Nairobi": "Africa/Nairobi",
    "Baghdad": "Asia/Baghdad",
    "Tehran": "Asia/Tehran",
    "Abu Dhabi": "Asia/Muscat",
    "Muscat": "Asia/Muscat",
    "Baku": "Asia/Baku",
    "Tbilisi": "Asia/Tbilisi",
    "Yerevan": "Asia/Yerevan",
    "Kabul": "Asia/Kabul",
    "Ekaterinburg": "Asia/Yekaterinburg",
    "Islamabad": "Asia/Karachi",
    "Karachi": "Asia/Karachi",
    "Tashkent": "Asia/Tashkent",
    "Chennai": "Asia/Kolkata",
    "Kolkata": "Asia/Kolkata",
    "Mumbai": "Asia/Kolkata",
    "New Delhi": "Asia/Kolkata",
    "Kathmandu": "Asia/Kathmandu",
    "Astana": "Asia/Almaty",
    "Dhaka": "Asia/Dhaka",
    "Sri Jayawardenepura": "Asia/Colombo",
    "Almaty": "Asia/Almaty",
    "Novosibirsk": "Asia/Novosibirsk",
    "Rangoon": "Asia/Yangon",
    "Bangkok": "Asia/Bangkok",
    "Hanoi": "Asia/Bangkok",
    "Jakarta": "Asia/Jakarta",
    "Krasnoyarsk": "Asia/Krasnoyarsk",
    "Beijing": "Asia/Shanghai",
    "Chongqing": "Asia/Chongqing",
    "Hong Kong": "Asia/Hong_Kong",
    "Urumqi": "Asia/Urumqi",
    "Kuala Lumpur": "Asia/Kuala_Lumpur",
    "Singapore": "Asia/Singapore",
    "Taipei": "Asia/Taipei",
    "Perth": "Australia/Perth",
    "Irkutsk": "Asia/Irkutsk",
    "Ulaanbaatar": "Asia/Ulaanbaatar",
    "Seoul": "Asia/Seoul",
    "Osaka": "Asia/Tokyo",
    "Sapporo": "Asia/Tokyo",
    "Tokyo": "Asia/Tokyo",
    "Yakutsk": "Asia/Yakutsk",
    "Darwin": "Australia/Darwin",
    "Adelaide": "Australia/Adelaide",
    "Canberra": "Australia/Sydney",
    "Melbourne": "Australia/Melbourne",
    "Sydney": "Australia/Sydney",
    "Brisbane": "Australia/Brisbane",
    "Hobart": "Australia/Hobart",
    "Vladivostok": "Asia/Vladivostok",
    "Guam": "Pacific/Guam",
    "Port Moresby": "Pacific/Port_Moresby",
    "Magadan": "Asia/Magadan",
    "Srednekolymsk": "Asia/Srednekolymsk",
    "Solomon Is.": "Pacific/Guadalcanal",
    "New Caledonia": "Pacific/Noumea",
    "Fiji": "Pacific/Fiji",
    "Kamchatka": "Asia/Kamchatka",
    "Marshall Is.": "Pacific/Majuro",
    "Auckland": "Pacific/Auckland",
    "Wellington": "Pacific/Auckland",
    "Nuku'alofa": "Pacific/Tongatapu",
    "Tokelau Is.": "Pacific/Fakaofo",
    "Chatham Is.": "Pacific/Chatham",
    "Samoa": "Pacific/Apia",
}


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=512)
def zone_name(name: str | None) -> str | None:
    """The tz-database name for a Rails or tz-database zone name (any case); None if unknown."""
    raw = (name or "").strip()
    if not raw:
        return None
    if raw in RAILS_ZONES:
        return RAILS_ZONES[raw]
    if raw in _known():
        return raw
    folded = raw.casefold()
    for rails, iana in RAILS_ZONES.items():
        if rails.casefold() == folded:
            return iana
    return next((z for z in _known() if z.casefold() == folded), None)


def zone(name: str | None, fallback: str = DEFAULT_ZONE) -> ZoneInfo:
    """The zone a name stands for, else the fallback's (a project without a zone in Procore
    uses its company's)."""
    found = zone_name(name) or zone_name(fallback) or DEFAULT_ZONE
    try:
        return ZoneInfo(found)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - names come from the tz database
        return ZoneInfo(DEFAULT_ZONE)


def zone_label(at: datetime, tz: ZoneInfo) -> str:
    """The zone's abbreviation at that instant ("MST", "MDT", "HST", "BST"), or its UTC offset
    where the tz database has no letters ("+0545")."""
    return at.astimezone(UTC).astimezone(tz).tzname() or tz.key


def local_time(at: datetime, tz: ZoneInfo | str | None, fmt: str = "%H:%M") -> str:
    """Wall time of an instant in a zone (a `ZoneInfo`, or a name as `zone` takes), with the
    zone: `local_time(t, denver)` → "23:30 MST"; `local_time(t, "America/Denver", "%a %d %b
    %H:%M")` → "Thu 26 Nov 23:30 MST". Also the `local_time` filter of the admin templates:
    `{{ row.created_at | local_time(tz) }}`."""
    tz = tz if isinstance(tz, ZoneInfo) else zone(tz)
    local = at.astimezone(UTC).astimezone(tz)
    return f"{local.strftime(fmt)} {local.tzname() or tz.key}"


class LocalTimeError(ValueError):
    """A wall time that does not exist in the zone (skipped when the clocks go forward)."""


def at_local(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant a naive wall time names in a zone. A time skipped when clocks go forward is
    refused with the nearest real times; a time that happens twice (clocks go back) is the first."""
    first = wall.replace(tzinfo=tz, fold=0)
    real = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if real != wall:
        raise LocalTimeError(
            f"{wall:%H:%M} does not exist on {wall:%Y-%m-%d} in {tz.key}: the clocks went forward "
            f"that night. Enter a time after the change, e.g. {local_time(first, tz)}."
        )
    return first


def wall_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant of a wall time on a day in a zone, for schedules (shifts, jobs, windows): a
    time that happens twice is the first; a time skipped when clocks go forward keeps the offset
    from before the change (02:30 on the spring-forward night is 03:30 daylight time)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day as UTC instants: 24 hours, or 23 and 25 on the days
    the clocks change (a midnight that does not exist starts the day at the change)."""
    return wall_instant(day, time(0), tz), wall_instant(day + timedelta(days=1), time(0), tz)


def local_span(day: date, start: time, end: time, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local window that begins on `day`; an end at or before the start is on
    the next day (a night shift). Its length follows the clocks: 22:00-06:00 is 7 or 9 hours on
    the nights they change."""
    end_day = day if end > start else day + timedelta(days=1)
    return wall_instant(day, start, tz), wall_instant(end_day, end, tz)
