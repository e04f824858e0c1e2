"""Timecard delivery to Procore: ledger kinds `procore.timecard.create` and `.update`.

Creates go through v1.1 `project_timecard_entries` -- `bulk_create` (at most 25 a call, one
project per call) when a drain holds more than one for a project. Procore has no
idempotency keys, so every entry carries its ledger row in `origin_id` (the row id) and
`origin_data` (`fieldbridge:<row id>:<idempotency key>`); a create whose outcome is
unknown is looked up by listing the project's entries of that date before it is sent again.
A bulk call is all-or-nothing in Procore: rows it names in its errors are rejected with a
plain reason, the rest go again at once.

Payload of a create (a snapshot written by the domain at enqueue time):
    {"project_id": 123, "party_id": 456, "date": "2026-11-25", "hours": "8.0"
     | "time_in": "...", "time_out": "...", "lunch_time": "30",
     "cost_code_id": ..., "line_item_type_id": ..., "timecard_time_type_id": ...,
     "description": "...", "billable": false}
Payload of an update: {"project_id": 123, "changes": {...}}; the entry id comes from the
row (`remote_id`) or the latest delivered create of the same subject.

FieldBridge keeps Procore's ids as strings ("123"; rows from before hold numbers): the
bodies sent here turn the id fields back into the numbers Procore's JSON takes, and the ids
Procore answers with are stored as strings.
"""

import re
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import (
    Channel,
    Delivered,
    DeliveryHandler,
    DeliveryItem,
    Outbound,
    Result,
)
from fieldbridge.connections.models import Connection
from fieldbridge.connections.outcomes import DeliveryFailure, Held, Rejected
from fieldbridge.connectors.procore import errors as procore
from fieldbridge.connectors.procore import mapping
from fieldbridge.connectors.procore.client import BearerAuth
from fieldbridge.connectors.procore.config import ProcoreConfig
from fieldbridge.connectors.procore.oauth import token_manager
from fieldbridge.connectors.procore.provider import PROCORE
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.sites.holds import INACTIVE, NO_ACCESS, project_key

BULK_MAX = 25
LOOKUP_PER_PAGE = 1000
ENTRY_FIELDS = (
    "party_id",
    "date",
    "hours",
    "time_in",
    "time_out",
    "lunch_time",
    "cost_code_id",
    "line_item_type_id",
    "timecard_time_type_id",
    "description",
    "billable",
    "sub_job_id",
    "location_id",
    "crew_id",
    "clock_in_time",
    "clock_out_time",
    "wbs_code_id",
    "work_classification_id",
    "in_progress",
    "lunch_start_time",
    "lunch_stop_time",
    "timesheet_id",
)
# Entry fields that are Procore ids: numbers in Procore's JSON, strings in FieldBridge.
ID_FIELDS = frozenset(
    {
        "project_id",
        "party_id",
        "cost_code_id",
        "line_item_type_id",
        "timecard_time_type_id",
        "sub_job_id",
        "location_id",
        "crew_id",
        "wbs_code_id",
        "work_classification_id",
        "timesheet_id",
    }
)
_INDEXED = re.compile(r"^timecard_entries\[(\d+)\]\.(.+)$")


@asynccontextmanager
async def open_client(out: Outbound, connection: Connection) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client for one Procore connection: `ProcoreClient`'s bearer flow (refresh,
    single-flight, needs-reconnect marking) and company header; the ledger's channel adds
    pacing and recording, so the raw client is enough here."""
    config = ProcoreConfig.model_validate(connection.config)
    tokens = token_manager(out.db, out.http, SecretBox(out.settings.secret), connection.id)
    hosts = config.hosts()
    async with out.http.client(
        base_url=hosts.api_base, emulator=hosts.emulator, auth=BearerAuth(tokens)
    ) as client:
        if connection.external_account_id is not None:
            client.headers[PROCORE.company_header] = str(connection.external_account_id)
        yield client


def origin_data(item: DeliveryItem) -> str:
    return f"fieldbridge:{item.id}:{item.idempotency_key}"


def procore_body(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Fields as Procore's JSON takes them: ids as numbers (FieldBridge keeps them as strings)."""
    return {k: (mapping.number(str(v)) if k in ID_FIELDS and v is not None else v) for k, v in fields.items()}


