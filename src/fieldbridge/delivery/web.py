"""The export log pages (admin and support): filter, counts, a row's story, its actions.

Each row reads in words first (status, what it is: worker, project, date, hours; why), with
the row it waits for, a link to where the fix is, and times in the reader's zone.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from fieldbridge.accounts.auth import WebPrincipal, checked_form, require_web_scope
from fieldbridge.accounts.repository import WorkerRepository
from fieldbridge.accounts.scopes import Scope
from fieldbridge.connections.connector import installed_registry
from fieldbridge.connections.models import Connection
from fieldbridge.delivery import service, states
from fieldbridge.delivery.budget import BudgetState, decide
from fieldbridge.delivery.models import Delivery, RateBudget
from fieldbridge.delivery.repository import DeliveryRepository
from fieldbridge.delivery.schemas import LogQuery
from fieldbridge.delivery.states import Status
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.deps import SessionDep
from fieldbridge.kit.errors import FieldBridgeError
from fieldbridge.web.render import render

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
ACTIONS = {"retry": service.retry_chain, "replay": service.replay, "cancel": service.cancel}
PROCORE = "/settings/integrations/procore/{connection_id}"
# Phrases of the reasons FieldBridge writes -> where a person fixes that (label, page).
FIXES = (
    # safety kinds' plain reasons (connections.outcomes): where a person fixes each
    ("mapped value missing", "Fix the safety mapping", "/safety/mapping/{connection_id}"),
    ("tool not enabled", "Check the project's safety tools", "/safety/setup"),
    ("no permission:", "Check the project's safety tools", "/safety/setup"),
    ("not linked to a Procore person", "Link this worker", PROCORE + "/people?unmatched=1&q={worker}"),
    ("Link this worker", "Link this worker", PROCORE + "/people?unmatched=1&q={worker}"),
    ("is inactive", "See the project", PROCORE + "/projects"),
    ("not available to FieldBridge", "Sync projects", PROCORE + "/projects"),
    ("Timecard permission", "Open the Procore connection", PROCORE),
    ("refused FieldBridge access", "Open the Procore connection", PROCORE),
    ("econnect", "Reconnect Procore", PROCORE),
    ("on Timesheets", "Open Timesheets", "/timesheets"),
)


PACED = "Paced: this connection's Procore request budget is spent until the next try; it goes out by itself."


@dataclass(frozen=True)
class Fix:
    label: str
    url: str


@dataclass(frozen=True)
class Line:
    """One row as a person reads it."""

    row: Delivery
    what: str  # "Maria Lopez · Maple Grove Library · Tue 1 Dec · 8 h"
    action: str  # "Clock-in", "New entry", "Change"
    why: str | None
    fix: Fix | None
    waits_for: Delivery | None
    paced_until: datetime | None


def _hours(fields: dict[str, Any]) -> str | None:
    if fields.get("time_in") and fields.get("time_out"):
        start = datetime.fromisoformat(str(fields["time_in"]).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(fields["time_out"]).replace("Z", "+00:00"))
        minutes = (end - start).total_seconds() / 60 - float(fields.get("lunch_time") or 0)
        return f"{minutes / 60:.2f} h".replace(".00 h", " h")
    if fields.get("hours") not in (None, ""):
        return f"{float(fields['hours']):g} h"
    return None


def describe(row: Delivery, project_names: dict[str, str], worker_names: dict[int, str]) -> tuple[str, str]:
    """(what, action) in words: worker, project, date, hours; not ids and hashes."""
    payload = row.payload or {}
    labels = payload.get("labels") or {}
    fields = payload.get("changes") or payload
    worker = labels.get("worker") or worker_names.get(row.worker_id or 0)
    project = labels.get("project") or project_names.get(row.remote_project_id or "")
    if project is None and row.remote_project_id:
        project = f"Procore project {row.remote_project_id}"
    day = None
    if fields.get("date"):
        try:
            d = date.fromisoformat(str(fields["date"]))
            day = f"{d:%a} {d.day} {d:%b}"
        except ValueError:
            day = str(fields["date"])
    hours = _hours(fields)
    if row.kind.endswith(".create"):
        clocked_in = fields.get("in_progress") or hours in ("0 h", None)
        action = "Clock-in" if clocked_in else "New entry"
        hours = None if clocked_in else hours
    elif row.kind.endswith(".update"):
        action = "Change"
    else:
        action = row.kind
    parts = [str(p) for p in (worker, project, day, hours) if p]
    return " · ".join(parts) or row.subject, action


def fix_for(row: Delivery, worker: str | None) -> Fix | None:
    if not row.reason or row.status not in (Status.rejected, Status.held, Status.failed, Status.parked):
        return None
    for phrase, label, url in FIXES:
        if phrase in row.reason:
            surname = (worker or "").split()[-1:]  # finds "Grace Kim" for worker "Gracie Kim"
            return Fix(label, url.format(connection_id=row.connection_id, worker=quote(" ".join(surname))))
    return None


def paced_until(row: Delivery, budget: RateBudget | None, now: datetime) -> datetime | None:
    """When a waiting row's connection may send again, if the rate budget is what holds it."""
    if row.status not in states.CLAIMABLE or budget is None:
        return None
    now_ms = int(now.timestamp() * 1000)
    state = BudgetState(budget.limit, budget.remaining, budget.reset_epoch, budget.not_before_ms)
    wait_ms, _ = decide(state, now_ms)
    later = max(row.next_attempt_at, datetime.fromtimestamp((now_ms + wait_ms) / 1000, now.tzinfo))
    return later if wait_ms > 1000 or row.next_attempt_at > now else None


