"""Deterministic seed data: `demo` (one company, realistic), `large` (scale), `empty`.

Ids come from the store's counter (5,000,000,001 upward, above 32 bits), timestamps from a
fixed epoch, so the same seed always yields the same ids and bodies.
"""

from __future__ import annotations

from typing import Any

from fieldbridge_sandbox.seed_data import CSI, FIRST, LAST, LINE_ITEM_TYPES, PROJECTS, TRADES
from fieldbridge_sandbox.store import Record, Store, iso

SEED_EPOCH = 1_735_912_800.0  # 2025-01-03T14:00:00Z
DEMO_CLIENT_ID = "fieldbridge-demo-client"
DEMO_CLIENT_SECRET = "fieldbridge-demo-secret"
DEMO_REDIRECT_URIS = [
    "http://127.0.0.1:8000/settings/integrations/procore/callback",
    "http://localhost:8000/settings/integrations/procore/callback",
    "urn:ietf:wg:oauth:2.0:oob",
]
OTHER_CLIENT_ID = "not-installed-client"
OTHER_CLIENT_SECRET = "not-installed-secret"


class SeedBuilder:
    """Adds consistently shaped records to a store; every seed goes through it."""

    def __init__(self, store: Store) -> None:
        self.s = store
        self.n = 0

    def ts(self) -> str:
        self.n += 1
        return iso(SEED_EPOCH + self.n)

    def add(self, table: str, row: Record) -> Record:
        row.setdefault("created_at", self.ts())
        row.setdefault("updated_at", row["created_at"])
        return self.s.insert(table, row)

    def company(self, name: str) -> Record:
        return self.add(
            "companies", {"name": name, "is_active": True, "logo_url": None, "pcn_business_experience": False}
        )

    def project(
        self,
        company: Record,
        idx: int,
        name: str,
        number: str,
        active: bool,
        stage: str,
        time_entry_mode: str = "hours",
    ) -> Record:
        return self.add(
            "projects",
            {
                "company_id": company["id"],
                "name": name,
                "display_name": f"{number} - {name}",
                "project_number": number,
                "address": f"{100 + idx} Main Street",
                "city": "Denver",
                "state_code": "CO",
                "country_code": "US",
                "zip": "80202",
                "county": "Denver County",
                "time_zone": "Mountain Time (US & Canada)",
                "tz_name": "America/Denver",
                "latitude": 39.74 + idx / 1000,
                "longitude": -104.99 - idx / 1000,
                "stage": stage,
                "phone": "303-555-0100",
                "active": active,
                "origin_id": None,
                "origin_data": None,
                "origin_code": None,
                "is_demo": False,
                "template": False,
                "start_date": "2024-03-01",
                "completion_date": "2026-06-30",
                "projected_finish_date": "2026-06-30",
                "total_value": "12500000.0",
                "_time_entry_mode": time_entry_mode,
                "_app_blocked": [],
                "_tools_disabled": [],
            },
        )

    def line_item_types(self, company: Record) -> list[Record]:
        return [
            self.add(
                "line_item_types",
                {
                    "company_id": company["id"],
                    "name": name,
                    "code": code,
                    "base_type": base,
                    "origin_id": None,
                    "origin_data": None,
                },
            )
            for code, name, base in LINE_ITEM_TYPES
        ]

    def cost_codes(
        self, project: Record, lits: list[Record], divisions: list[Any], biller: Record | None = None
    ) -> list[Record]:
        out: list[Record] = []
        biller_type = "SubJob" if biller else "Project"
        biller = biller or project
        position = 0
        for div_code, div_name, children in divisions:
            position += 1
            parent = self.add(
                "cost_codes",
                self._code(project, biller, biller_type, None, div_code, div_name, div_code, position, []),
            )
            for code, name in children:
                position += 1
                out.append(
                    self.add(
                        "cost_codes",
                        self._code(
                            project,
                            biller,
                            biller_type,
                            parent,
                            code,
                            name,
                            f"{div_code}-{code}",
                            position,
                            [lit["id"] for lit in lits],
                        ),
                    )
                )
        return out

    @staticmethod
    def _code(
        project: Record,
        biller: Record,
        biller_type: str,
        parent: Record | None,
        code: str,
        name: str,
        full_code: str,
        position: int,
        lit_ids: list[int],
    ) -> Record:
        return {
            "project_id": project["id"],
            "name": name,
            "code": code,
            "full_code": full_code,
            "sortable_code": full_code,
            "parent_id": parent["id"] if parent else None,
            "biller_id": biller["id"],
            "biller_type": biller_type,
            "biller": biller["name"],
            "biller_origin_id": None,
            "budgeted": parent is not None,
            "position": position,
            "standard_cost_code_id": None,
            "origin_id": None,
            "origin_data": None,
            "deleted_at": None,
            "_line_item_type_ids": lit_ids,
        }

    def budget(self, project: Record, codes: list[Record], lits: list[Record]) -> None:
        self.add(
            "budget_views",
            {
                "project_id": project["id"],
                "name": "Procore Standard Budget",
                "description": "Original budget with labor hours",
                "role": "standard",
                "created_by": None,
            },
        )
        for i, code in enumerate(codes):
            for lit in lits:
                if lit["code"] not in ("L", "M") and i % 3:
                    continue
                labor = lit["base_type"] == "labor"
                hours = 40 * (1 + (i * 7) % 12) if labor else 0
                amount = hours * 68 if labor else 5000 * (1 + i % 5)
                self.add(
                    "budget_line_items",
                    {
                        "project_id": project["id"],
                        "cost_code_id": code["id"],
                        "line_item_type_id": lit["id"],
                        "original_budget_amount": float(amount),
                        "uom": "HR" if labor else "LS",
                        "quantity": float(hours) if labor else 1.0,
                        "unit_cost": 68.0 if labor else float(amount),
                        "calculation_strategy": "automatic",
                    },
                )

    def user(
        self,
        company: Record,
        first: str,
        last: str,
        job_title: str,
        *,
        admin: bool = False,
        timecards: str = "admin",
        employee_id: str | None = None,
        projects: list[int] | None = None,
        service_account: bool = False,
    ) -> Record:
        login = f"{first}.{last}@summitridge.example".lower()
        user = self.add(
            "users",
            {
                "company_id": company["id"],
                "login": login,
                "name": f"{first} {last}",
                "first_name": first,
                "last_name": last,
                "email_address": login,
                "job_title": job_title,
                "is_active": True,
                "is_employee": True,
                "employee_id": employee_id,
                "mobile_phone": None,
                "business_phone": "303-555-0199",
                "vendor": {"id": company["id"], "name": company["name"]},
                "origin_id": None,
                "origin_data": None,
                "work_classification_id": None,
                "_company_admin": admin,
                "_timecards": timecards,
                "_project_ids": projects or [],
                "_service_account": service_account,
            },
        )
        self.person(
            company,
            first,
            last,
            employee_id=employee_id,
            user=user,
            projects=projects or [],
            job_title=job_title,
        )
        return user

    def person(
        self,
        company: Record,
        first: str,
        last: str,
        *,
        employee_id: str | None,
        user: Record | None = None,
        projects: list[int] | None = None,
        job_title: str = "Laborer",
        email: str | None = None,
    ) -> Record:
        return self.add(
            "people",
            {
                "company_id": company["id"],
                "first_name": first,
                "last_name": last,
                "name": f"{first} {last}",
                "is_employee": True,
                "employee_id": employee_id,
                "user_id": user["id"] if user else None,
                "user_uuid": None,
                "work_classification_id": None,
                "origin_id": None,
                "job_title": job_title,
                "vendor": {"id": company["id"], "name": company["name"]},
                "contact": {"is_active": True, "email": (user or {}).get("login", email)},
                "_project_ids": projects or [],
            },
        )

    def company_lists(self, company: Record) -> None:
        cid = company["id"]
        for name, abbr, pay_rate in [
            ("Regular Time", "REG", "1.0"),
            ("Overtime", "OT", "1.5"),
            ("Double Time", "DT", "2.0"),
            ("Salary", "SAL", "1.0"),
        ]:
            self.add(
                "timecard_time_types",
                {
                    "company_id": cid,
                    "time_type": name,
                    "name": name,
                    "abbreviated_time_type": abbr,
                    "global": True,
                    "available": True,
                    "default": abbr == "REG",
                    "pay_rate": pay_rate,
                },
            )
        for table, names in [
            ("hazards", ["Fall from height", "Struck by object", "Electrical", "Trench collapse"]),
            ("contributing_conditions", ["Poor housekeeping", "Inadequate lighting", "Weather"]),
            ("contributing_behaviors", ["No PPE", "Rushing", "Bypassed guard"]),
            ("affliction_types", ["Fracture", "Sprain or strain", "Laceration", "Contusion", "Burn"]),
            ("harm_sources", ["Ladder", "Scaffold", "Hand tool", "Falling object", "Vehicle"]),
            ("work_activities", ["Climbing", "Lifting", "Cutting", "Operating equipment"]),
        ]:
            for name in names:
                self.add(table, {"company_id": cid, "name": name, "active": True, "global": True})
        # Body parts are a tree (a region, then the parts a person picks).
        for region, parts in [
            ("Upper extremities", ["Hand", "Wrist", "Arm"]),
            ("Lower extremities", ["Knee", "Ankle", "Foot"]),
            ("Head", ["Eye", "Face"]),
            ("Trunk", ["Back", "Chest"]),
        ]:
            parent = self.add(
                "body_parts", {"company_id": cid, "name": region, "selectable": False, "parent_id": None}
            )
            for part in parts:
                self.add(
                    "body_parts",
                    {"company_id": cid, "name": part, "selectable": True, "parent_id": parent["id"]},
                )
        types = [
            ("Near-Miss", "Safety"),
            ("Safety Hazard", "Safety"),
            ("Safety Notice", "Safety"),
            ("Safety Violation", "Safety"),
            ("Workmanship", "Quality"),
        ]
        for name, category in types:
            self.add(
                "observation_types",
                {
                    "company_id": cid,
                    "name": name,
                    "category": category,
                    "category_key": category.lower(),
                    "category_id": 1 if category == "Safety" else 2,
                    "active": True,
                    "company_active": True,
                    "parent_inactive": False,
                    "in_use": True,
                    "kind": "default",
                    "name_translations": {"en": name},
                    "localized_name": name,
                },
            )

    def locations(self, project: Record) -> None:
        building = self.add("locations", self._loc(project, "Building A", "Building A", None, "A"))
        self.add("locations", self._loc(project, "Building A>Level 1", "Level 1", building["id"], "A1"))
        self.add("locations", self._loc(project, "Site", "Site", None, "S"))

    @staticmethod
    def _loc(project: Record, name: str, node: str, parent: int | None, code: str) -> Record:
        return {
            "project_id": project["id"],
            "name": name,
            "node_name": node,
            "parent_id": parent,
            "code": code,
        }

    def app(
        self,
        name: str,
        client_id: str,
        secret: str,
        installs: dict[int, list[int] | None],
        service_user: Record | None,
    ) -> Record:
        return self.add(
            "apps",
            {
                "name": name,
                "client_id": client_id,
                "client_secret": secret,
                "redirect_uris": list(DEMO_REDIRECT_URIS),
                "allow_loopback_redirects": True,
                "installs": {str(k): v for k, v in installs.items()},
                "service_user_id": service_user["id"] if service_user else None,
            },
        )


