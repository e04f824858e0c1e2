"""Seed data: `demo` (two hubs in two regions, four projects, Safety subtypes, custom
attributes, form templates) and `empty` (just the app and its users).

Ids are drawn from a fixed random seed, so a demo sandbox has the same ids on every start;
after seeding the generator is reseeded from the OS so new records never collide with ids
a persisted sandbox already holds.
"""

from __future__ import annotations

import random
from typing import Any

from fieldbridge_sandbox_acc.store import AccStore, Record

DEMO_CLIENT_ID = "fb-acc-demo-client"
DEMO_CLIENT_SECRET = "fb-acc-demo-secret-0123456789abcdef"
PUBLIC_CLIENT_ID = "fb-acc-public-client"  # a public (PKCE, no secret) client
DEMO_REDIRECT_URIS = [
    "http://127.0.0.1:8000/settings/integrations/acc/callback",
    "http://localhost:8000/settings/integrations/acc/callback",
]
SAFETY = "Safety"
DAILY_REPORT_TYPE = "pg.template_type.daily_report"
SAFETY_TEMPLATE_TYPE = "pg.template_type.safety"
ALL_STATUSES = [
    "draft",
    "open",
    "pending",
    "in_progress",
    "in_review",
    "completed",
    "not_approved",
    "in_dispute",
    "closed",
]
# status sets by name (an issue type's `statusSet`); a subtype's issues use its type's set
STATUS_SETS: dict[str, list[str]] = {
    "default": ["draft", "open", "pending", "in_review", "closed"],
    "safety": ["open", "in_progress", "completed", "closed"],
}

USERS: list[dict[str, Any]] = [
    {"name": "Avery Admin", "email": "avery@northwind.example", "admin": True},
    {"name": "Sam Safety", "email": "sam@northwind.example", "admin": False},
    {"name": "Pat Field", "email": "pat@northwind.example", "admin": False},
    {"name": "Ingrid Berg", "email": "ingrid@fjord.example", "admin": True},
]
# (hub name, region, users by index)
HUBS: list[tuple[str, str, list[int]]] = [
    ("Northwind Builders", "US", [0, 1, 2]),
    ("Fjord Bygg AS", "EMEA", [3, 0]),
]
# (hub index, name, has Safety subtype, form templates)
PROJECTS: list[tuple[int, str, bool, list[tuple[str, str]]]] = [
    (
        0,
        "Riverside Medical Office",
        True,
        [("Daily Report", DAILY_REPORT_TYPE), ("Safety Inspection", SAFETY_TEMPLATE_TYPE)],
    ),
    (0, "Harbor Logistics Center", True, [("Safety Inspection", SAFETY_TEMPLATE_TYPE)]),
    (0, "Old Mill Lofts", False, [("Daily Report", DAILY_REPORT_TYPE)]),
    (1, "Bergen Tower", True, [("Dagsrapport", DAILY_REPORT_TYPE)]),
]


def apply_seed(store: AccStore, seed: str) -> None:
    store.clear()
    store.rng = random.Random(12)
    store.seed_name = seed
    now = store.now_iso()
    users = [_user(store, u, now) for u in USERS]
    store.insert(
        "apps",
        {
            "id": DEMO_CLIENT_ID,
            "name": "FieldBridge (demo)",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "redirect_uris": list(DEMO_REDIRECT_URIS),
            "allow_loopback_redirects": True,
        },
    )
    store.insert(
        "apps",
        {
            "id": PUBLIC_CLIENT_ID,
            "name": "FieldBridge (public PKCE client)",
            "client_id": PUBLIC_CLIENT_ID,
            "client_secret": None,
            "redirect_uris": list(DEMO_REDIRECT_URIS),
            "allow_loopback_redirects": True,
        },
    )
    if seed == "demo":
        hubs = [_hub(store, name, region, [users[i] for i in members]) for name, region, members in HUBS]
        for hub_index, name, safety, templates in PROJECTS:
            hub = hubs[hub_index]
            _project(store, hub, name, safety, templates, now)
    store.rng = random.Random()
    store.touch()
    store.save()


def _user(store: AccStore, spec: dict[str, Any], now: str) -> Record:
    first, _, last = spec["name"].partition(" ")
    return store.insert(
        "users",
        {
            "id": store.new_autodesk_id(),
            "name": spec["name"],
            "firstName": first,
            "lastName": last,
            "email": spec["email"],
            "_admin": spec["admin"],
            "_hub_ids": [],
            "createdAt": now,
        },
    )


def _hub(store: AccStore, name: str, region: str, members: list[Record]) -> Record:
    account_id = store.new_uuid()
    hub = store.insert("hubs", {"id": f"b.{account_id}", "name": name, "region": region})
    for user in members:
        user["_hub_ids"].append(hub["id"])
    return hub