async def lines_of(
    session: SessionDep, company_id: int, rows: list[Delivery], worker_names: dict[int, str]
) -> list[Line]:
    repo = DeliveryRepository.from_session(session)
    project_names = await repo.project_names(company_id)
    blockers = await repo.blockers(company_id, rows)
    budgets = await repo.budgets(company_id) if any(r.status in states.CLAIMABLE for r in rows) else {}
    now = utcnow()
    out = []
    for row in rows:
        what, action = describe(row, project_names, worker_names)
        worker = (row.payload.get("labels") or {}).get("worker") or worker_names.get(row.worker_id or 0)
        until = paced_until(row, budgets.get(row.connection_id), now)
        why = row.reason
        if until is not None and not why:
            why = PACED
        out.append(Line(row, what, action, why, fix_for(row, worker), blockers.get(row.id), until))
    return out


def _query(request: Request) -> tuple[LogQuery, str | None]:
    raw = {k: v.strip() for k, v in request.query_params.items() if v.strip() and k in LogQuery.model_fields}
    try:
        return LogQuery.model_validate(raw), None
    except ValidationError as exc:
        first = exc.errors()[0]
        return LogQuery(), f"Filter {first['loc'][0]}: {first['msg']}"


@router.get("/export-log", response_class=HTMLResponse)
async def export_log(
    request: Request, principal: WebPrincipal, session: SessionDep, page: int = 1, notice: str | None = None
) -> Response:
    require_web_scope(principal, Scope.deliveries_read)
    query, error = _query(request)
    page = max(1, min(page, 100_000))
    repo = DeliveryRepository.from_session(session)
    rows, total = await repo.list(
        principal.company_id, query.to_filter(), offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    workers, _ = await WorkerRepository.from_session(session).list(principal.company_id, limit=500)
    worker_names = {w.id: w.name for w in workers}
    filters = {k: v for k, v in query.model_dump(mode="json").items() if v is not None}
    connections = await repo.connections(principal.company_id)
    return render(
        request,
        "export_log.html",
        principal,
        section="export-log",
        lines=await lines_of(session, principal.company_id, list(rows), worker_names),
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        query=query,
        filters=filters,
        qs=urlencode(filters),
        counts=await repo.counts_by_status(principal.company_id, query.to_filter()),
        statuses=list(Status),
        kinds=await repo.kinds(principal.company_id),
        connections=connections,
        project_names=await repo.project_names(principal.company_id),
        workers=workers,
        reasons=await repo.rejected_reasons(principal.company_id, query.to_filter()),
        error=error,
        notice=notice,
    )


@router.post("/export-log/retry-rejected", response_class=HTMLResponse)
async def retry_rejected(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    """Once the cause is fixed: every row rejected for this exact reason goes again."""
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.deliveries_write)
    reason = form.get("reason", "").strip()
    n = await service.retry_rejected(session, principal.company_id, reason) if reason else 0
    notice = f"Queued {n} rejected row{'s' if n != 1 else ''} to send again." if n else "Nothing to retry."
    return RedirectResponse(f"/export-log?{urlencode({'notice': notice})}", status_code=303)


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


def _record_url(row: Delivery, connection: Connection | None) -> str | None:
    """The delivered record's page on the platform ("open in Procore"), when its connector has one."""
    if connection is None or not row.remote_id or not row.remote_project_id:
        return None
    return installed_registry().record_url(
        connection.provider, row.kind, row.remote_project_id, row.remote_id, connection.config
    )


async def _detail(
    request: Request, principal: WebPrincipal, session: SessionDep, delivery_id: int, **extra: Any
) -> Response:
    row = await service.get(session, principal.company_id, delivery_id)
    repo = DeliveryRepository.from_session(session)
    connection = await repo.connection(principal.company_id, row.connection_id)
    worker = await WorkerRepository.from_session(session).get(principal.company_id, row.worker_id or 0)
    names = {worker.id: worker.name} if worker else {}
    chain = list(await repo.chain(principal.company_id, row))
    context: dict[str, Any] = {"notice": None, "error": None, **extra}
    return render(
        request,
        "delivery.html",
        principal,
        section="export-log",
        row=row,
        line=(await lines_of(session, principal.company_id, [row], names))[0],
        chain=await lines_of(session, principal.company_id, chain, names) if len(chain) > 1 else [],
        attempts=await repo.attempts(principal.company_id, row.id),
        connection=connection,
        worker=worker,
        project_name=(await repo.project_names(principal.company_id)).get(row.remote_project_id or ""),
        record_url=_record_url(row, connection),
        can_retry=any(r.status in states.RETRYABLE for r in chain),
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
            done = await ACTIONS[action](session, principal.company_id, delivery_id)
    except FieldBridgeError as exc:
        return await _detail(request, principal, session, delivery_id, error=exc.message, status_code=409)
    notice = {"retry": "Queued to send again.", "replay": "Queued to replay.", "cancel": "Cancelled."}[action]
    if isinstance(done, list) and len(done) > 1:
        notice = f"Queued {len(done)} rows of this shift to send again, in order."
    return RedirectResponse(f"/export-log/{delivery_id}?{urlencode({'notice': notice})}", status_code=303)


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