def _project_of(item: DeliveryItem) -> str:
    return mapping.pid(item.payload["project_id"])


def _entry(item: DeliveryItem, *, bulk: bool) -> dict[str, Any]:
    """The v1.1 entry body. `origin_id` is a string in bulk_create and an integer elsewhere."""
    p = item.payload
    entry = procore_body({k: p[k] for k in ENTRY_FIELDS if p.get(k) is not None})
    entry["project_id"] = mapping.number(_project_of(item))
    entry["origin_id"] = str(item.id) if bulk else item.id
    entry["origin_data"] = origin_data(item)
    return entry


def _project_name(project_id: str, labels: Mapping[str, Any] | None) -> str:
    return str((labels or {}).get("project") or f"Procore project {project_id}")


def plain_reason(
    response: httpx.Response,
    project_id: str,
    fields: Mapping[str, Sequence[str]] | None = None,
    labels: Mapping[str, Any] | None = None,
) -> str:
    """What a foreman or support engineer should do about a refused timecard, and where. Names
    come from the payload's `labels` (the domain's snapshot: project, worker); ids only when
    a row predates them."""
    text = procore.body_message(response).lower()
    status = response.status_code
    named = labels or {}
    project = _project_name(project_id, labels)
    worker = str(named.get("worker") or "This worker")
    someone = str(named.get("worker") or "this worker")
    if status == 404:
        return (
            f"{project} is not available to FieldBridge (not synced, deleted, or the connection's user "
            "is not in its directory). Sync projects (Integrations → Procore → Projects), check the "
            "project in Procore, then retry."
        )
    if status == 403 and "inactive" in text:
        return (
            f"{project} is inactive in Procore. Reactivate it in Procore (Project Admin → General → "
            "Active), or move the time to an active project on Timesheets, then retry."
        )
    if status == 403 and ("permission" in text or "tool" in text):
        return (
            f"The Procore user FieldBridge connects as has no Timecard permission in {project} (Admin "
            "on the Timecard tool), or the tool is off. Ask a Procore admin to grant it (Project "
            "Admin → Directory), then retry."
        )
    if status == 403:
        return (
            f"Procore refused FieldBridge access to {project} ({procore.body_message(response)}). Add "
            "the FieldBridge app or its user to the project in Procore (App Management, Directory), "
            "then retry."
        )
    problems = "; ".join(f"{k} {' '.join(v)}" for k, v in (fields or {}).items()) or procore.body_message(
        response
    )
    if "approved" in problems or "locked" in problems:
        return (
            f"{worker}'s entry in {project} is locked: its Procore timesheet is approved. "
            "Ask the approver to reopen it in Procore (Timesheets), then retry."
        )
    if "party_id" in problems:
        return (
            f"{worker} is not a person in this Procore company (or was removed). Link this worker to "
            "their Procore person (Integrations → Procore → People), then retry."
        )
    if "cost_code" in problems or "line_item_type" in problems:
        return (
            f"The cost code is not valid in {project}: {problems}. "
            "Fix the allocation on Timesheets, then retry."
        )
    return (
        f"Procore refused the timecard of {someone} in {project}: {problems}. "
        "Fix it on Timesheets, then retry."
    )


def project_hold(
    response: httpx.Response, project_id: str, labels: Mapping[str, Any] | None = None
) -> Held | None:
    """A refusal that says the whole project is out of reach (inactive, or FieldBridge lost
    access): the time is held for the project, not rejected, and goes by itself once a sync or
    webhook shows the project reachable again."""
    text = procore.body_message(response).lower()
    status = response.status_code
    project = _project_name(project_id, labels)
    if status == 403 and "inactive" in text:
        state, reason = (
            INACTIVE,
            (
                f"{project} is inactive in Procore, so the time is held. It goes to Procore by itself "
                "once the project is active again (Procore: Project Admin → General → Active), or an "
                "admin moves the time to another job on Timesheets."
            ),
        )
    elif (status == 404 and "project" in text) or (status == 403 and "access scope" in text):
        state, reason = (
            NO_ACCESS,
            (
                f"FieldBridge lost access to {project} in Procore (the app is no longer permitted for it, "
                "it was deleted, or the connection's user left it), so the time is held. Add the app "
                "back in Procore (App Management); the time goes by itself once the project syncs."
            ),
        )
    else:
        return None
    return Held(
        reason,
        key=project_key(project_id),
        remote_project_id=project_id,
        remote_project_state=state,
        status=status,
    )


