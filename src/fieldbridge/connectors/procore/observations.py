"""Safety observations and the daily safety summary into Procore: ledger kinds
`procore.safety.observation` (observation items of a Safety type) and
`procore.safety.daily_summary` (an entry of the project's daily log notes log).

A row of a subject that has a delivered row before it (`subject_remote_id`) is an update:
PATCH of the same item or entry (a fold's new count, a late correction of the summary), never
a second one. Procore has no idempotency keys and neither record has an origin field, so the
record carries its FieldBridge link (unique per observation and per site-day) and a create
whose answer was lost is looked up by that link before it is sent again; a record found that
way is then brought up to the row's state with a PATCH.

Refusals are rejected with the plain reasons of the export log: "tool not enabled", "no
permission", "project inactive", "mapped value missing".
"""

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import httpx

from fieldbridge.connections.connector import Channel, Delivered, DeliveryHandler, DeliveryItem, Result
from fieldbridge.connections.outcomes import DeliveryFailure, Rejected
from fieldbridge.connectors.procore import errors as procore
from fieldbridge.connectors.procore import mapping

OBSERVATION_KIND = "procore.safety.observation"
SUMMARY_KIND = "procore.safety.daily_summary"
ITEMS = "/rest/v1.0/observations/items"
SAFETY = "Safety"
# Our priority 1..5 on Procore's scale, unless the field mapping says otherwise.
PRIORITIES = {1: "Low", 2: "Low", 3: "Medium", 4: "High", 5: "Urgent"}
PROCORE_PRIORITIES = frozenset({"Low", "Medium", "High", "Urgent"})
# The default Safety type by detection type, when the mapping gives none.
DEFAULT_TYPES = {"zone_breach": "Safety Hazard", "ppe_violation": "Safety Violation"}
LOOKUP_PER_PAGE = 100


def plain_reason(response: httpx.Response, tool: str) -> str:
    """What a safety manager should do about a refused safety record."""
    text = procore.body_message(response).lower()
    status = response.status_code
    if status == 403 and "inactive" in text:
        return "project inactive: the Procore project is inactive. Reactivate it in Procore, then retry."
    if status == 403 and ("disabled" in text or ("tool" in text and "permission" not in text)):
        return (
            f"tool not enabled: turn on the {tool} tool in this Procore project (Project Admin), then retry."
        )
    if status in (403, 404):
        return (
            f"no permission: the Procore user FieldBridge connects as cannot write to the {tool} tool "
            "of this project (or cannot see the project). Grant it in Procore (Directory, permissions), "
            "then retry."
        )
    return f"Procore refused the {tool} record: {procore.body_message(response)}. Fix it, then retry."


def refused(response: httpx.Response, tool: str) -> DeliveryFailure | Exception:
    """A refused answer: rejected with a plain reason, or the retriable / auth error as is."""
    error = procore.classify(response)
    assert error is not None
    if isinstance(error, procore.Rejected):
        return Rejected(plain_reason(response, tool), status=response.status_code)
    return error


def _result(response: httpx.Response, tool: str) -> Result:
    failure = refused(response, tool)
    if not isinstance(failure, DeliveryFailure):
        raise failure
    return failure


def answer(item: DeliveryItem, response: httpx.Response, tool: str) -> dict[int, Result]:
    """The item's result from Procore's answer to its create or update."""
    if response.status_code >= 400:
        return {item.id: _result(response, tool)}
    row = response.json()
    return {item.id: Delivered(mapping.pid(row["id"]), _remote(row))}


def priority_of(payload: Mapping[str, Any]) -> str:
    mapped = (payload.get("mapped") or {}).get("priority") or {}
    for value in (mapped.get("remote_value"), mapped.get("remote_label")):
        if value in PROCORE_PRIORITIES:
            return str(value)
    return PRIORITIES.get(int(payload.get("priority") or 3), "Medium")


def _mentions(text: object, link: str) -> bool:
    """`link` appears in `text` as a whole (not as the prefix of a longer id)."""
    body = str(text or "")
    at = body.find(link)
    while at >= 0:
        end = at + len(link)
        if end == len(body) or not body[end].isalnum():
            return True
        at = body.find(link, end)
    return False


