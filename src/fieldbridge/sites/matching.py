"""Which worker a remote person is: by email, then employee id, then an unambiguous full
name (pure; unit-tested directly)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def normal_name(name: str | None) -> str:
    return " ".join((name or "").lower().replace(".", " ").split())


@dataclass(frozen=True)
class WorkerKeys:
    id: int
    email: str | None
    employee_id: str | None
    name: str


def match_worker(
    person: Mapping[str, Any], workers: Iterable[WorkerKeys], taken: set[int]
) -> tuple[int, str] | None:
    """The worker a person is, by email, then employee id, then an unambiguous name."""
    pool = [w for w in workers if w.id not in taken]
    email = (person.get("email") or "").strip().lower()
    if email:
        hits = [w for w in pool if (w.email or "").strip().lower() == email]
        if len(hits) == 1:
            return hits[0].id, "email"
    employee_id = (person.get("employee_id") or "").strip()
    if employee_id:
        hits = [w for w in pool if (w.employee_id or "").strip() == employee_id]
        if len(hits) == 1:
            return hits[0].id, "employee_id"
    name = normal_name(person.get("name"))
    if name:
        hits = [w for w in pool if normal_name(w.name) == name]
        if len(hits) == 1:
            return hits[0].id, "name"
    return None