# The crew of `fieldbridge demo` (fieldbridge/demo/company.py): same names, emails and employee ids, so
# every demo worker is matched to their own Procore person.
DEMO_CREW = [
    ("Maria", "Lopez", "Foreman", "E3001"),
    ("James", "Carter", "Journeyman", "E3002"),
    ("Aisha", "Khan", "Apprentice", "E3003"),
    ("Tom", "Nguyen", "Journeyman", "E3004"),
    ("Luis", "Ramirez", "Foreman", "E3005"),
    ("Grace", "Kim", "Laborer", "E3006"),
]


def seed_demo(store: Store) -> None:
    b = SeedBuilder(store)
    company = b.company("Summit Ridge Builders")
    lits = b.line_item_types(company)
    b.company_lists(company)
    projects = [
        b.project(company, i, name, number, active, stage, "start_stop" if number == "WBT-1010" else "hours")
        for i, (name, number, active, stage) in enumerate(PROJECTS)
    ]
    for i, project in enumerate(projects):
        divisions = CSI if i < 3 else CSI[: 4 + i % 6]
        codes = b.cost_codes(project, lits, divisions)
        if i == 0:
            for phase in ("Phase 1 - Shell", "Phase 2 - Fit-out"):
                sub = b.add(
                    "sub_jobs",
                    {
                        "project_id": project["id"],
                        "name": phase,
                        "code": phase[:7].replace(" ", ""),
                        "origin_id": None,
                        "origin_data": None,
                    },
                )
                b.cost_codes(project, lits, CSI[7:9], biller=sub)
        b.budget(project, codes, lits)
        b.locations(project)
    ids = [p["id"] for p in projects]
    active_ids = [p["id"] for p in projects if p["active"]]
    admin = b.user(
        company, "Alex", "Carter", "Operations Manager", admin=True, projects=ids, employee_id="E1001"
    )
    b.user(company, "Maria", "Gonzalez", "Superintendent", projects=active_ids[:6], employee_id="E1002")
    b.user(company, "James", "Okafor", "Safety Manager", projects=active_ids, employee_id="E1003")
    b.user(company, "Priya", "Patel", "Project Engineer", timecards="read_only", projects=active_ids[:4])
    b.user(
        company, "Nora", "Novak", "Foreman", timecards="none", projects=active_ids[:5], employee_id="E1005"
    )
    for k in range(5):
        b.user(
            company,
            FIRST[10 + k],
            LAST[10 + k],
            "Foreman",
            projects=active_ids[k : k + 4],
            employee_id=f"E{1006 + k}",
        )
    service = b.user(
        company, "FieldBridge", "Service Account", "Service Account", projects=ids, service_account=True
    )
    for k in range(29):
        first, last = FIRST[k % 20], LAST[(k * 7 + 3) % 20]
        b.person(
            company,
            first,
            f"{last}{'' if k < 20 else ' Jr.'}",
            employee_id=f"W{2000 + k}" if k % 4 else None,
            projects=active_ids[k % 5 : k % 5 + 5],
            job_title=TRADES[k % len(TRADES)],
            email=f"{first}.{last}{k}@crew.example".lower() if k % 3 == 0 else None,
        )
    for first, last, trade, employee_id in DEMO_CREW:  # FieldBridge's demo workers, as Procore knows them
        b.person(
            company,
            first,
            last,
            employee_id=employee_id,
            projects=active_ids,
            job_title=trade,
            email=f"{first}.{last}@demo-builders.com".lower(),
        )
    blocked = next(p for p in projects if p["project_number"] == "SDC-1009")
    permitted = [i for i in ids if i != blocked["id"]]
    b.app("FieldBridge (demo)", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, {company["id"]: permitted}, service)
    b.app("Not installed", OTHER_CLIENT_ID, OTHER_CLIENT_SECRET, {}, None)
    store.seed_name = "demo"
    _ = admin


