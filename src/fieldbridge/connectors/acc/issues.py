"""Safety observations and incidents as ACC issues of the project's Safety subtype: ledger kinds
`acc.safety.observation` and `acc.safety.incident` (see the seam in docs/architecture.md).

- Create: `POST issues` with the title, the description (ending with a link back to FieldBridge
  and the marker `[fieldbridge:<subject>]`), a status from the subtype's status set, the zone as
  `locationDetails`, a due date, and custom attributes from the field mapping (`mapped`, whose
  remote values read `<attribute definition id>=<value>`).
- Update (a later row of the same subject): `GET` the issue, then `PATCH` only what its
  `permittedAttributes` allow (plus the three fields `IssuePayload` marks required, unchanged
  where not permitted), so a closed or locked issue is never forced.
- Lost answer (`outcome_unknown`): the subtype's issues are listed newest first and the marker
  is looked for before anything is sent again, so a lost response never makes a second issue.
"""

from collections.abc import Hashable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from fieldbridge.connections.connector import Channel, Delivered, DeliveryHandler, DeliveryItem, Result
from fieldbridge.connections.outcomes import Rejected as RejectedOutcome
from fieldbridge.connections.outcomes import missing_mapping
from fieldbridge.connectors.acc import setup as safety
from fieldbridge.connectors.acc.errors import RemoteNotFound, raise_for
from fieldbridge.connectors.acc.provider import ISSUES_BASE, acc_id

LOOKUP_PAGES = 10
DESCRIPTION_MAX = 10000
# Days until due by detection priority (5 = most severe); incidents get a week.
DUE_DAYS = {5: 1, 4: 2, 3: 3, 2: 7, 1: 14}
INCIDENT_DUE_DAYS = 7
RECORD_KEYS = ("id", "displayId", "title", "status", "issueSubtypeId", "dueDate", "createdAt", "closedAt")


def marker(subject: str) -> str:
    return f"[fieldbridge:{subject}]"


def project_of(item: DeliveryItem) -> str:
    raw = item.remote_project_id or item.payload.get("remote_project_id")
    if not raw:
        raise RejectedOutcome(
            "This safety site is not mapped to an ACC project. Map it (Safety → Sites → Integrations), "
            "then retry."
        )
    return acc_id(str(raw))