def _field_errors(response: httpx.Response) -> dict[str, list[str]]:
    try:
        body = response.json()
    except ValueError:
        return {}
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, dict):
        return {}
    return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()}


def _failure(
    response: httpx.Response,
    item: DeliveryItem,
    fields: Mapping[str, Sequence[str]] | None = None,
) -> DeliveryFailure | Exception:
    """A refused response as a delivery failure; retriable and auth classes pass through."""
    error = procore.classify(response)
    assert error is not None
    if isinstance(error, procore.Rejected):
        project_id, labels = _project_of(item), item.payload.get("labels")
        return project_hold(response, project_id, labels) or Rejected(
            plain_reason(response, project_id, fields, labels), status=response.status_code
        )
    return error


async def _lookup(channel: Channel, project_id: str, items: Sequence[DeliveryItem]) -> dict[int, Result]:
    """Find entries an earlier try may have created. No timecard list filters on origin, so
    list the company's entries of each date for these workers (in-progress ones included,
    which the project list hides) and match our `origin_data`."""
    found: dict[int, Result] = {}
    wanted = {origin_data(i): i for i in items}
    ids = [i.id for i in items]
    if channel.external_account_id is None:
        raise Rejected("This Procore connection has no company chosen yet. Finish connecting Procore.")
    url = f"/rest/v1.0/companies/{channel.external_account_id}/timecard_entries"
    for day in sorted({str(i.payload.get("date")) for i in items}):
        parties = sorted({int(i.payload["party_id"]) for i in items if i.payload.get("party_id")})
        page = 1
        while True:
            params: dict[str, Any] = {
                "start_date": day,
                "end_date": day,
                "filters[include_in_progress]": "true",
                "page": page,
                "per_page": LOOKUP_PER_PAGE,
            }
            if parties:
                params["filters[party_id][]"] = parties
            response = await channel.send("GET", url, for_ids=ids, params=params)
            if response.status_code >= 400:
                raise _failure(response, items[0])
            rows = response.json()
            for row in rows:
                item = wanted.get(str(row.get("origin_data")))
                if item is not None:
                    found[item.id] = Delivered(mapping.pid(row["id"]), _remote(row), found_by_lookup=True)
            if len(rows) < LOOKUP_PER_PAGE:
                break
            page += 1
    return found


def _remote(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "date",
        "hours",
        "time_in",
        "time_out",
        "origin_id",
        "origin_data",
        "approval_status",
        "created_at",
        "updated_at",  # the delivered version: a webhook at this version is our own write (echo)
    )
    return {k: row.get(k) for k in keys if k in row}


class _TellsSubscribers:
    """Delivered time tells webhook subscribers (`timecard.exported`), in the transaction that
    records it (the ledger's optional `after_record` hook)."""

    async def after_record(
        self, session: AsyncSession, connection_id: int, outcomes: Sequence[tuple[Delivery, Result]]
    ) -> None:
        from fieldbridge.timekeeping.events import timecards_delivered  # the domain, at call time

        await timecards_delivered(session, outcomes)


