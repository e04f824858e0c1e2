"""Seam 2 for echo: `echo.note.create` through the ledger (enqueue, drain, a string remote id
and version), paced by Echo's own rate-limit headers, and Echo's errors mapped by its
`map_error`."""

from datetime import timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import select

from fieldbridge.connections.models import ConnectionStatus
from fieldbridge.delivery.models import Delivery, DeliveryAttempt, RateBudget
from fieldbridge.delivery.runner import drain
from fieldbridge.delivery.service import enqueue
from fieldbridge.delivery.states import Status
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.connectors.echo.conftest import Linked, connection_row, http_clients


async def _enqueue(db: Database, linked: Linked, n: int = 1, **payload: Any) -> list[int]:
    async with db.transaction() as session:
        rows = [
            await enqueue(
                session,
                company_id=linked.company_id,
                connection_id=linked.connection_id,
                kind="echo.note.create",
                subject=f"note:{uuid4().hex}",  # each its own: none waits for another
                payload={"title": f"Pour on level {i}", "body": "Slab poured.", **payload},
            )
            for i in range(n)
        ]
        return [r.id for r in rows]


async def _rows(db: Database, ids: list[int]) -> list[Delivery]:
    async with db.sessionmaker() as session:
        found = await session.scalars(select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id))
        return list(found)


async def _drain(db: Database, linked: Linked, settings: Settings) -> None:
    await drain(db, linked.connection_id, http=http_clients(), settings=settings)


async def test_a_note_is_delivered_with_echos_string_id_and_version(
    linked: Linked, db: Database, settings: Settings
) -> None:
    (delivery_id,) = await _enqueue(db, linked)
    await _drain(db, linked, settings)
    (row,) = await _rows(db, [delivery_id])
    assert row.status == Status.delivered, row.reason
    (note,) = linked.server.notes.values()
    assert (note["account_id"], note["title"]) == ("acct_7Hq2", "Pour on level 0")
    assert note["external_ref"] == f"fieldbridge:{delivery_id}"
    assert row.remote_id == note["id"]
    assert str(row.remote_id).startswith("note_01J")
    assert row.remote_version == note["updated_at"]
    async with db.sessionmaker() as session:
        attempt = await session.scalar(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
        )
    assert attempt is not None
    assert attempt.http_status == 201
    reported = {
        "echo-quota-limit": "100",
        "echo-quota-remaining": "98",
        "echo-reset-at": str(linked.server.reset_at),
    }
    assert attempt.rate_limit == reported  # the picker's account list took one request of the quota


async def test_echo_saying_no_requests_are_left_pauses_the_drain_instead_of_collecting_429s(
    linked: Linked, db: Database, settings: Settings
) -> None:
    linked.server.quota_remaining = 1  # the next note spends Echo's quota for the window
    ids = await _enqueue(db, linked, n=3)
    started = utcnow()
    await _drain(db, linked, settings)
    first, paused, unclaimed = await _rows(db, ids)
    assert first.status == Status.delivered
    assert linked.server.served == [201]  # nothing else was sent: no 429 at all
    # The next row was put back without spending an attempt, due when Echo's window resets;
    # the drain stopped there, so the last one was never claimed.
    assert (paused.status, paused.attempts) == (Status.retrying, 0)
    reset = started + timedelta(seconds=linked.server.reset_at - started.timestamp())
    assert paused.next_attempt_at >= reset - timedelta(seconds=2)
    assert (unclaimed.status, unclaimed.attempts) == (Status.pending, 0)
    await _drain(db, linked, settings)  # a later drain asks nothing of Echo either
    assert linked.server.served == [201]
    async with db.sessionmaker() as session:
        budget = await session.get(RateBudget, linked.connection_id)
    assert budget is not None
    assert (budget.limit, budget.remaining, budget.reset_epoch) == (100, 0, linked.server.reset_at)


async def test_a_429_and_a_5xx_are_transient_and_a_4xx_is_rejected_through_map_error(
    linked: Linked, db: Database, settings: Settings
) -> None:
    linked.server.fail_next = [503]
    (unavailable,) = await _enqueue(db, linked)
    await _drain(db, linked, settings)
    (row,) = await _rows(db, [unavailable])
    assert (row.status, row.error_class) == (Status.retrying, "transient")
    assert row.reason == "Echo is unavailable (HTTP 503); trying again later."

    (refused,) = await _enqueue(db, linked, title=" ")
    async with db.transaction() as session:  # the 503's backoff is not what this part is about
        held_back = await session.get(Delivery, unavailable)
        assert held_back is not None
        held_back.status = Status.cancelled
    await _drain(db, linked, settings)
    (row,) = await _rows(db, [refused])
    assert (row.status, row.error_class) == (Status.rejected, "rejected")
    assert row.reason is not None
    assert row.reason.startswith("Echo refused the note (HTTP 422)")

    linked.server.fail_next = [429]
    (limited,) = await _enqueue(db, linked, title="Rebar inspection")
    before = utcnow()
    await _drain(db, linked, settings)
    (row,) = await _rows(db, [limited])
    assert (row.status, row.error_class) == (Status.retrying, "transient")
    assert row.reason == "Echo's quota is spent; sending again after its Retry-After."
    assert row.next_attempt_at >= before + timedelta(seconds=30)  # Echo's Retry-After
    assert linked.server.served == [503, 422, 429]


async def test_echos_own_429_is_heard_once_then_the_drain_waits_for_its_reset(
    linked: Linked, db: Database, settings: Settings
) -> None:
    linked.server.quota_remaining = 0  # spent by someone else: FieldBridge's budget cannot know
    first, second = await _enqueue(db, linked, n=2)
    before = utcnow()
    await _drain(db, linked, settings)
    await _drain(db, linked, settings)
    assert linked.server.served == [429]  # one 429, then nothing until Echo's window resets
    limited, waiting = await _rows(db, [first, second])
    assert (limited.status, limited.error_class, limited.attempts) == (Status.retrying, "transient", 1)
    reset = before + timedelta(seconds=linked.server.reset_at - before.timestamp())
    assert limited.next_attempt_at >= reset - timedelta(seconds=2)  # Echo's Retry-After
    assert waiting.attempts == 0  # never sent


async def test_a_token_echo_no_longer_honours_parks_the_connections_notes(
    linked: Linked, db: Database, settings: Settings
) -> None:
    linked.server.revoke_all()  # the app was removed at Echo: access and refresh tokens are dead
    (delivery_id,) = await _enqueue(db, linked)
    await _drain(db, linked, settings)
    (row,) = await _rows(db, [delivery_id])
    assert (row.status, row.error_class) == (Status.parked, "auth")
    assert row.reason is not None
    assert "Echo Notes" in row.reason
    assert (await connection_row(db, linked.connection_id)).status == ConnectionStatus.needs_reconnect
    assert linked.server.notes == {}