class Getter:
    """GETs over the ledger's channel (recorded against the items), raising `AccError`s."""

    def __init__(self, channel: Channel, ids: Sequence[int]) -> None:
        self.channel = channel
        self.ids = list(ids)

    async def __call__(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        response = await self.channel.send("GET", url, for_ids=self.ids, params=params)
        raise_for(response)
        return response.json()

    async def write(self, method: str, url: str, body: Any) -> Any:
        response = await self.channel.send(method, url, for_ids=self.ids, json=body)
        raise_for(response)
        return response.json()


def record(issue: Mapping[str, Any]) -> dict[str, Any]:
    """What the ledger keeps of a delivered issue; `updated_at` is ACC's `updatedAt`, so the
    webhook echo of this very write is recognised and ignored."""
    kept = {k: issue.get(k) for k in RECORD_KEYS if k in issue}
    kept["updated_at"] = issue.get("updatedAt")
    return kept


def _day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        return None


def due_date(kind: str, payload: Mapping[str, Any], created: datetime) -> str | None:
    if kind == "incident":
        start = _day(payload.get("event_at")) or created.date()
        return (
            None if payload.get("status") == "closed" else (start + timedelta(INCIDENT_DUE_DAYS)).isoformat()
        )
    start = _day(payload.get("first_at")) or created.date()
    return (start + timedelta(DUE_DAYS.get(int(payload.get("priority") or 3), 3))).isoformat()


def custom_attributes(payload: Mapping[str, Any], setup: safety.SafetySetup) -> list[dict[str, Any]]:
    """Mapped values (`<attribute title>=<value>`, `safety_flow`) as the project's custom
    attributes: a list attribute takes the option's id, a numeric one a number, others text.
    A value the project's Safety type does not carry is left out."""
    by_title = {a.title.strip().lower(): a for a in setup.attributes.values()}
    out: dict[str, Any] = {}
    for mapped in (payload.get("mapped") or {}).values():
        if not isinstance(mapped, Mapping):
            continue
        title, sep, chosen = str(mapped.get("remote_value") or "").partition("=")
        attribute = by_title.get(title.strip().lower())
        if not sep or attribute is None:
            continue
        if attribute.options:
            option = next((k for k, v in attribute.options.items() if v.lower() == chosen.lower()), None)
            if option is not None:
                out[attribute.id] = option
        elif attribute.data_type == "numeric":
            try:
                out[attribute.id] = float(chosen)
            except ValueError:
                continue
        else:
            out[attribute.id] = chosen
    return [{"attributeDefinitionId": k, "value": v} for k, v in out.items()]


REFERENCE_TITLES = ("fieldbridge id", "detection id")


def reference(item: DeliveryItem, setup: safety.SafetySetup) -> list[dict[str, Any]]:
    """The subject in a text attribute titled "FieldBridge ID" or "Detection ID", when the
    project has one: a second, searchable copy of the description's marker."""
    for attribute in setup.attributes.values():
        if attribute.data_type == "text" and attribute.title.strip().lower() in REFERENCE_TITLES:
            return [{"attributeDefinitionId": attribute.id, "value": item.subject}]
    return []


def description(item: DeliveryItem) -> str:
    p = item.payload
    text = str(p.get("description") or "").strip()
    tail = f"\n\nOpen in FieldBridge: {p.get('link')}" if p.get("link") else ""
    tail += f"\n{marker(item.subject)}"
    return text[: DESCRIPTION_MAX - len(tail)] + tail


def body(item: DeliveryItem, what: str, setup: safety.SafetySetup) -> dict[str, Any]:
    p = item.payload
    wanted = "closed" if p.get("status") in ("closed", "resolved") else p.get("acc_status")
    out: dict[str, Any] = {
        "title": str(p.get("title") or f"FieldBridge safety {what}")[:250],
        "description": description(item),
        "issueSubtypeId": setup.subtype_id,
        "status": setup.status(str(wanted) if wanted else None),
        "published": True,
    }
    if p.get("zone"):
        out["locationDetails"] = str(p["zone"])[:8300]
    due = due_date(what, p, item.created_at)
    if due:
        out["dueDate"] = due
    attributes = custom_attributes(p, setup) + reference(item, setup)
    if attributes:
        out["customAttributes"] = attributes
    return out


async def find_by_marker(get: Getter, project_id: str, setup: safety.SafetySetup, item: DeliveryItem) -> Any:
    """The issue an earlier try created for this subject, if any: the subtype's issues created
    since an hour before the row (`filter[createdAt]=<since>..`), their descriptions searched
    for the marker (ACC's `filter[search]` reads titles only)."""
    wanted = marker(item.subject)
    since = (item.created_at - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    url = f"{ISSUES_BASE}/{project_id}/issues"
    for page in range(LOOKUP_PAGES):
        params = {
            "filter[issueSubtypeId]": setup.subtype_id,
            "filter[createdAt]": f"{since}..",
            "limit": 100,
            "offset": page * 100,
        }
        found = await get(url, params)
        results = found.get("results") or []
        for issue in results:
            if wanted in str(issue.get("description") or ""):
                return issue
        if len(results) < 100:
            return None
    return None


def _changes(new: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """Only permitted attributes that differ; the spec's three required fields always ride along
    (unchanged when not permitted)."""
    permitted = set(current.get("permittedAttributes") or ())
    statuses = set(current.get("permittedStatuses") or ())
    patch: dict[str, Any] = {
        "title": current.get("title"),
        "issueSubtypeId": current.get("issueSubtypeId"),
        "status": current.get("status"),
    }
    for key, value in new.items():
        if key not in permitted and not (key == "status" and value in statuses):
            continue
        if key == "status" and value not in statuses and value != current.get("status"):
            continue
        if current.get(key) != value:
            patch[key] = value
    return patch


class IssueHandler:
    """Create or update the ACC issue of one safety subject."""

    batch_size = 1

    def __init__(self, what: str) -> None:
        self.what = what
        self.kind = f"acc.safety.{what}"

    def batch_key(self, item: DeliveryItem) -> Hashable:
        return item.id

    async def deliver(self, channel: Channel, items: Sequence[DeliveryItem]) -> dict[int, Result]:
        (item,) = items
        missing = missing_mapping(item.payload.get("mapped"))
        if missing is not None:
            return {item.id: missing}
        project_id = project_of(item)
        get = Getter(channel, [item.id])
        setup = await safety.cached(get, channel.connection_id, project_id, _subtype_title(item))
        wanted = body(item, self.what, setup)
        existing = item.remote_id or item.subject_remote_id
        if existing is None and item.outcome_unknown:
            found = await find_by_marker(get, project_id, setup, item)
            if found is not None:
                existing = str(found["id"])
                if item.remote_id is None and item.subject_remote_id is None:
                    return {item.id: Delivered(existing, record(found), found_by_lookup=True)}
        if existing is None:
            issue = await get.write("POST", f"{ISSUES_BASE}/{project_id}/issues", wanted)
            return {item.id: Delivered(str(issue["id"]), record(issue))}
        return {item.id: await self._update(get, project_id, existing, wanted)}

    async def _update(self, get: Getter, project_id: str, issue_id: str, wanted: dict[str, Any]) -> Result:
        url = f"{ISSUES_BASE}/{project_id}/issues/{issue_id}"
        try:
            current = await get(url)
        except RemoteNotFound:
            return RejectedOutcome(
                "The ACC issue this update belongs to was deleted in ACC (or FieldBridge lost access). "
                "Restore it in ACC, or cancel this update."
            )
        wanted.pop("issueSubtypeId", None)  # the issue keeps its subtype
        patch = _changes(wanted, current)
        if patch.keys() <= {"title", "issueSubtypeId", "status"} and all(
            patch[k] == current.get(k) for k in patch
        ):
            return Delivered(issue_id, record(current))  # nothing ACC lets us change differs
        issue = await get.write("PATCH", url, patch)
        return Delivered(issue_id, record(issue))


def _subtype_title(item: DeliveryItem) -> str:
    return str(item.payload.get("acc_subtype") or safety.DEFAULT_SUBTYPE)


HANDLERS: tuple[DeliveryHandler, ...] = (IssueHandler("observation"), IssueHandler("incident"))
