"""Pagination for our own API: offset (`page`/`per_page` in, items plus totals out) and cursor
(an opaque `cursor` in, items plus `next_cursor` out) for lists clients poll."""

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from fieldbridge.kit.errors import Unprocessable

T = TypeVar("T")
R = TypeVar("R")
MAX_PER_PAGE = 200


class PageParams(BaseModel):
    page: int = 1
    per_page: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="items per page")] = 50,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int


# -- cursor pagination ---------------------------------------------------------------------
# For lists a client polls ("what changed since I last asked?"): the items are ordered by a
# key that only grows for new changes (e.g. (updated_at, id)) and the cursor is the key of the
# last item served, opaque to the client. A row changed after it was served moves to the end
# and is served again; no row is skipped, however many rows share one timestamp.


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    # Where to continue: after the last item, or the cursor sent when there was nothing new.
    # Keep it and ask again later to get only what changed since.
    next_cursor: str | None = None
    has_more: bool = False  # more items are waiting now: ask again at once


class CursorError(ValueError):
    """A cursor this API did not hand out (or from another list)."""


def encode_cursor(*key: object) -> str:
    """An opaque cursor for a key of JSON-able values (datetimes as ISO text)."""
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> tuple[Any, ...]:
    """The key a cursor holds, each value checked against `kinds` (datetime, int or str)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CursorError("not a cursor this list handed out") from exc
    if not isinstance(values, list) or len(values) != len(kinds):
        raise CursorError("not a cursor this list handed out")
    out: list[Any] = []
    for value, kind in zip(values, kinds, strict=True):
        if kind is datetime:
            try:
                parsed = datetime.fromisoformat(value)
            except (TypeError, ValueError) as exc:
                raise CursorError("not a cursor this list handed out") from exc
            if parsed.tzinfo is None:
                raise CursorError("not a cursor this list handed out")
            out.append(parsed)
        elif (kind is int and isinstance(value, int) and not isinstance(value, bool)) or (
            kind is str and isinstance(value, str)
        ):
            out.append(value)
        else:
            raise CursorError("not a cursor this list handed out")
    return tuple(out)


def changed_key(cursor: str | None) -> tuple[datetime, int] | None:
    """The (changed-at, id) key of a polling list's cursor; a cursor it did not hand out is a 422."""
    if cursor is None:
        return None
    try:
        at, row_id = decode_cursor(cursor, (datetime, int))
    except CursorError as exc:
        raise Unprocessable(
            f"cursor: {exc}; send next_cursor unchanged, or start again without it",
            details=[{"field": "cursor", "problem": str(exc)}],
        ) from exc
    return at, row_id


def next_page(
    rows: Sequence[R], limit: int, cursor: str | None, at: str = "updated_at"
) -> tuple[Sequence[R], str | None, bool]:
    """Rows read with `limit + 1` as (this page, next_cursor, has_more): the cursor is the last
    served row's (at, id) key, or the one sent when nothing was new."""
    more, items = len(rows) > limit, rows[:limit]
    last: Any = items[-1] if items else None
    following = encode_cursor(getattr(last, at), last.id) if last is not None else cursor
    return items, following, more
