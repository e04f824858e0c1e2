"""In-memory state of one sandbox: tables of records with small indexes, ids, clock, persistence.

Records are plain dicts shaped close to Procore's responses plus a few internal keys that
start with an underscore. Each table keeps one secondary index (by project or company) so
list endpoints never scan the whole table. `generation` increases on every write; the
serializers use it to cache encoded JSON between writes.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Record = dict[str, Any]

ID_BASE = 5_000_000_000

# table name -> field used for its secondary index (None: no index)
TABLES: dict[str, str | None] = {
    "companies": None,
    "projects": "company_id",
    "users": "company_id",
    "people": "company_id",
    "apps": None,
    "cost_codes": "project_id",
    "line_item_types": "company_id",
    "sub_jobs": "project_id",
    "budget_views": "project_id",
    "budget_line_items": "project_id",
    "timecard_time_types": "company_id",
    "timecard_entries": "project_id",
    "timesheets": "project_id",
    "crews": "project_id",
    "locations": "project_id",
    "incidents": "project_id",
    "injuries": "project_id",
    "hazards": "company_id",
    "contributing_conditions": "company_id",
    "contributing_behaviors": "company_id",
    "affliction_types": "company_id",
    "harm_sources": "company_id",
    "work_activities": "company_id",
    "body_parts": "company_id",
    "observation_types": "company_id",
    "observation_items": "project_id",
    "notes_logs": "project_id",
    "webhook_hooks": None,
    "webhook_triggers": "webhook_hook_id",
    "webhook_deliveries": "webhook_hook_id",
}


def write_snapshot(persist_path: str | None, data: dict[str, Any]) -> None:
    """Write a sandbox's state atomically (tmp file + rename) when persistence is on."""
    if not persist_path:
        return
    path = Path(persist_path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")))
    os.replace(tmp, path)


def read_snapshot(persist_path: str | None) -> dict[str, Any] | None:
    if not persist_path or not Path(persist_path).exists():
        return None
    data: dict[str, Any] = json.loads(Path(persist_path).read_text())
    return data


class Persisted:
    """`save`/`load` of a store's `snapshot()` to its `persist_path` (when set)."""

    persist_path: str | None

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def restore(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def save(self) -> None:
        write_snapshot(self.persist_path, self.snapshot())

    def load(self) -> bool:
        data = read_snapshot(self.persist_path)
        if data is None:
            return False
        self.restore(data)
        return True


def iso(ts: float) -> str:
    """Procore's timestamp form: ISO 8601 UTC with a Z."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Table:
    """Rows by id plus one index from a foreign key to the ids that carry it (insertion order)."""

    def __init__(self, name: str, index_field: str | None) -> None:
        self.name = name
        self.index_field = index_field
        self.rows: dict[int, Record] = {}
        self.index: dict[int, list[int]] = {}

    def add(self, row: Record) -> Record:
        self.rows[row["id"]] = row
        if self.index_field is not None:
            key = row.get(self.index_field)
            if key is not None:
                self.index.setdefault(key, []).append(row["id"])
        return row

    def get(self, row_id: int) -> Record | None:
        return self.rows.get(row_id)

    def by(self, key: int) -> list[Record]:
        rows = self.rows
        return [rows[i] for i in self.index.get(key, ())]

    def remove(self, row_id: int) -> Record | None:
        row = self.rows.pop(row_id, None)
        if row is not None and self.index_field is not None:
            ids = self.index.get(row.get(self.index_field) or 0)
            if ids and row_id in ids:
                ids.remove(row_id)
        return row

    def __iter__(self) -> Iterator[Record]:
        return iter(self.rows.values())

    def __len__(self) -> int:
        return len(self.rows)


class Store(Persisted):
    """All records of one sandbox, its id counter, clock and optional file persistence."""

    def __init__(self, persist_path: str | None = None) -> None:
        self.tables: dict[str, Table] = {n: Table(n, f) for n, f in TABLES.items()}
        self.next_id_value = ID_BASE
        self.generation = 0
        self.clock_offset = 0.0
        self.clock = time.time  # a bench may run the sandbox on its own (faster) clock
        self.persist_path = persist_path
        self.seed_name = "empty"
        # OAuth state lives here so it survives a restart when persisted.
        self.auth_codes: dict[str, Record] = {}
        self.access_tokens: dict[str, Record] = {}
        self.refresh_tokens: dict[str, Record] = {}

    # -- ids, time --------------------------------------------------------------------------
    def new_id(self) -> int:
        self.next_id_value += 1
        return self.next_id_value

    def now(self) -> float:
        return self.clock() + self.clock_offset

    def now_iso(self) -> str:
        return iso(self.now())

    def today(self) -> str:
        return iso(self.now())[:10]

    # -- tables -----------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    def insert(self, table: str, row: Record) -> Record:
        if "id" not in row:
            row["id"] = self.new_id()
        self.touch()
        return self.tables[table].add(row)

    def touch(self) -> None:
        self.generation += 1

    def all(self, table: str) -> Iterable[Record]:
        return self.tables[table].rows.values()

    @staticmethod
    def new_token(prefix: str) -> str:
        return f"{prefix}{secrets.token_urlsafe(32)}"

    # -- persistence ------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "seed": self.seed_name,
            "next_id": self.next_id_value,
            "tables": {n: list(t.rows.values()) for n, t in self.tables.items()},
            "auth_codes": self.auth_codes,
            "access_tokens": self.access_tokens,
            "refresh_tokens": self.refresh_tokens,
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.tables = {n: Table(n, f) for n, f in TABLES.items()}
        for name, rows in data["tables"].items():
            for row in rows:
                self.tables[name].add(row)
        self.seed_name = data["seed"]
        self.next_id_value = data["next_id"]
        self.auth_codes = data["auth_codes"]
        self.access_tokens = data["access_tokens"]
        self.refresh_tokens = data["refresh_tokens"]
        self.touch()
