"""JSON encoding with a per-record cache that lives until the next write.

List endpoints join cached per-record bytes instead of re-encoding every record on every
request; any write bumps `Store.generation` and so invalidates the whole cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from starlette.responses import Response

from fieldbridge_sandbox.store import Record, Store

Serializer = Callable[[Record], dict[str, Any]]
JSON = "application/json; charset=utf-8"


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class JsonCache:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.generation = -1
        self.entries: dict[tuple[int, str], bytes] = {}

    def encode(self, row: Record, view: str, serializer: Serializer) -> bytes:
        if self.generation != self.store.generation:
            self.entries.clear()
            self.generation = self.store.generation
        key = (row["id"], view)
        cached = self.entries.get(key)
        if cached is None:
            cached = self.entries[key] = dumps(serializer(row))
        return cached

    def encode_list(self, rows: Iterable[Record], view: str, serializer: Serializer) -> bytes:
        return b"[" + b",".join(self.encode(r, view, serializer) for r in rows) + b"]"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else dumps(body)
    return Response(content, status_code=status, headers=headers, media_type=JSON)
