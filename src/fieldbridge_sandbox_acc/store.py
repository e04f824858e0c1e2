"""In-memory state of one ACC sandbox: tables of records keyed by string ids, clock, tokens.

ACC ids are strings (UUIDs; users carry 12-character Autodesk ids). Records are plain dicts
shaped like ACC's responses plus internal keys that start with an underscore. `generation`
increases on every write.
"""

from __future__ import annotations

import random
import secrets
import string
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from fieldbridge_sandbox.store import Persisted

Record = dict[str, Any]

TABLES = (
    "apps",
    "users",
    "hubs",
    "projects",
    "issue_types",
    "attr_definitions",
    "attr_mappings",
    "root_cause_categories",
    "issues",
    "comments",
    "form_templates",
    "forms",
    "hooks",
    "deliveries",
)


def iso(ts: float) -> str:
    """ACC's timestamp form: ISO 8601 UTC with milliseconds and a Z."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class AccStore(Persisted):
    def __init__(self, persist_path: str | None = None) -> None:
        self.tables: dict[str, dict[str, Record]] = {n: {} for n in TABLES}
        self.generation = 0
        self.clock_offset = 0.0
        self.persist_path = persist_path
        self.seed_name = "empty"
        self.rng = random.Random()
        # OAuth state; kept in the snapshot so a persisted sandbox survives a restart.
        self.auth_codes: dict[str, Record] = {}
        self.access_tokens: dict[str, Record] = {}
        self.refresh_tokens: dict[str, Record] = {}
        # webhook secret tokens set with /webhooks/v1/tokens, by owner (user id or client id)
        self.hook_secrets: dict[str, str] = {}
        self.display_ids: dict[str, int] = {}  # project id -> last issue displayId

    # -- ids, time --------------------------------------------------------------------------
    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def new_autodesk_id(self) -> str:
        return "".join(self.rng.choice(string.ascii_uppercase + string.digits) for _ in range(12))

    def now(self) -> float:
        return time.time() + self.clock_offset

    def now_iso(self) -> str:
        return iso(self.now())

    @staticmethod
    def new_token(prefix: str) -> str:
        return f"{prefix}{secrets.token_urlsafe(32)}"

    # -- tables -----------------------------------------------------------------------------
    def table(self, name: str) -> dict[str, Record]:
        return self.tables[name]

    def get(self, table: str, row_id: str) -> Record | None:
        return self.tables[table].get(row_id)

    def insert(self, table: str, row: Record) -> Record:
        if "id" not in row:
            row["id"] = self.new_uuid()
        self.tables[table][row["id"]] = row
        self.touch()
        return row

    def rows(self, table: str) -> Iterator[Record]:
        return iter(self.tables[table].values())

    def where(self, table: str, **match: Any) -> list[Record]:
        return [r for r in self.tables[table].values() if all(r.get(k) == v for k, v in match.items())]

    def touch(self) -> None:
        self.generation += 1

    def next_display_id(self, project_id: str) -> int:
        self.display_ids[project_id] = self.display_ids.get(project_id, 0) + 1
        return self.display_ids[project_id]

    # -- persistence ------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "seed": self.seed_name,
            "tables": self.tables,
            "auth_codes": self.auth_codes,
            "access_tokens": self.access_tokens,
            "refresh_tokens": self.refresh_tokens,
            "hook_secrets": self.hook_secrets,
            "display_ids": self.display_ids,
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.tables = {n: dict(data["tables"].get(n, {})) for n in TABLES}
        self.seed_name = data["seed"]
        self.auth_codes = data["auth_codes"]
        self.access_tokens = data["access_tokens"]
        self.refresh_tokens = data["refresh_tokens"]
        self.hook_secrets = data["hook_secrets"]
        self.display_ids = data["display_ids"]
        self.touch()

    def clear(self) -> None:
        self.restore(
            {
                "seed": "empty",
                "tables": {},
                "auth_codes": {},
                "access_tokens": {},
                "refresh_tokens": {},
                "hook_secrets": {},
                "display_ids": {},
            }
        )
