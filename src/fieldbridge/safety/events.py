"""Safety events for outbound webhooks (`webhooks.events`): `detection.created` for each newly
stored detection and `daily_summary.posted` for each stored summary version, emitted in the
transaction that stored them. Nothing is built when no endpoint of the company takes the type,
and that costs one query per request (a whole batch), not one per event."""

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.safety.models import Detection, SafetySite, SafetySummary
from fieldbridge.sites.models import Project
from fieldbridge.webhooks import service as webhooks

DETECTION_CREATED = "detection.created"
SUMMARY_POSTED = "daily_summary.posted"
# Detection priority (1 lowest .. 5 highest) as the event's severity.
SEVERITY = {1: "low", 2: "low", 3: "medium", 4: "high", 5: "critical"}


def project_ref(project: Project | None) -> dict[str, Any] | None:
    """FieldBridge's project and its platform id (a number on Procore; other platforms' ids
    are not numbers and are left out)."""
    if project is None:
        return None
    remote = project.external_id
    return {"id": project.id, "remote_id": int(remote) if remote.isdigit() else None, "name": project.name}


async def projects_of(session: AsyncSession, sites: Iterable[SafetySite]) -> dict[int, dict[str, Any] | None]:
    """Each site's project as a `ProjectRef`, by site id (one query)."""
    by_site = {s.id: s.project_id for s in sites}
    found = {
        p.id: p for p in await session.scalars(select(Project).where(Project.id.in_(set(by_site.values()))))
    }
    return {site_id: project_ref(found.get(project_id)) for site_id, project_id in by_site.items()}


def _summary(row: Mapping[str, Any]) -> str:
    description = row.get("description")
    if description:
        return str(description)[:500]
    kind = str(row["type"]).replace("_", " ")
    missing = ", ".join(str(m).replace("_", " ") for m in row.get("missing_items") or [])
    return f"{kind.capitalize()}" + (f" (missing: {missing})" if missing else "") + "."


def _image(evidence: list[dict[str, Any]]) -> str | None:
    """The first evidence URL (a frame or clip reference; media is never stored here)."""
    return next((str(e["url"]) for e in evidence if e.get("url")), None)


def detection_data(
    row: Mapping[str, Any], detection_id: int, project: dict[str, Any] | None
) -> dict[str, Any]:
    """A detection (as a row dict: what ingest wrote, or a model's columns) as event data."""
    return {
        "detection_id": detection_id,
        "project": project,
        "kind": str(row["type"]),
        "severity": SEVERITY.get(int(row["priority"]), "medium"),
        "confidence": row.get("confidence"),
        "detected_at": row["occurred_at"],
        "source": row.get("source_ref") or row.get("device_id") or str(row["source"]),
        "summary": _summary(row),
        "image_url": _image(row.get("evidence") or []),
    }


async def detections_created(
    session: AsyncSession,
    company_id: int,
    created: Mapping[int, tuple[int, Mapping[str, Any]]],
    sites: Mapping[int, SafetySite],
) -> int:
    """`detection.created` for each newly stored detection of one request (`created`: index ->
    (id, row as written); replays are not in it). Returns the ledger rows queued."""
    if not created or not await webhooks.wants(session, company_id, DETECTION_CREATED):
        return 0
    used = {row["site_id"] for _id, row in created.values()}
    projects = await projects_of(session, [sites[s] for s in used])
    items = [
        detection_data(row, detection_id, projects[row["site_id"]])
        for detection_id, row in (created[i] for i in sorted(created))
    ]
    return await webhooks.emit_many(session, company_id, DETECTION_CREATED, items)


async def detection_created(session: AsyncSession, detection: Detection) -> None:
    """One detection stored outside ingest (the clock-out injury answer)."""
    if not await webhooks.wants(session, detection.company_id, DETECTION_CREATED):
        return
    site = await session.get(SafetySite, detection.site_id)
    assert site is not None  # the detection's site (foreign key)
    projects = await projects_of(session, [site])
    row = {c.key: getattr(detection, c.key) for c in Detection.__table__.columns}
    await webhooks.emit(
        session, detection.company_id, DETECTION_CREATED, detection_data(row, detection.id, projects[site.id])
    )


def summary_counts(data: Mapping[str, Any]) -> tuple[int, int, int]:
    """(alerts, confirmed, observations) of a stored summary: alerts without false positives,
    confirmed detections, and the day's zone breaches and PPE violations (not false
    positives): what a platform's Observations module receives."""
    alerts = data.get("alerts") or {}
    by_type = alerts.get("by_type") or {}
    observed = sum(int((by_type.get(k) or {}).get("total", 0)) for k in ("zone_breach", "ppe_violation"))
    return int(alerts.get("total", 0)), int(data.get("confirmed", 0)), observed


def summary_text(data: Mapping[str, Any], version: int) -> str:
    alerts, confirmed, _observed = summary_counts(data)
    breaches = int((data.get("zone_breaches") or {}).get("total", 0))
    rate = ((data.get("ppe") or {}).get("overall") or {}).get("rate")
    ppe = f"PPE compliance {rate * 100:.1f}%" if rate is not None else "PPE compliance: no observations"
    text = f"{alerts} alerts, {confirmed} confirmed, {breaches} zone breaches; {ppe}."
    return text if version == 1 else f"{text} (recomputed: version {version})"


async def summary_posted(session: AsyncSession, site: SafetySite, row: SafetySummary) -> None:
    """`daily_summary.posted` for a stored summary version (the 17:00 job or a recompute)."""
    if not await webhooks.wants(session, site.company_id, SUMMARY_POSTED):
        return
    project = (await projects_of(session, [site]))[site.id]
    if project is None:  # a site always has its project (foreign key); nothing to name otherwise
        return
    alerts, confirmed, observed = summary_counts(row.data)
    await webhooks.emit(
        session,
        site.company_id,
        SUMMARY_POSTED,
        {
            "project": project,
            "local_date": row.local_date,
            "detections": alerts,
            "incidents": confirmed,
            "observations": observed,
            "worked_hours": None,
            "text": summary_text(row.data, row.version),
        },
    )
