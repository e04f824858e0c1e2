"""Procore list mechanics: page/per_page with Link/Total/Per-Page headers, filters, sort."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fieldbridge_sandbox.errors import bad_request
from fieldbridge_sandbox.store import Record


def page_params(query: Any, default: int, maximum: int) -> tuple[int, int]:
    try:
        page = max(1, int(query.get("page") or 1))
        per_page = int(query.get("per_page") or default)
    except ValueError as exc:
        raise bad_request("page and per_page must be integers") from exc
    return page, min(max(1, per_page), maximum)


def paginate(
    items: Sequence[Any],
    query: Any,
    url_path: str,
    query_items: list[tuple[str, str]],
    default: int,
    maximum: int,
) -> tuple[Sequence[Any], dict[str, str]]:
    """Slice one page and build Procore's headers: `Total`, `Per-Page` and an RFC 5988 `Link`.

    `url_path` is the absolute URL of the list (Procore's links are absolute). Which links a
    page carries follows Procore's pagination guide: page 1 has `next` and `last`; page 2
    `first`, `next` and `last` (no `prev`, it would repeat `first`); later pages add `prev`;
    the last page has no `next`.
    """
    page, per_page = page_params(query, default, maximum)
    total = len(items)
    last = max(1, -(-total // per_page))
    start = (page - 1) * per_page
    headers = {"Total": str(total), "Per-Page": str(per_page)}
    base = [(k, v) for k, v in query_items if k not in ("page", "per_page")]

    def link(p: int, rel: str) -> str:
        qs = urlencode([*base, ("page", str(p)), ("per_page", str(per_page))])
        return f'<{url_path}?{qs}>; rel="{rel}"'

    links = []
    if page > 1:
        links.append(link(1, "first"))
    if page > 2:
        links.append(link(min(page - 1, last), "prev"))
    links.append(link(last, "last"))
    if page < last:
        links.append(link(page + 1, "next"))
    headers["Link"] = ", ".join(links)
    return items[start : start + per_page], headers


def parse_instant(text: str, end: bool) -> datetime:
    """`YYYY-MM-DD` (whole day) or ISO 8601 datetime with Z / offset, as aware UTC."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            return day + timedelta(days=1) - timedelta(microseconds=1) if end else day
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"Invalid ISO 8601 value in range: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@lru_cache(maxsize=512)
def parse_range(value: str, name: str) -> tuple[datetime, datetime]:
    """`A...B` as Procore's filters require; a bare value is a one-value range."""
    if "..." in value:
        start, end = value.split("...", 1)
    else:
        start = end = value
    if not start or not end:
        raise bad_request(f"{name} must be an ISO 8601 range written as A...B")
    return parse_instant(start, False), parse_instant(end, True)


def in_range(stamp: str | None, bounds: tuple[datetime, datetime]) -> bool:
    if not stamp:
        return False
    value = parse_instant(stamp, False)
    return bounds[0] <= value <= bounds[1]


def id_list(query: Any, name: str) -> set[int] | None:
    """`filters[x][]=1&filters[x][]=2`, `filters[x]=1,2` or `filters[x]=[1,2]` -> ids."""
    raw = query.getlist(f"{name}[]") + query.getlist(name)
    if not raw:
        return None
    out: set[int] = set()
    for chunk in raw:
        for part in chunk.strip("[]").split(","):
            if part.strip():
                try:
                    out.add(int(part))
                except ValueError as exc:
                    raise bad_request(f"{name} must contain integers") from exc
    return out


def str_list(query: Any, name: str) -> set[str] | None:
    raw = query.getlist(f"{name}[]") + query.getlist(name)
    return {p for chunk in raw for p in chunk.split(",") if p} if raw else None


def flag(query: Any, name: str) -> bool | None:
    value = query.get(name)
    if value is None:
        return None
    return value.lower() in ("true", "1", "yes")


def apply_filters(
    rows: Iterable[Record], query: Any, tests: dict[str, Callable[[Record, str], bool]]
) -> list[Record]:
    """Keep rows passing every `filters[...]` test present in the query (AND semantics)."""
    active = [(test, query.get(name)) for name, test in tests.items() if query.get(name)]
    if not active:
        return rows if isinstance(rows, list) else list(rows)
    return [r for r in rows if all(test(r, v) for test, v in active)]


def updated_between(field: str) -> Callable[[Record, str], bool]:
    def test(row: Record, value: str) -> bool:
        return in_range(row.get(field), parse_range(value, f"filters[{field}]"))

    return test


def sort_rows(rows: list[Record], sort: str | None, allowed: set[str]) -> list[Record]:
    """`sort=a,-b`; unknown fields are ignored (Rails ignores unknown params)."""
    if not sort:
        return rows
    for key in reversed([k.strip() for k in sort.split(",") if k.strip()]):
        field = key.lstrip("-")
        if field in allowed:
            rows = sorted(
                rows, key=lambda r: (r.get(field) is None, r.get(field) or ""), reverse=key.startswith("-")
            )
    return rows


def filter_ids(rows: list[Record], query: Any, pairs: Iterable[tuple[str, str]]) -> list[Record]:
    """Apply `filters[x][]=id` style filters: each (query name, record field) pair ANDed."""
    for name, field in pairs:
        ids = id_list(query, name)
        if ids is not None:
            rows = [r for r in rows if r.get(field) in ids]
    return rows
