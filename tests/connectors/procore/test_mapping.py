"""Pure mapping: milestone keys and specs, budget hours, exclusion reasons, worker matching."""

from fieldbridge.connectors.procore import mapping
from fieldbridge.connectors.procore.mapping import WorkerKeys

LABOR, MATERIALS = 11, 12
# FieldBridge keeps Procore's ids as strings; Procore's JSON has numbers.
CATEGORIES = {str(LABOR): ("Labor", True), str(MATERIALS): ("Materials", False)}


def code(code_id: int, sub_job: int | None = None) -> dict[str, object]:
    return {
        "id": code_id,
        "name": "Concrete Forming",
        "full_code": "03-100",
        "biller_type": "SubJob" if sub_job else "Project",
        "biller_id": sub_job or 1,
        "line_item_types": [{"id": LABOR}, {"id": MATERIALS}],
    }


def test_budget_lines_become_milestones_keyed_by_cost_code_and_category() -> None:
    rows = [
        {"id": 900, "cost_code_id": 5, "category_id": MATERIALS, "original_budget_amount": "5000.0"},
        {
            "id": 901,
            "cost_code_id": 5,
            "category_id": LABOR,
            "budgeted_hours": "120.0",
            "original_budget_amount": "8160",
        },
    ]
    specs = {s.key: s for s in mapping.milestone_specs([code(5, sub_job=77)], rows, CATEGORIES)}
    labor = specs["procore:budget_line:cc:5:cat:11"]
    assert labor.hours == 120.0
    assert labor.amount == 8160.0
    assert (labor.cost_code_id, labor.line_item_type_id) == ("5", "11")
    assert labor.budget_line_item_id == "901"
    assert labor.sub_job_external_id == "77"
    assert labor.name == "03-100 Concrete Forming · Labor"
    assert specs["procore:budget_line:cc:5:cat:12"].hours is None


def test_a_labor_category_without_a_budget_line_is_still_a_milestone() -> None:
    specs = mapping.milestone_specs([code(6)], [], CATEGORIES)
    assert [(s.key, s.budgeted) for s in specs] == [("procore:budget_line:cc:6:cat:11", False)]


def test_budget_rows_for_unknown_cost_codes_are_skipped() -> None:
    assert mapping.milestone_specs([], [{"id": 1, "cost_code_id": 9, "category_id": LABOR}], CATEGORIES) == []


def test_budget_hours_finds_the_views_hours_column() -> None:
    assert mapping.budget_hours({"Budget Hours": "12"}) is None  # not a snake_case column
    assert mapping.budget_hours({"budget_labor_hours": "12.5"}) == 12.5
    assert mapping.budget_hours({"budgeted_hours": ""}) is None


def test_exclusion_reasons_in_priority_order() -> None:
    assert mapping.exclusion_reason(active=True, permitted=True, removed=False) is None
    assert mapping.exclusion_reason(active=False, permitted=True, removed=False) == "inactive in Procore"
    assert "App Management" in (mapping.exclusion_reason(active=False, permitted=False, removed=False) or "")
    assert "no longer in Procore" in (
        mapping.exclusion_reason(active=True, permitted=True, removed=True) or ""
    )


def test_people_match_by_email_then_employee_id_then_unique_name() -> None:
    workers = [
        WorkerKeys(1, "ana@x.com", None, "Ana Diaz"),
        WorkerKeys(2, None, "E7", "Bo Li"),
        WorkerKeys(3, None, None, "Cy Young"),
        WorkerKeys(4, None, None, "Cy Young"),
    ]
    assert mapping.match_worker({"email": "ANA@x.com", "name": "Someone"}, workers, set()) == (1, "email")
    assert mapping.match_worker({"employee_id": "E7", "name": "Bo Li"}, workers, set()) == (2, "employee_id")
    assert mapping.match_worker({"name": "bo  li"}, workers, set()) == (2, "name")
    assert mapping.match_worker({"name": "Cy Young"}, workers, set()) is None  # ambiguous
    assert mapping.match_worker({"email": "ana@x.com"}, workers, {1}) is None  # already taken


def test_procore_ids_become_canonical_strings() -> None:
    assert mapping.pid(562949953421312) == "562949953421312"
    assert mapping.pid("0042") == mapping.pid(42) == "42"
    assert mapping.opt_pid(None) is None
    assert mapping.opt_pid(0) is None
    assert mapping.number("562949953421312") == 562949953421312
    codes = mapping.cost_code_fields({"id": 5, "line_item_types": [{"id": 10}, {"id": 9}, {"id": 100}]})
    assert codes["line_item_type_ids"] == ["9", "10", "100"]  # numeric order, not "10" < "100" < "9"
    assert mapping.person_fields({"id": 1, "user_id": 2**40})["procore_user_id"] == str(2**40)