class TimecardCreate(_TellsSubscribers):
    kind = "procore.timecard.create"
    batch_size = BULK_MAX

    def batch_key(self, item: DeliveryItem) -> Hashable:
        return _project_of(item)

    async def deliver(self, channel: Channel, items: Sequence[DeliveryItem]) -> dict[int, Result]:
        project_id = _project_of(items[0])
        # The domain may know before sending that a person must act (e.g. a worker with no
        # Procore person): `blocked_reason` rejects the row without a call.
        results: dict[int, Result] = {
            i.id: Rejected(str(i.payload["blocked_reason"])) for i in items if i.payload.get("blocked_reason")
        }
        unknown = [i for i in items if i.outcome_unknown and i.id not in results]
        if unknown:
            results.update(await _lookup(channel, project_id, unknown))
        todo = [i for i in items if i.id not in results]
        while todo:
            todo = await self._send(channel, project_id, todo, results)
        return results

    async def _send(
        self, channel: Channel, project_id: str, items: list[DeliveryItem], results: dict[int, Result]
    ) -> list[DeliveryItem]:
        """One call; returns the items to send again (a bulk call's innocent bystanders)."""
        ids = [i.id for i in items]
        if len(items) == 1:
            url = f"/rest/v1.1/projects/{project_id}/project_timecard_entries"
            response = await channel.send("POST", url, for_ids=ids, json=_entry(items[0], bulk=False))
        else:
            url = f"/rest/v1.1/projects/{project_id}/project_timecard_entries/bulk_create"
            body = {"timecard_entries": [_entry(i, bulk=True) for i in items]}
            response = await channel.send("POST", url, for_ids=ids, json=body)
        if response.status_code < 400:
            data = response.json()
            rows = data.get("timecard_entries", []) if isinstance(data, dict) and len(items) > 1 else [data]
            by_origin = {str(r.get("origin_data")): r for r in rows}
            for n, item in enumerate(items):
                row = by_origin.get(origin_data(item)) or (rows[n] if n < len(rows) else None)
                results[item.id] = (
                    Delivered(mapping.pid(row["id"]), _remote(row))
                    if row
                    else Rejected("Procore returned no entry.")
                )
            return []
        fields = _field_errors(response)
        if response.status_code == 422 and len(items) > 1:
            blamed: dict[int, dict[str, list[str]]] = {}
            for key, messages in fields.items():
                match = _INDEXED.match(key)
                if match and int(match.group(1)) < len(items):
                    blamed.setdefault(int(match.group(1)), {})[match.group(2)] = messages
            if not blamed:  # errors we cannot pin on a row: try each row alone
                return await self._one_by_one(channel, project_id, items, results)
            for n, row_fields in blamed.items():
                results[items[n].id] = _failure(response, items[n], row_fields)  # type: ignore[assignment]
            return [item for n, item in enumerate(items) if n not in blamed]
        failure = _failure(response, items[0], fields)
        if not isinstance(failure, DeliveryFailure):
            raise failure
        results.update({i.id: _failure(response, i, fields) for i in items})  # type: ignore[misc]
        return []

    async def _one_by_one(
        self, channel: Channel, project_id: str, items: list[DeliveryItem], results: dict[int, Result]
    ) -> list[DeliveryItem]:
        for item in items:
            await self._send(channel, project_id, [item], results)
        return []


class TimecardUpdate(_TellsSubscribers):
    kind = "procore.timecard.update"
    batch_size = 1

    def batch_key(self, item: DeliveryItem) -> Hashable:
        return item.id

    async def deliver(self, channel: Channel, items: Sequence[DeliveryItem]) -> dict[int, Result]:
        item = items[0]
        project_id = _project_of(item)
        entry_id = item.remote_id or item.subject_remote_id
        if entry_id is None:
            return {
                item.id: Rejected(
                    "This change has no Procore timecard to apply to: the original timecard was never "
                    "delivered. Retry the original first (or cancel this change)."
                )
            }
        url = f"/rest/v1.1/projects/{project_id}/project_timecard_entries/{entry_id}"
        response = await channel.send(
            "PATCH", url, for_ids=[item.id], json=procore_body(item.payload.get("changes", {}))
        )
        if response.status_code < 400:
            return {item.id: Delivered(entry_id, _remote(response.json()))}
        failure = _failure(response, item, _field_errors(response))
        if not isinstance(failure, DeliveryFailure):
            raise failure
        return {item.id: failure}


HANDLERS: tuple[DeliveryHandler, ...] = (TimecardCreate(), TimecardUpdate())
