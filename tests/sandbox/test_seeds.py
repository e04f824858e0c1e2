"""Seeds: deterministic, ids above 32 bits, the demo's required contents, a large seed."""

from __future__ import annotations

from fieldbridge_sandbox.seeds import apply_seed
from fieldbridge_sandbox.store import Store


def _seeded(name: str) -> Store:
    store = Store()
    apply_seed(store, name)
    return store


def test_demo_is_deterministic() -> None:
    assert _seeded("demo").snapshot() == _seeded("demo").snapshot()


def test_demo_contents() -> None:
    store = _seeded("demo")
    assert len(store["companies"]) == 1
    projects = list(store["projects"])
    assert len(projects) == 12
    assert sum(not p["active"] for p in projects) == 2
    assert all(row["id"] > 2**32 for table in store.tables.values() for row in table)
    assert len(store["people"]) == 46
    assert any(p["employee_id"] for p in store["people"])
    assert any(p["contact"]["email"] for p in store["people"] if p["user_id"] is None)
    assert [u["name"] for u in store["users"] if u["_timecards"] == "none"] == ["Nora Novak"]
    lits = {t["code"]: t["base_type"] for t in store["line_item_types"]}
    assert lits == {"L": "labor", "M": "materials", "E": "equipment", "S": "commitment", "O": "other"}
    assert {c["full_code"][:2] for c in store["cost_codes"]} >= {"01", "03", "26"}
    assert len(store["sub_jobs"]) == 2
    assert len(store["budget_views"]) == 12
    labor = next(t["id"] for t in store["line_item_types"] if t["code"] == "L")
    assert any(
        b["line_item_type_id"] == labor and b["uom"] == "HR" and b["quantity"] > 0
        for b in store["budget_line_items"]
    )
    assert {t["category"] for t in store["observation_types"]} == {"Safety", "Quality"}
    app = next(a for a in store["apps"] if a["service_user_id"])
    (permitted,) = app["installs"].values()
    assert len(permitted) == 11


def test_large_is_big() -> None:
    store = _seeded("large")
    assert len(store["companies"]) == 4
    assert len(store["projects"]) == 1000
    gc = next(c for c in store["companies"] if c["name"] == "Large GC")
    assert sum(1 for p in store["projects"].by(gc["id"]) if p["active"]) == 500
    assert len(store["people"]) >= 5000
    assert max(len(ids) for ids in store["cost_codes"].index.values()) == 2000


def test_empty() -> None:
    store = _seeded("empty")
    assert all(len(t) == 0 for t in store.tables.values())
