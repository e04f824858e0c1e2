"""The export log pages (admin and support): filter, counts, a row's story, its actions."""

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from fieldbridge.accounts.repository import WorkerRepository
from fieldbridge.accounts.scopes import Scope
from fieldbridge.delivery import service, states
from fieldbridge.delivery.repository import DeliveryRepository
from fieldbridge.delivery.schemas import LogQuery
from fieldbridge.delivery.states import Status
from fieldbridge.kit.deps import SessionDep
from fieldbridge.kit.errors import FieldBridgeError
from fieldbridge.web.render import WebPrincipal, checked_form, render, require_web_scope

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
ACTIONS = {"retry": service.retry, "replay": service.replay, "cancel": service.cancel}


def _query(request: Request) -> tuple[LogQuery, str | None]:
    raw = {k: v.strip() for k, v in request.query_params.items() if v.strip() and k in LogQuery.model_fields}
    try:
        return LogQuery.model_validate(raw), None
    except ValidationError as exc:
        first = exc.errors()[0]
        return LogQuery(), f"Filter {first['loc'][0]}: {first['msg']}"


@router.get("/export-log", response_class=HTMLResponse)
async def export_log(
    request: Request, principal: WebPrincipal, session: SessionDep, page: int = 1
) -> Response:
    require_web_scope(principal, Scope.deliveries_read)
    query, error = _query(request)
    page = max(1, min(page, 100_000))
    repo = DeliveryRepository.from_session(session)
    rows, total = await repo.list(
        principal.company_id, query.to_filter(), offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    workers, _ = await WorkerRepository.from_session(session).list(principal.company_id, limit=500)
    filters = {k: v for k, v in query.model_dump(mode="json").items() if v is not None}
    return render(
        request,
        "export_log.html",
        principal,
        section="export-log",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        query=query,
        filters=filters,
        qs=urlencode(filters),
        counts=await repo.counts_by_status(principal.company_id, query.to_filter()),
        statuses=list(Status),
        kinds=await repo.kinds(principal.company_id),
        connections=await repo.connections(principal.company_id),
        project_names=await repo.project_names(principal.company_id),
        workers=workers,
        worker_names={w.id: w.name for w in workers},
        error=error,
    )


@router.get("/export-log/{delivery_id}", response_class=HTMLResponse)
async def delivery_page(
    request: Request,
    delivery_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    notice: str | None = None,
) -> Response:
    require_web_scope(principal, Scope.deliveries_read)
    return await _detail(request, principal, session, delivery_id, notice=notice)


async def _detail(
    request: Request, principal: WebPrincipal, session: SessionDep, delivery_id: int, **extra: Any
) -> Response:
    row = await service.get(session, principal.company_id, delivery_id)
    repo = DeliveryRepository.from_session(session)
    connection = await repo.connection(principal.company_id, row.connection_id)
    worker = await WorkerRepository.from_session(session).get(principal.company_id, row.worker_id or 0)
    context: dict[str, Any] = {"notice": None, "error": None, **extra}
    return render(
        request,
        "delivery.html",
        principal,
        section="export-log",
        row=row,
        attempts=await repo.attempts(principal.company_id, row.id),
        connection=connection,
        worker=worker,
        project_name=(await repo.project_names(principal.company_id)).get(row.remote_project_id or 0),
        can_retry=row.status in states.RETRYABLE,
        can_replay=row.status in states.REPLAYABLE,
        can_cancel=row.status in states.CANCELLABLE,
        **context,
    )


async def _act(
    request: Request, delivery_id: int, action: str, principal: WebPrincipal, session: SessionDep
) -> Response:
    await service.get(session, principal.company_id, delivery_id)  # another company's id is a 404
    await checked_form(request, principal)
    require_web_scope(principal, Scope.deliveries_write)
    try:
        async with session.begin_nested():
            await ACTIONS[action](session, principal.company_id, delivery_id)
    except FieldBridgeError as exc:
        return await _detail(request, principal, session, delivery_id, error=exc.message, status_code=409)
    done = {"retry": "Queued to send again.", "replay": "Queued to replay.", "cancel": "Cancelled."}[action]
    return RedirectResponse(f"/export-log/{delivery_id}?{urlencode({'notice': done})}", status_code=303)


@router.post("/export-log/{delivery_id}/retry", response_class=HTMLResponse)
async def retry(request: Request, delivery_id: int, principal: WebPrincipal, session: SessionDep) -> Response:
    return await _act(request, delivery_id, "retry", principal, session)


@router.post("/export-log/{delivery_id}/replay", response_class=HTMLResponse)
async def replay(
    request: Request, delivery_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    return await _act(request, delivery_id, "replay", principal, session)


@router.post("/export-log/{delivery_id}/cancel", response_class=HTMLResponse)
async def cancel(
    request: Request, delivery_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    return await _act(request, delivery_id, "cancel", principal, session)
