"""Helpers the ACC route modules share: limit/offset pages, stamps, public views."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request

from fieldbridge_sandbox_acc.errors import AccError, bad_input
from fieldbridge_sandbox_acc.store import Record


async def json_object(request: Request, refuse: Callable[[str], AccError] = bad_input) -> dict[str, Any]:
    """The body as a JSON object (empty body: `{}`); otherwise `refuse(message)` is raised."""
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        raise refuse("The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise refuse("The request body must be a JSON object")
    return data


def public(row: Record) -> dict[str, Any]:
    """A record without internal (`_`) keys and without nulls: Issues.yaml marks no field
    nullable, so an absent value is left out rather than sent as null."""
    return {k: v for k, v in row.items() if not k.startswith("_") and v is not None}


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_input(
            f"{name} must be an integer", [{"field": name, "message": "not an integer"}]
        ) from None
    if not low <= value <= high:
        raise bad_input(
            f"{name} must be between {low} and {high}",
            [{"field": name, "message": f"must be between {low} and {high}"}],
        )
    return value


def page(
    request: Request,
    rows: Sequence[Record],
    view: Callable[[Record], dict[str, Any]],
    *,
    default_limit: int,
    max_limit: int,
    key: str = "results",
) -> dict[str, Any]:
    """ACC's `{pagination: {limit, offset, totalResults}, results: [...]}` page."""
    limit = int_param(request, "limit", default_limit, 1, max_limit)
    offset = int_param(request, "offset", 0, 0, 10**9)
    return {
        "pagination": {"limit": limit, "offset": offset, "totalResults": len(rows)},
        key: [view(r) for r in rows[offset : offset + limit]],
    }


def csv_param(request: Request, name: str) -> list[str] | None:
    """A comma-separated filter (`filter[status]=open,closed`), repeated keys merged."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    return [v.strip() for raw in values for v in raw.split(",") if v.strip()]


def parse_moment(value: str) -> tuple[datetime, datetime] | None:
    """`YYYY-MM-DD` (that whole day) or a timestamp (that instant): the [start, end] it covers."""
    from datetime import UTC, timedelta

    text = value.strip()
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return day, day + timedelta(days=1) - timedelta(microseconds=1)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment, moment


def date_filter(request: Request, name: str) -> Callable[[str | None], bool] | None:
    """ACC date filters: `value` (that day or instant), `start..end` ranges (either side may be
    open), several values separated by commas. None when the filter is absent."""
    values = csv_param(request, name)
    if values is None:
        return None
    ranges: list[tuple[datetime | None, datetime | None]] = []
    for value in values:
        lo_text, sep, hi_text = value.partition("..")
        lo = parse_moment(lo_text) if lo_text else None
        hi = parse_moment(hi_text) if hi_text else None
        if (lo_text and lo is None) or (hi_text and hi is None) or not (lo or hi):
            raise bad_input(
                f"{name}: {value!r} is not YYYY-MM-DD, an ISO 8601 timestamp or a start..end range",
                [{"field": name, "message": "invalid date"}],
            )
        if sep:
            ranges.append((lo[0] if lo else None, hi[1] if hi else None))
        else:
            assert lo is not None
            ranges.append(lo)

    def matches(stamp: str | None) -> bool:
        if not stamp:
            return False
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        return any((lo is None or lo <= moment) and (hi is None or moment <= hi) for lo, hi in ranges)

    return matches
