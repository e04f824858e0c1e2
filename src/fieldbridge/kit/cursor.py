"""Cursor pagination for polling clients: rows in (updated_at, id) order, an opaque cursor that
points after the last row returned, and an `updated_since` filter.

A client that stores `next_cursor` and asks again later sees every row changed since, each
once per change, however many rows share a timestamp; an offset would skip or repeat rows
that change between pages. The cursor is base64url JSON, not a secret: a tampered one only
moves the client's own window, and a malformed one is a 400 that says what to send.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from fieldbridge.kit.errors import BadRequest

MAX_LIMIT = 200


@dataclass(frozen=True)
class Position:
    updated_at: datetime
    id: int


def encode(position: Position) -> str:
    raw = json.dumps({"u": position.updated_at.isoformat(), "i": position.id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str) -> Position:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        updated_at = datetime.fromisoformat(data["u"])
        row_id = int(data["i"])
        if updated_at.tzinfo is None:
            raise ValueError("naive")
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise BadRequest(
            "The cursor is not one this API gave out; send `next_cursor` from the previous page "
            "unchanged, or leave it out to start from the beginning.",
            code="bad_cursor",
        ) from exc
    return Position(updated_at, row_id)


def page(
    stmt: Select[Any],
    updated_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[int],
    *,
    cursor: str | None,
    updated_since: datetime | None,
    limit: int,
) -> Select[Any]:
    """`stmt` narrowed to one page: after the cursor, changed since `updated_since`, one extra
    row fetched so the caller knows whether there is a next page."""
    if updated_since is not None:
        stmt = stmt.where(updated_at >= updated_since)
    if cursor is not None:
        at = decode(cursor)
        stmt = stmt.where(or_(updated_at > at.updated_at, and_(updated_at == at.updated_at, row_id > at.id)))
    return stmt.order_by(updated_at, row_id).limit(limit + 1)


def finish(rows: list[Any], limit: int, cursor: str | None) -> tuple[list[Any], str | None, bool]:
    """The page's rows, the cursor to ask with next time, and whether more rows follow now.

    The cursor points after the last row returned; on an empty page it is the one sent, so a
    client can keep polling with it and get only what changes later."""
    items = rows[:limit]
    has_more = len(rows) > limit
    if not items:
        return items, cursor, False
    last = items[-1]
    return items, encode(Position(last.updated_at, last.id)), has_more
