"""The one webhook receiver: `POST /api/v1/webhooks/{provider}/{connection_id}` (Procore's hooks
point at `/api/v1/webhooks/procore/<id>`). It records and answers 2xx; processing runs after
the commit."""

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, status

from fieldbridge.connections.connector import installed_registry
from fieldbridge.inbound import service, tasks
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.deps import DatabaseDep, HttpDep, SessionDep, SettingsDep

public_router = APIRouter(tags=["webhooks"])


@public_router.post(
    "/webhooks/{provider}/{connection_id}", status_code=status.HTTP_200_OK, summary="Webhook receiver"
)
async def receive_webhook(
    provider: str,
    connection_id: int,
    request: Request,
    session: SessionDep,
    db: DatabaseDep,
    http: HttpDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """The connector authenticates the request (Procore: the connection's secret in
    `Authorization`); an unknown destination and a wrong secret are the same 404. Duplicates
    (same dedupe key, e.g. Procore's `ulid`) are acknowledged and dropped."""
    received = await service.receive(
        session, installed_registry(), provider, connection_id, request.headers, await request.body()
    )
    if not received.new_ids:
        return {"status": "duplicate"}
    background.add_task(tasks.process_all, db, http, SecretBox(settings.secret), received.new_ids)
    return {"status": "accepted"}