class ObservationItem:
    """`procore.safety.observation`: create (POST) or update (PATCH) an observation item."""

    kind = OBSERVATION_KIND
    batch_size = 1

    def __init__(self) -> None:
        self.types: dict[str, dict[str, str]] = {}  # remote project -> Safety type name -> id

    def batch_key(self, item: DeliveryItem) -> Hashable:
        return item.id

    async def _type_id(self, channel: Channel, item: DeliveryItem) -> str | Result:
        p = item.payload
        mapped = (p.get("mapped") or {}).get("observation_type")
        if mapped:
            if mapped.get("missing"):
                return Rejected(
                    f"mapped value missing: the observation type {mapped.get('remote_label')!r} is gone "
                    "from Procore. Choose another in the field mapping, then retry."
                )
            return str(mapped["remote_value"])
        project = str(item.remote_project_id)
        if project not in self.types:
            response = await channel.send(
                "GET", "/rest/v1.0/observations/types", for_ids=[item.id], params={"project_id": project}
            )
            if response.status_code >= 400:
                return _result(response, "Observations")
            self.types[project] = {
                str(t["name"]): mapping.pid(t["id"])
                for t in response.json()
                if t.get("category") == SAFETY and t.get("active", True)
            }
        wanted = DEFAULT_TYPES.get(str(p.get("type")), "Safety Notice")
        found = self.types[project].get(wanted) or next(iter(self.types[project].values()), None)
        if found is None:
            return Rejected(
                "mapped value missing: this Procore project has no active Safety observation type. "
                "Add one in Procore (Observations settings) or map one, then retry."
            )
        return found

    def _fields(self, item: DeliveryItem) -> dict[str, Any]:
        p = item.payload
        return {"name": str(p["title"]), "description": str(p["description"]), "priority": priority_of(p)}

    async def deliver(self, channel: Channel, items: Sequence[DeliveryItem]) -> dict[int, Result]:
        item = items[0]
        project = mapping.number(str(item.remote_project_id))
        remote_id = item.remote_id or item.subject_remote_id
        if remote_id is None and item.outcome_unknown:
            remote_id = await self._lookup(channel, item)
        # Procore's update body requires name and type_id like the create's.
        type_id = await self._type_id(channel, item)
        if not isinstance(type_id, str):
            return {item.id: type_id}
        fields = {**self._fields(item), "type_id": mapping.number(type_id)}
        if remote_id is not None:
            url = f"{ITEMS}/{remote_id}"
            body = {"project_id": project, "observation": fields}
            return answer(
                item, await channel.send("PATCH", url, for_ids=[item.id], json=body), "Observations"
            )
        fields["status"] = "initiated"
        response = await channel.send(
            "POST", ITEMS, for_ids=[item.id], json={"project_id": project, "observation": fields}
        )
        return answer(item, response, "Observations")

    async def _lookup(self, channel: Channel, item: DeliveryItem) -> str | None:
        """The item an earlier try created: searched by its FieldBridge link."""
        link = str(item.payload["link"])
        params = {
            "project_id": str(item.remote_project_id),
            "filters[search]": link,
            "per_page": LOOKUP_PER_PAGE,
        }
        response = await channel.send("GET", ITEMS, for_ids=[item.id], params=params)
        if response.status_code >= 400:
            raise refused(response, "Observations")
        for row in response.json():
            if _mentions(row.get("description"), link):
                return mapping.pid(row["id"])
        return None


def _remote(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("id", "number", "name", "status", "priority", "date", "created_at", "updated_at")
    return {k: row.get(k) for k in keys if k in row}


class DailySummaryNote:
    """`procore.safety.daily_summary`: the site-day's entry in the daily log's notes log."""

    kind = SUMMARY_KIND
    batch_size = 1

    def batch_key(self, item: DeliveryItem) -> Hashable:
        return item.id

    async def deliver(self, channel: Channel, items: Sequence[DeliveryItem]) -> dict[int, Result]:
        item = items[0]
        base = f"/rest/v1.0/projects/{item.remote_project_id}/notes_logs"
        remote_id = item.remote_id or item.subject_remote_id
        if remote_id is None and item.outcome_unknown:
            remote_id = await self._lookup(channel, item, base)
        note = {"comment": str(item.payload["text"])}
        if remote_id is not None:
            url = f"{base}/{remote_id}"
            response = await channel.send("PATCH", url, for_ids=[item.id], json={"notes_log": note})
            return answer(item, response, "Daily Log")
        body = {"notes_log": {**note, "date": str(item.payload["date"])}}
        return answer(item, await channel.send("POST", base, for_ids=[item.id], json=body), "Daily Log")

    async def _lookup(self, channel: Channel, item: DeliveryItem, base: str) -> str | None:
        """The entry an earlier try created: that date's notes (any status) naming our link."""
        link = str(item.payload["link"])
        params = {
            "log_date": str(item.payload["date"]),
            "filters[status]": "all",
            "per_page": LOOKUP_PER_PAGE,
        }
        response = await channel.send("GET", base, for_ids=[item.id], params=params)
        if response.status_code >= 400:
            raise refused(response, "Daily Log")
        for row in response.json():
            if _mentions(row.get("comment"), link):
                return mapping.pid(row["id"])
        return None


HANDLERS: tuple[DeliveryHandler, ...] = (ObservationItem(), DailySummaryNote())
