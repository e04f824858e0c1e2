"""Time into Procore through the delivery ledger, and the export status a worker reads.

Ledger subjects: `clock_shift:<shift uuid>` is the entry made at clock-in (its later updates share
the subject, so they never overtake it); `clock_shift:<uuid>:m:<milestone id>` is the entry of each
further milestone of the split. A shift remembers every subject it used (`export_subjects`),
which is how its status is found and how a correction knows to update rather than create.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.delivery import service as delivery
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.service import Hold
from fieldbridge.delivery.states import Status
from fieldbridge.sites.holds import person_key, project_key
from fieldbridge.timekeeping.allocation import Line, format_hours
from fieldbridge.timekeeping.models import ClockShift
from fieldbridge.timekeeping.targets import Target

CREATE = "procore.timecard.create"
UPDATE = "procore.timecard.update"
ExportState = Literal["sent", "waiting", "held", "not_sent", "none"]
SENT = "Sent to Procore ✓"
WAITING = "Waiting to send"
NO_PERSON = (
    "{name} is not linked to a Procore person. An admin links the worker to their person under "
    "Integrations → Procore → People (add them to the Procore directory and sync first if they are "
    "missing); FieldBridge then sends the held time again by itself."
)
PROJECT_HELD = (
    "{project} cannot take time in Procore now ({why}), so this time is held. It goes to Procore "
    "by itself once the project is synced and active again."
)


def subject_for(client_id: str) -> str:
    return f"clock_shift:{client_id}"


def main_subject(shift: ClockShift) -> str:
    return subject_for(shift.client_id)


def line_subject(shift: ClockShift, milestone_id: int) -> str:
    return f"{main_subject(shift)}:m:{milestone_id}"


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _where(target: Target) -> dict[str, Any]:
    return {
        "project_id": target.procore_project_id,
        "cost_code_id": target.cost_code_id,
        "line_item_type_id": target.line_item_type_id,
        "sub_job_id": target.procore_sub_job_id,
    }


def create_payload(
    shift: ClockShift, target: Target, party_id: str | None, worker_name: str
) -> dict[str, Any]:
    """The clock-in entry: 0 hours on the date, plus `time_in` (in progress) where the project
    records start/stop times."""
    payload: dict[str, Any] = {
        **_where(target),
        "date": shift.work_date.isoformat(),
        "description": f"FieldBridge clock-in · {worker_name}",
        "clock_in_time": _iso(shift.started_at),
    }
    if target.time_entry_mode == "start_stop":
        payload.update({"time_in": _iso(shift.started_at), "in_progress": True})
    payload["hours"] = "0"  # an in-progress entry still needs hours; 0 until clock-out
    return with_party({**payload, **labels(target.project_name, worker_name)}, party_id)


def labels(project_name: str, worker_name: str) -> dict[str, Any]:
    """Names for the export log and refusal reasons; never sent to Procore."""
    return {"labels": {"project": project_name, "worker": worker_name}}


def line_entries(shift: ClockShift, lines: list[Line], targets: dict[int, Target]) -> list[dict[str, Any]]:
    """Entry fields per allocation line. Start/stop projects get back-to-back slices of the
    shift (the first carries the break as `lunch_time`); hours projects get `hours`."""
    assert shift.ended_at is not None
    out: list[dict[str, Any]] = []
    cursor = shift.started_at
    for n, line in enumerate(lines):
        target = targets[line.milestone_id]
        fields: dict[str, Any] = {**_where(target), "date": shift.work_date.isoformat()}
        if target.time_entry_mode == "start_stop":
            lunch = shift.break_minutes if n == 0 else 0
            end = cursor + timedelta(minutes=round(line.centihours * 0.6) + lunch)
            if n == len(lines) - 1:
                end = max(shift.ended_at, cursor)
            fields.update(
                {
                    "time_in": _iso(cursor),
                    "time_out": _iso(end),
                    "lunch_time": str(lunch),
                    "in_progress": False,
                }
            )
            cursor = end
        else:
            fields["hours"] = format_hours(line.centihours)
        out.append(fields)
    return out


def holds_for(
    shift: ClockShift, target: Target, payload: dict[str, Any], worker_name: str, policy: Sequence[Hold]
) -> list[Hold]:
    """Why this row must wait: the time policy (until approved), a project that cannot take time
    now (until it can), a worker with no Procore person (until linked). Empty: send it."""
    out = list(policy)
    if not target.synced or not target.active:
        why = (
            "inactive in Procore"
            if target.synced
            else "sync is off for it, or FieldBridge lost access to it in Procore"
        )
        out.append(
            Hold(
                project_key(target.procore_project_id),
                PROJECT_HELD.format(project=target.project_name, why=why),
            )
        )
    if "party_id" in payload and payload["party_id"] is None:
        out.append(Hold(person_key(shift.worker_id), NO_PERSON.format(name=worker_name)))
    return out


async def enqueue(
    session: AsyncSession,
    shift: ClockShift,
    kind: str,
    subject: str,
    payload: dict[str, Any],
    holds: Sequence[Hold] = (),
) -> None:
    """One ledger row in the caller's transaction (held when `holds` say so). No idempotency
    key is needed: a re-sent phone action is recognised by its shift ids before anything is
    enqueued."""
    row = outbound(shift, Row(kind, subject, payload, list(holds)))
    await delivery.enqueue(
        session,
        company_id=shift.company_id,
        connection_id=row.connection_id,
        kind=kind,
        subject=subject,
        payload=payload,
        remote_project_id=row.remote_project_id,
        worker_id=row.worker_id,
        holds=holds,
    )


def with_party(payload: dict[str, Any], party_id: str | None) -> dict[str, Any]:
    """`party_id` None: the create is held for the person (`holds_for`), filled in on release."""
    return {**payload, "party_id": party_id}


@dataclass(frozen=True)
class Row:
    """One ledger row of a shift, before it is enqueued."""

    kind: str
    subject: str
    payload: dict[str, Any]
    holds: list[Hold]


def allocation_rows(
    shift: ClockShift,
    lines: list[Line],
    targets: dict[int, Target],
    party_id: str | None,
    worker_name: str,
    policy: Sequence[Hold] = (),
) -> list[Row]:
    """Clock-out or correction: update the clock-in entry with the first line, update or create
    one entry per further line, and set entries of lines that disappeared to 0 hours. Each row
    is held for what stands in its way (`holds_for`). Pure: `send` enqueues them."""
    if shift.connection_id is None:
        return []
    entries = line_entries(shift, lines, targets)
    used: set[str] = set()
    out: list[Row] = []
    for n, (line, fields) in enumerate(zip(lines, entries, strict=True)):
        subject = main_subject(shift) if n == 0 else line_subject(shift, line.milestone_id)
        used.add(subject)
        fields = {**fields, "injured": bool(shift.injured)}
        target = targets[line.milestone_id]
        names = labels(target.project_name, worker_name)
        if subject in shift.export_subjects:
            payload = {"project_id": fields["project_id"], "changes": fields, **names}
            kind = UPDATE
        else:
            payload = with_party({**fields, "description": "FieldBridge allocation", **names}, party_id)
            kind = CREATE
        out.append(Row(kind, subject, payload, holds_for(shift, target, payload, worker_name, policy)))
    first = entries[0]
    for subject in shift.export_subjects:
        if subject not in used:
            target = targets[lines[0].milestone_id]
            zero = {
                "project_id": first["project_id"],
                "changes": {"hours": "0", "date": first["date"]},
                **labels(target.project_name, worker_name),
            }
            out.append(Row(UPDATE, subject, zero, holds_for(shift, target, zero, worker_name, policy)))
    return out


async def send(session: AsyncSession, shift: ClockShift, rows: Sequence[Row]) -> None:
    """`allocation_rows`, each enqueued in the caller's transaction."""
    for row in rows:
        await enqueue(session, shift, row.kind, row.subject, row.payload, row.holds)


