"""Count what a unit of work really changes: rows of chosen models a session inserts, or
updates with a different value (assigning the same value is not a change)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


@contextmanager
def counting(session: AsyncSession, models: tuple[type[Any], ...], found: list[str]) -> Iterator[None]:
    """Append "new Model id" / "changed Model id" to `found` for each row of `models` that the
    session's flushes insert or change while the block runs."""

    def before_flush(sync: Session, _ctx: Any, _instances: Any) -> None:
        for obj in sync.new:
            if isinstance(obj, models):
                found.append(f"new {type(obj).__name__} {getattr(obj, 'external_id', '')}".strip())
        for obj in sync.dirty:
            if isinstance(obj, models) and sync.is_modified(obj, include_collections=False):
                found.append(f"changed {type(obj).__name__} {getattr(obj, 'external_id', '')}".strip())

    target = session.sync_session
    event.listen(target, "before_flush", before_flush)
    try:
        yield
    finally:
        event.remove(target, "before_flush", before_flush)
