"""Reconcile: the pull that does not depend on webhooks. For every ACC project FieldBridge filed
issues in through a connection, list the Safety issues updated since the last pass
(`filter[updatedAt]=<since>..<now>`, a minute of overlap) and record each as the same inbound
event a webhook would have produced (same de-duplication key, so a change seen both ways is
applied once; same echo rule, so FieldBridge's own writes are ignored), then dispatch them.
Runs with every project sync of the connection (the scheduled 15-minute re-sync included)."""

from datetime import datetime, timedelta

from sqlalchemy import select

from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.connectors.acc import setup as safety
from fieldbridge.connectors.acc.client import AccClient
from fieldbridge.connectors.acc.errors import AccError
from fieldbridge.connectors.acc.inbound import KEPT, RESOURCE
from fieldbridge.connectors.acc.provider import ISSUES_BASE, NAME
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.inbound import tasks as inbound_tasks
from fieldbridge.inbound.models import InboundState
from fieldbridge.inbound.repository import InboundRepository
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients

OVERLAP = timedelta(minutes=1)
FIRST_LOOKBACK = timedelta(days=2)


def aps_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def _projects(db: Database, connection_id: int) -> list[str]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(Delivery.remote_project_id)
            .where(
                Delivery.connection_id == connection_id,
                Delivery.status == Status.delivered,
                Delivery.kind.in_(("acc.safety.observation", "acc.safety.incident")),
                Delivery.remote_project_id.is_not(None),
            )
            .distinct()
        )
        return sorted(str(r) for r in rows.all() if r)


async def reconcile(db: Database, http: HttpClients, box: SecretBox, acc: AccClient) -> int:
    """Record and dispatch the issue changes since the last pass; returns how many were new."""
    assert acc.config is not None
    started = utcnow()
    since = (
        datetime.fromisoformat(acc.config.reconciled_through)
        if acc.config.reconciled_through
        else started - FIRST_LOOKBACK
    )
    window = f"{aps_time(since - OVERLAP)}..{aps_time(started + OVERLAP)}"
    new_ids: list[int] = []
    for project_id in await _projects(db, acc.connection_id):
        try:
            setup = await safety.cached(acc.get_json, acc.connection_id, project_id)
            changed = await acc.results(
                f"{ISSUES_BASE}/{project_id}/issues",
                {"filter[issueSubtypeId]": setup.subtype_id, "filter[updatedAt]": window},
            )
        except AccError:
            continue  # the project's own sync reports why; the next pass tries again
        async with db.transaction() as session:
            connection = await ConnectionRepository.from_session(session).get_for_job(acc.connection_id)
            if connection is None:
                return 0
            repo = InboundRepository.from_session(session)
            for issue in changed:
                version = str(issue.get("updatedAt") or "")
                new_id = await repo.insert_new(
                    {
                        "company_id": connection.company_id,
                        "connection_id": connection.id,
                        "provider": NAME,
                        "resource": RESOURCE,
                        "event_type": "issue.updated",
                        "remote_id": str(issue["id"])[:64],
                        "remote_project_id": project_id[:64],
                        "remote_version": version[:64] or None,
                        "dedupe_key": f"issue.updated:{issue['id']}:{version}"[:128],
                        "received_at": utcnow(),
                        "payload": {**{k: issue[k] for k in KEPT if k in issue}, "event": "reconcile"},
                        "state": InboundState.received,
                    }
                )
                if new_id is not None:
                    new_ids.append(new_id)
    async with db.transaction() as session:
        connection = await ConnectionRepository.from_session(session).get_for_job(acc.connection_id)
        if connection is not None:
            connection.config = {**connection.config, "reconciled_through": started.isoformat()}
    acc.config.reconciled_through = started.isoformat()
    await inbound_tasks.process_all(db, http, box, new_ids)
    return len(new_ids)