GC_NAME = "Large GC"  # the `large` seed's fourth company: 500 active projects (bench scale)
GC_PROJECTS = 500
GC_PEOPLE = 300


def seed_large(store: Store) -> None:
    b = SeedBuilder(store)
    lit_rows: list[Record] = []
    installs: dict[int, list[int] | None] = {}
    service: Record | None = None
    for c in range(3):
        company = b.company(f"Large Co {c + 1}")
        lits = b.line_item_types(company)
        lit_rows.extend(lits)
        b.company_lists(company)
        projects = [
            b.project(
                company,
                k,
                f"Project {c + 1}-{k:03d}",
                f"L{c + 1}-{k:03d}",
                k % 10 != 9,
                "Course of Construction",
            )
            for k in range(167 if c < 2 else 166)
        ]
        ids = [p["id"] for p in projects]
        installs[company["id"]] = None  # all projects permitted
        big = c == 0
        for k, project in enumerate(projects):
            if big and k == 0:
                divisions = [
                    (f"{d:02d}", f"Division {d}", [(f"{s:03d}", f"Item {d}-{s}") for s in range(1, 80)])
                    for d in range(1, 26)
                ]
                b.cost_codes(project, lits, divisions)  # 25 divisions + 1,975 codes = 2,000
            elif k < 20:
                b.cost_codes(project, lits, CSI[:3])
        admin = b.user(company, "Alex", f"Admin{c}", "Operations Manager", admin=True, projects=ids)
        if service is None:
            service = b.user(
                company,
                "FieldBridge",
                "Service Account",
                "Service Account",
                projects=ids,
                service_account=True,
            )
        _ = admin
        for k in range(1667 if c < 2 else 1666):
            b.person(
                company,
                FIRST[k % 20],
                f"{LAST[(k // 20) % 20]}{k}",
                employee_id=f"W{c}{k:05d}",
                projects=ids[k % 160 : k % 160 + 3],
            )
    gc = b.company(GC_NAME)  # one company at a general contractor's size: one rate budget
    installs[gc["id"]] = None
    gc_lits = b.line_item_types(gc)
    b.company_lists(gc)
    gc_projects = [
        b.project(gc, k, f"GC Project {k:03d}", f"GC-{k:03d}", True, "Course of Construction")
        for k in range(GC_PROJECTS)
    ]
    for project in gc_projects:
        b.cost_codes(project, gc_lits, CSI[:2])
    gc_ids = [p["id"] for p in gc_projects]
    b.user(gc, "Alex", "AdminGC", "Operations Manager", admin=True, projects=gc_ids)
    for k in range(GC_PEOPLE):
        b.person(
            gc,
            FIRST[k % 20],
            f"{LAST[(k // 20) % 20]}{k}",
            employee_id=f"G{k:05d}",
            projects=gc_ids[k % 490 : k % 490 + 10],
        )
    b.app("FieldBridge (demo)", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, installs, service)
    store.seed_name = "large"


def apply_seed(store: Store, name: str) -> None:
    """Replace the store's contents with the named seed."""
    fresh = Store(store.persist_path)
    if name == "demo":
        seed_demo(fresh)
    elif name == "large":
        seed_large(fresh)
    else:
        fresh.seed_name = "empty"
    store.restore(fresh.snapshot())
    store.clock_offset = 0.0