def _project(
    store: AccStore, hub: Record, name: str, safety: bool, templates: list[tuple[str, str]], now: str
) -> Record:
    pid = store.new_uuid()
    admin = next(u for u in store.rows("users") if u["_admin"] and hub["id"] in u["_hub_ids"])
    project = store.insert(
        "projects",
        {
            "id": pid,
            "name": name,
            "hub_id": hub["id"],
            "region": hub["region"],
            "_member_ids": [u["id"] for u in store.rows("users") if hub["id"] in u["_hub_ids"]],
            "_admin_ids": [admin["id"]],
        },
    )
    categories: list[tuple[str, str, list[tuple[str, str]]]] = [
        ("Quality", "default", [("Defect", "DEF"), ("Punch List", "PUN")]),
        ("Design", "default", [("Clash", "CLA")]),
    ]
    if safety:
        categories.append(("Safety", "safety", [(SAFETY, "SAF"), ("Near Miss", "NMS")]))
    subtype_ids: dict[str, str] = {}
    type_ids: dict[str, str] = {}
    for order, (title, status_set, subtypes) in enumerate(categories):
        type_id = store.new_uuid()
        type_ids[title] = type_id
        subs = []
        for sub_order, (sub_title, code) in enumerate(subtypes):
            sub_id = store.new_uuid()
            subtype_ids[sub_title] = sub_id
            subs.append(
                {
                    "id": sub_id,
                    "issueTypeId": type_id,
                    "title": sub_title,
                    "code": code,
                    "isActive": True,
                    "orderIndex": sub_order,
                    "isReadOnly": False,
                    "permittedActions": [],
                    "permittedAttributes": [],
                    "createdBy": admin["id"],
                    "createdAt": now,
                    "updatedBy": admin["id"],
                    "updatedAt": now,
                }
            )
        store.insert(
            "issue_types",
            {
                "id": type_id,
                "containerId": pid,
                "title": title,
                "isActive": True,
                "orderIndex": order,
                "permittedActions": [],
                "permittedAttributes": [],
                "subtypes": subs,
                "statusSet": status_set,
                "createdBy": admin["id"],
                "createdAt": now,
                "updatedBy": admin["id"],
                "updatedAt": now,
            },
        )
    _attributes(store, pid, admin["id"], now, subtype_ids.get(SAFETY), type_ids)
    _root_causes(store, pid, admin["id"], now)
    for title, template_type in templates:
        store.insert(
            "form_templates",
            {
                "id": store.new_uuid(),
                "projectId": pid,
                "name": title,
                "status": "active",
                "templateType": template_type,
                "isPdf": False,
                "createdBy": admin["id"],
                "createdAt": now,
                "updatedAt": now,
            },
        )
    return project


def _attributes(
    store: AccStore, pid: str, admin_id: str, now: str, safety_subtype: str | None, type_ids: dict[str, str]
) -> None:
    """Custom attributes: Severity (list) and Detection ID (text) mapped to the Safety subtype,
    Confidence (numeric) to the Safety category, Camera (text) to the whole project."""
    stamp = {"createdAt": now, "createdBy": admin_id, "updatedAt": now, "updatedBy": admin_id}
    defs: list[tuple[str, str, list[str]]] = [
        ("Severity", "list", ["Low", "Medium", "High", "Critical"]),
        ("Detection ID", "text", []),
        ("Confidence", "numeric", []),
        ("Camera", "text", []),
    ]
    ids: dict[str, str] = {}
    for title, data_type, options in defs:
        row: Record = {
            "id": store.new_uuid(),
            "containerId": pid,
            "title": title,
            "description": f"{title} of the finding",
            "dataType": data_type,
            "permittedActions": [],
            "permittedAttributes": [],
            **stamp,
        }
        if options:
            row["metadata"] = {"list": {"options": [{"id": store.new_uuid(), "value": v} for v in options]}}
        ids[title] = store.insert("attr_definitions", row)["id"]
    mappings: list[tuple[str, str, str]] = [("Camera", "project", pid)]
    if safety_subtype is not None:
        mappings += [
            ("Severity", "issueSubtype", safety_subtype),
            ("Detection ID", "issueSubtype", safety_subtype),
            ("Confidence", "issueType", type_ids["Safety"]),
        ]
    for order, (title, item_type, item_id) in enumerate(mappings):
        store.insert(
            "attr_mappings",
            {
                "id": store.new_uuid(),
                "containerId": pid,
                "attributeDefinitionId": ids[title],
                "title": title,
                "description": f"{title} of the finding",
                "mappedItemType": item_type,
                "mappedItemId": item_id,
                "order": order,
                "permittedActions": [],
                "permittedAttributes": [],
                **stamp,
            },
        )


def _root_causes(store: AccStore, pid: str, admin_id: str, now: str) -> None:
    stamp = {"createdAt": now, "createdBy": admin_id, "updatedAt": now, "updatedBy": admin_id}
    for title, causes in (("Behavior", ["PPE not worn", "Shortcut taken"]), ("Conditions", ["Housekeeping"])):
        category_id = store.new_uuid()
        store.insert(
            "root_cause_categories",
            {
                "id": category_id,
                "containerId": pid,
                "title": title,
                "isActive": True,
                "permittedActions": [],
                "permittedAttributes": [],
                "rootCauses": [
                    {"id": store.new_uuid(), "rootCauseCategoryId": category_id, "title": c, "isActive": True}
                    for c in causes
                ],
                **stamp,
            },
        )