def outbound(shift: ClockShift, row: Row) -> delivery.Outbound:
    """`row` for `delivery.enqueue_many`, noted among the shift's subjects as `enqueue` does."""
    assert shift.connection_id is not None
    if row.subject not in shift.export_subjects:
        shift.export_subjects = [*shift.export_subjects, row.subject]
    return delivery.Outbound(
        connection_id=shift.connection_id,
        kind=row.kind,
        subject=row.subject,
        payload=row.payload,
        remote_project_id=row.payload.get("project_id"),
        worker_id=shift.worker_id,
        holds=row.holds,
    )


def _arrived(rows: list[Delivery]) -> bool:
    """Procore has the shift's first entry (a later update of it may still be refused)."""
    return any(r.kind == CREATE and r.status == Status.delivered for r in rows)


def status_of(rows: list[Delivery], has_connection: bool) -> tuple[ExportState, str]:
    """("sent" | "waiting" | "held" | "not_sent" | "none", text for the office). A refused row
    wins (a person must act), then a held one (with its first reason); cancelled rows are
    ignored; otherwise sent only when every other row is delivered."""
    live = [r for r in rows if r.status != Status.cancelled]
    if not live:
        if not has_connection:
            return "none", "Not sent: Procore is not connected"
        return ("not_sent", "Not sent: cancelled in the export log") if rows else ("waiting", WAITING)
    blocked = [r for r in live if r.status in (Status.rejected, Status.failed)]
    if blocked:
        reason = blocked[0].reason or "Procore refused it; see the export log."
        if _arrived(live) and all(r.kind == UPDATE for r in blocked):
            return "not_sent", f"Not sent: {reason} (The first entry is in Procore; this change is not.)"
        return "not_sent", f"Not sent: {reason}"
    held = [r for r in live if r.status == Status.held]
    if held:
        return "held", f"Held: {held[0].reason or 'waiting for an admin'}"
    if all(r.status == Status.delivered for r in live):
        return "sent", SENT
    return "waiting", WAITING


# What a worker's phone says (the phone translates the state; these are the English words).
# Never a setup step: the reason and what to do are the office's (`status_of`).
WorkerState = Literal["sent", "waiting", "held", "correction_held", "clock_out_held"]
WORKER_TEXT: dict[str, str] = {
    "sent": SENT,
    "waiting": WAITING,
    "held": "Your time is saved; the office has been told.",
    "correction_held": "Your original time arrived in Procore; the correction is with the office.",
    "clock_out_held": "Your clock-in arrived in Procore; your clock-out is with the office.",
}


def worker_state(state: ExportState, rows: list[Delivery], corrected: bool) -> WorkerState:
    """The worker's view of `status_of`'s state: time the office must act on is "held", and when
    Procore has the first entry and only a later update was refused, the phone says so."""
    if state == "sent":
        return "sent"
    if state == "waiting":
        return "waiting"
    if state == "not_sent" and _arrived([r for r in rows if r.status != Status.cancelled]):
        return "correction_held" if corrected else "clock_out_held"
    return "held"
