"""Helpers every route module uses: path ids, list responses, change events, persistence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.auth import Ctx, sandbox
from fieldbridge_sandbox.errors import field_errors, not_found
from fieldbridge_sandbox.pagination import paginate
from fieldbridge_sandbox.serialize import Serializer, json_response
from fieldbridge_sandbox.state import SandboxState
from fieldbridge_sandbox.store import Record


def path_int(request: Request, name: str) -> int:
    try:
        return int(request.path_params[name])
    except (KeyError, ValueError):
        raise not_found() from None


def list_url(request: Request) -> str:
    """The absolute URL of a list, without its query (the base of Procore's `Link` URLs)."""
    url = request.url
    return f"{url.scheme}://{url.netloc}{url.path}"


def list_response(
    request: Request,
    rows: Sequence[Record],
    view: str,
    serializer: Serializer,
    *,
    default: int | None = None,
    maximum: int | None = None,
) -> Response:
    """One page of `rows` encoded through the JSON cache, with Procore's paging headers."""
    state = sandbox(request)
    cfg = state.config
    page, headers = paginate(
        rows,
        request.query_params,
        list_url(request),
        list(request.query_params.multi_items()),
        default or cfg.default_per_page,
        maximum or cfg.max_per_page,
    )
    return json_response(state.cache.encode_list(page, view, serializer), headers=headers)


def one(request: Request, row: Record, view: str, serializer: Serializer, status: int = 200) -> Response:
    return json_response(sandbox(request).cache.encode(row, view, serializer), status)


def changed(
    ctx: Ctx, resource_name: str, event_type: str, row: Record, project_id: int | None = None
) -> None:
    """A write happened: bump caches, persist, and fire webhooks."""
    emit_change(
        ctx.state,
        resource_name,
        event_type,
        row,
        company_id=ctx.company["id"],
        project_id=project_id if project_id is not None else row.get("project_id"),
        user_id=ctx.principal.user["id"],
        app_id=ctx.principal.app["id"],
    )


def emit_change(
    state: SandboxState,
    resource_name: str,
    event_type: str,
    row: Record,
    *,
    company_id: int,
    project_id: int | None,
    user_id: int | None,
    app_id: int | None,
) -> None:
    state.store.touch()
    state.store.save()
    if state.webhooks is not None:
        state.webhooks.emit(
            resource_name=resource_name,
            event_type=event_type,
            resource_id=row["id"],
            company_id=company_id,
            project_id=project_id,
            user_id=user_id,
            app_id=app_id,
        )


def ref(row: Record | None, *fields: str) -> dict[str, Any] | None:
    """A nested `{id, name, ...}` reference, or None."""
    if row is None:
        return None
    return {f: row.get(f) for f in ("id", *fields)}


def login_ref(user: Record | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user["id"], "login": user["login"], "name": user["name"]}


def unprocessable(field: str, message: str) -> Exception:
    return field_errors(422, {field: [message]})


def lookup(
    state: SandboxState,
    table: str,
    row_id: Any,
    *,
    project_id: int | None = None,
    company_id: int | None = None,
    field: str | None = None,
) -> Record | None:
    """Resolve a referenced id inside the caller's scope; 422 if it names nothing visible."""
    if row_id is None:
        return None
    row = state.store[table].get(row_id) if isinstance(row_id, int) else None
    if (
        row is None
        or (project_id is not None and row.get("project_id") != project_id)
        or (company_id is not None and row.get("company_id") != company_id)
    ):
        raise unprocessable(field or f"{table[:-1]}_id", "does not exist")
    return row


def plain_list_response(
    request: Request,
    items: Sequence[dict[str, Any]],
    *,
    default: int | None = None,
    maximum: int | None = None,
) -> Response:
    """A page of already-built dicts (computed rows that are not cached)."""
    cfg = sandbox(request).config
    page, headers = paginate(
        items,
        request.query_params,
        list_url(request),
        list(request.query_params.multi_items()),
        default or cfg.default_per_page,
        maximum or cfg.max_per_page,
    )
    return json_response(list(page), headers=headers)


def stamped(ctx: Ctx, **fields: Any) -> Record:
    """A new record with the bookkeeping fields every Procore resource carries."""
    now = ctx.state.store.now_iso()
    base: Record = {
        "created_by_id": ctx.principal.user["id"],
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }
    return base | fields


def insert_and_respond(
    request: Request, ctx: Ctx, table: str, resource: str, row: Record, view: str, serializer: Serializer
) -> Response:
    """Store a new record, fire its create webhook, and answer 201 with its shape."""
    ctx.state.store.insert(table, row)
    changed(ctx, resource, "create", row)
    return one(request, row, view, serializer, 201)


def save_and_respond(
    request: Request, ctx: Ctx, resource: str, row: Record, view: str, serializer: Serializer
) -> Response:
    """An existing record changed: stamp it, fire its update webhook, answer 200."""
    row["updated_at"] = ctx.state.store.now_iso()
    changed(ctx, resource, "update", row)
    return one(request, row, view, serializer)


def scoped(ctx: Ctx, table: str, row_id: int, label: str) -> Record:
    """A row of `table` inside the call's project (its company when the call has no project)."""
    row = ctx.state.store[table].get(row_id)
    field, owner = ("project_id", ctx.project_id) if ctx.project else ("company_id", ctx.company["id"])
    if row is None or row.get(field) != owner:
        raise not_found(f"{label} not found")
    return row


def copy_fields(row: Record, data: dict[str, Any], fields: Sequence[str]) -> None:
    for field in fields:
        if field in data:
            row[field] = data[field]


def hard_delete(ctx: Ctx, table: str, resource: str, row: Record) -> Response:
    """Remove a record for good, fire its delete webhook, answer 200 `{}`."""
    ctx.state.store[table].remove(row["id"])
    changed(ctx, resource, "delete", row)
    return json_response({})


def soft_delete(ctx: Ctx, resource: str, row: Record) -> None:
    row["deleted_at"] = row["updated_at"] = ctx.state.store.now_iso()
    changed(ctx, resource, "delete", row)
