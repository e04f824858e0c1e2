"""A project's Safety setup in ACC, read once and cached: the issue subtype titled "Safety"
(`issue-types?include=subtypes`; UI "type" = API subtype), the statuses a new issue may take
(`users/me`: `issues.new.permittedStatuses`), and the custom attributes that apply to its
issues: mapped to the subtype, its category or the project (`issue-attribute-mappings` +
`issue-attribute-definitions`).

Titles are customer-editable: the subtype is found by title (the connection's
`safety_subtype`, default "Safety"), case-insensitively, as a subtype or as a category with an
active subtype. Missing, the admin reads a plain reason (`SafetyTypeMissing`).
"""

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fieldbridge.connectors.acc.client import collect
from fieldbridge.connectors.acc.errors import Rejected
from fieldbridge.connectors.acc.provider import ISSUES_BASE

CACHE_SECONDS = 600.0
DEFAULT_SUBTYPE = "Safety"
Get = Callable[[str, Mapping[str, Any] | None], Awaitable[Any]]


class SafetyTypeMissing(Rejected):
    """The project has no active issue type titled like the Safety subtype."""


@dataclass(frozen=True)
class Attribute:
    id: str
    title: str
    data_type: str
    options: Mapping[str, str] = field(default_factory=dict)  # option id -> value (list attributes)


@dataclass(frozen=True)
class SafetySetup:
    project_id: str
    type_id: str
    subtype_id: str
    subtype_title: str
    statuses: tuple[str, ...]  # permitted for a new issue, in ACC's order
    attributes: Mapping[str, Attribute]  # by definition id, those mapped to the subtype

    def status(self, wanted: str | None) -> str:
        """`wanted` when the status set allows it; else open, else the first non-draft."""
        if wanted and wanted in self.statuses:
            return wanted
        if "open" in self.statuses:
            return "open"
        return next((s for s in self.statuses if s != "draft"), self.statuses[0] if self.statuses else "open")


_CACHE: dict[tuple[int, str, str], tuple[float, SafetySetup]] = {}


def forget(connection_id: int, project_id: str) -> None:
    for key in [k for k in _CACHE if k[:2] == (connection_id, project_id)]:
        _CACHE.pop(key, None)


def _find_subtype(types: list[dict[str, Any]], title: str) -> tuple[str, str, str] | None:
    wanted = title.strip().lower()
    for kind in types:
        if kind.get("isActive") is False:
            continue
        for sub in kind.get("subtypes") or []:
            if sub.get("isActive") is not False and str(sub.get("title", "")).strip().lower() == wanted:
                return str(kind["id"]), str(sub["id"]), str(sub.get("title"))
    for kind in types:
        if kind.get("isActive") is not False and str(kind.get("title", "")).strip().lower() == wanted:
            for sub in kind.get("subtypes") or []:
                if sub.get("isActive") is not False:
                    return str(kind["id"]), str(sub["id"]), str(sub.get("title"))
    return None


def _attribute(item: Mapping[str, Any]) -> Attribute:
    options = ((item.get("metadata") or {}).get("list") or {}).get("options") or []
    return Attribute(
        id=str(item["id"]),
        title=str(item.get("title") or ""),
        data_type=str(item.get("dataType") or "text"),
        options={str(o["id"]): str(o.get("value") or "") for o in options if "id" in o},
    )


async def load(get: Get, project_id: str, subtype_title: str = DEFAULT_SUBTYPE) -> SafetySetup:
    base = f"{ISSUES_BASE}/{project_id}"
    types = await collect(lambda p: get(f"{base}/issue-types", {**p, "include": "subtypes"}))
    found = _find_subtype(types, subtype_title)
    if found is None:
        raise SafetyTypeMissing(
            f"tool not enabled: the ACC project has no active issue type titled {subtype_title!r}. "
            f"Add it in ACC (Project Admin → Issues → Issue types: a '{subtype_title}' type), then retry. "
            "FieldBridge files safety observations and incidents as issues of that type."
        )
    type_id, subtype_id, title = found
    me = await get(f"{base}/users/me", None)
    statuses = tuple(((me.get("issues") or {}).get("new") or {}).get("permittedStatuses") or ())
    if not ((me.get("issues") or {}).get("new")):
        raise Rejected(
            "no permission: the ACC user FieldBridge connects as cannot create issues in this project. "
            "Give it 'Create' on the Issues tool in ACC (Project Admin → Members), then retry."
        )
    # Attributes apply to an issue when mapped to its subtype, its category or the whole project.
    mappings = await collect(lambda p: get(f"{base}/issue-attribute-mappings", p))
    mapped = {
        str(m.get("attributeDefinitionId"))
        for m in mappings
        if str(m.get("mappedItemId")) in (subtype_id, type_id, project_id)
    }
    definitions = await collect(lambda p: get(f"{base}/issue-attribute-definitions", p)) if mapped else []
    attributes = {str(d["id"]): _attribute(d) for d in definitions if str(d.get("id")) in mapped}
    return SafetySetup(project_id, type_id, subtype_id, title, statuses, attributes)


async def cached(
    get: Get, connection_id: int, project_id: str, subtype_title: str = DEFAULT_SUBTYPE
) -> SafetySetup:
    key = (connection_id, project_id, subtype_title.strip().lower())
    hit = _CACHE.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    setup = await load(get, project_id, subtype_title)
    _CACHE[key] = (time.monotonic() + CACHE_SECONDS, setup)
    return setup
