"""Issues API over HTTP: types and subtypes, custom attributes, issue CRUD with the spec's
validation, permitted attributes, comments, regions and the `b.` prefix."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox_acc.conftest import ISSUES, Seed, token_pair

RIVERSIDE = "Riverside Medical Office"


async def _safety(acc: httpx.AsyncClient, admin: dict[str, str], pid: str) -> str | None:
    r = await acc.get(f"{ISSUES}/{pid}/issue-types", params={"include": "subtypes"}, headers=admin)
    assert r.status_code == 200
    for t in r.json()["results"]:
        for s in t.get("subtypes", []):
            if s["title"] == "Safety":
                return str(s["id"])
    return None


async def _definitions(acc: httpx.AsyncClient, admin: dict[str, str], pid: str) -> dict[str, Any]:
    r = await acc.get(f"{ISSUES}/{pid}/issue-attribute-definitions", headers=admin)
    return {d["title"]: d for d in r.json()["results"]}


async def _create(acc: httpx.AsyncClient, admin: dict[str, str], pid: str, **extra: Any) -> dict[str, Any]:
    sub = await _safety(acc, admin, pid)
    body = {"title": "Missing hard hat", "issueSubtypeId": sub, "status": "open", **extra}
    r = await acc.post(f"{ISSUES}/{pid}/issues", json=body, headers=admin)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_issue_types_with_and_without_subtypes(
    acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed
) -> None:
    pid = seed.project(RIVERSIDE)["acc_project_id"]
    plain = (await acc.get(f"{ISSUES}/{pid}/issue-types", headers=admin)).json()
    assert plain["pagination"]["totalResults"] == 3
    assert all("subtypes" not in t for t in plain["results"])
    assert await _safety(acc, admin, pid) == seed.project(RIVERSIDE)["safety_subtype_id"]
    assert await _safety(acc, admin, seed.project("Old Mill Lofts")["acc_project_id"]) is None


async def test_create_get_list_and_custom_attributes(
    acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed
) -> None:
    pid = seed.project(RIVERSIDE)["acc_project_id"]
    defs = await _definitions(acc, admin, pid)
    high = next(o["id"] for o in defs["Severity"]["metadata"]["list"]["options"] if o["value"] == "High")
    issue = await _create(
        acc,
        admin,
        pid,
        description="PPE violation at gate 2 [fieldbridge:det-1]",
        dueDate="2026-12-05",
        locationDetails="Gate 2",
        customAttributes=[
            {"attributeDefinitionId": defs["Severity"]["id"], "value": high},
            {"attributeDefinitionId": defs["Detection ID"]["id"], "value": "det-1"},
            {"attributeDefinitionId": defs["Confidence"]["id"], "value": 0.93},
        ],
    )
    assert issue["displayId"] == 1
    assert issue["status"] == "open"
    assert "status" in issue["permittedAttributes"]
    assert issue["permittedStatuses"] == ["open", "in_progress", "completed", "closed"]
    got = (await acc.get(f"{ISSUES}/{pid}/issues/{issue['id']}", headers=admin)).json()
    assert {c["title"]: c["value"] for c in got["customAttributes"]} == {
        "Severity": high,
        "Detection ID": "det-1",
        "Confidence": 0.93,
    }
    listing = (await acc.get(f"{ISSUES}/{pid}/issues", headers=admin)).json()
    assert [i["id"] for i in listing["results"]] == [issue["id"]]
    marks = (await acc.get("/_sandbox/markers", params={"expected": "det-1,det-2"})).json()
    assert marks == {"markers": {"det-1": 1}, "issues": 1, "duplicates": 0, "lost": 1}
    assert (await acc.get("/_sandbox/spec_violations")).json() == []


async def test_bad_bodies_get_400_naming_the_field(
    acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed
) -> None:
    pid = seed.project(RIVERSIDE)["acc_project_id"]
    sub = await _safety(acc, admin, pid)
    r = await acc.post(f"{ISSUES}/{pid}/issues", json={"title": "x", "status": "open"}, headers=admin)
    assert r.status_code == 400
    assert any("issueSubtypeId" in e["message"] for e in r.json()["errors"])
    r = await acc.post(
        f"{ISSUES}/{pid}/issues", json={"title": "x", "issueSubtypeId": sub, "status": "bogus"}, headers=admin
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "status"
    # in the spec's enum, but not in the Safety status set
    r = await acc.post(
        f"{ISSUES}/{pid}/issues", json={"title": "x", "issueSubtypeId": sub, "status": "draft"}, headers=admin
    )
    assert r.status_code == 400
    assert "in_progress" in r.json()["errors"][0]["message"]
    defs = await _definitions(acc, admin, pid)
    r = await acc.post(
        f"{ISSUES}/{pid}/issues",
        json={
            "title": "x",
            "issueSubtypeId": sub,
            "status": "open",
            "customAttributes": [{"attributeDefinitionId": defs["Severity"]["id"], "value": "High"}],
        },
        headers=admin,
    )
    assert r.status_code == 400
    assert "option" in r.json()["errors"][0]["message"]
    r = await acc.get(f"{ISSUES}/{pid}/issues", params={"limit": "many"}, headers=admin)
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "limit"


async def test_patch_only_permitted_attributes(
    acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed
) -> None:
    pid = seed.project(RIVERSIDE)["acc_project_id"]
    issue = await _create(acc, admin, pid)
    base = {"title": issue["title"], "issueSubtypeId": issue["issueSubtypeId"]}
    r = await acc.patch(
        f"{ISSUES}/{pid}/issues/{issue['id']}", json=base | {"status": "closed"}, headers=admin
    )
    assert r.status_code == 200
    closed = r.json()
    assert closed["status"] == "closed"
    assert closed["closedBy"]
    assert closed["permittedAttributes"] == ["status"]
    # a closed issue permits only its status; resending the current title is fine
    r = await acc.patch(
        f"{ISSUES}/{pid}/issues/{issue['id']}",
        json=base | {"status": "closed", "title": "renamed"},
        headers=admin,
    )
    assert r.status_code == 403
    assert "title" in r.json()["detail"]
    # the spec requires title, issueSubtypeId and status in every PATCH body
    r = await acc.patch(f"{ISSUES}/{pid}/issues/{issue['id']}", json={"status": "open"}, headers=admin)
    assert r.status_code == 400
    reopened = await acc.patch(
        f"{ISSUES}/{pid}/issues/{issue['id']}", json=base | {"status": "open"}, headers=admin
    )
    assert reopened.status_code == 200
    assert "closedBy" not in reopened.json()


async def test_someone_else_cannot_change_an_issue(
    acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed
) -> None:
    pid = seed.project(RIVERSIDE)["acc_project_id"]
    issue = await _create(acc, admin, pid)
    sam = await token_pair(acc, "sam@northwind.example")
    headers = {"Authorization": f"Bearer {sam['access_token']}"}
    seen = (await acc.get(f"{ISSUES}/{pid}/issues/{issue['id']}", headers=headers)).json()
    assert seen["permittedAttributes"] == []
    body = {"title": "x", "issueSubtypeId": issue["issueSubtypeId"], "status": "open"}
    r = await acc.patch(f"{ISSUES}/{pid}/issues/{issue['id']}", json=body, headers=headers)
    assert r.status_code == 403


async def test_filters_and_pagination(acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed) -> None:
    pid = seed.project(RIVERSIDE)["acc_project_id"]
    made = [await _create(acc, admin, pid, title=f"finding {n}") for n in range(5)]
    page = (await acc.get(f"{ISSUES}/{pid}/issues", params={"limit": 2, "offset": 2}, headers=admin)).json()
    assert page["pagination"] == {"limit": 2, "offset": 2, "totalResults": 5}
    assert [i["id"] for i in page["results"]] == [made[2]["id"], made[3]["id"]]
    stamp = made[0]["updatedAt"]
    since = (
        await acc.get(f"{ISSUES}/{pid}/issues", params={"filter[updatedAt]": f"{stamp}.."}, headers=admin)
    ).json()
    assert since["pagination"]["totalResults"] == 5
    await acc.post("/_sandbox/clock", json={"advance_seconds": 120})
    try:
        later = (await acc.get("/_sandbox/ids")).json()  # any call; the clock moved
        assert later
        await acc.post(f"/_sandbox/issues/{made[4]['id']}", json={"status": "closed"})
        r = await acc.get(
            f"{ISSUES}/{pid}/issues",
            params={"filter[updatedAt]": f"{made[4]['updatedAt'][:19]}.1Z..", "filter[status]": "closed"},
            headers=admin,
        )
        assert [i["id"] for i in r.json()["results"]] == [made[4]["id"]]
    finally:
        await acc.post("/_sandbox/clock", json={"advance_seconds": -120})
    by_day = await acc.get(
        f"{ISSUES}/{pid}/issues", params={"filter[createdAt]": made[0]["createdAt"][:10]}, headers=admin
    )
    assert by_day.json()["pagination"]["totalResults"] == 5


async def test_comments(acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed) -> None:
    pid = seed.project(RIVERSIDE)["acc_project_id"]
    issue = await _create(acc, admin, pid)
    r = await acc.post(
        f"{ISSUES}/{pid}/issues/{issue['id']}/comments", json={"body": "Seen at 10:02"}, headers=admin
    )
    assert r.status_code == 201
    assert r.json()["body"] == "Seen at 10:02"
    listing = (await acc.get(f"{ISSUES}/{pid}/issues/{issue['id']}/comments", headers=admin)).json()
    assert [c["body"] for c in listing["results"]] == ["Seen at 10:02"]
    assert (await acc.get(f"{ISSUES}/{pid}/issues/{issue['id']}", headers=admin)).json()["commentCount"] == 1
    r = await acc.post(f"{ISSUES}/{pid}/issues/{issue['id']}/comments", json={}, headers=admin)
    assert r.status_code == 400


async def test_users_me_and_mappings(acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed) -> None:
    pid = seed.project(RIVERSIDE)["acc_project_id"]
    me = (await acc.get(f"{ISSUES}/{pid}/users/me", headers=admin)).json()
    assert me["isProjectAdmin"] is True
    assert "closed" in me["issues"]["new"]["permittedStatuses"]
    sub = await _safety(acc, admin, pid)
    maps = (
        await acc.get(
            f"{ISSUES}/{pid}/issue-attribute-mappings", params={"filter[mappedItemId]": sub}, headers=admin
        )
    ).json()
    assert {m["title"] for m in maps["results"]} == {"Severity", "Detection ID"}


async def test_region_header_and_b_prefix(acc: httpx.AsyncClient, seed: Seed) -> None:
    ingrid = await token_pair(acc, "ingrid@fjord.example")
    headers = {"Authorization": f"Bearer {ingrid['access_token']}"}
    bergen = seed.project("Bergen Tower")
    assert bergen["region"] == "EMEA"
    pid = bergen["acc_project_id"]
    assert (await acc.get(f"{ISSUES}/{pid}/issue-types", headers=headers)).status_code == 404
    emea = headers | {"x-ads-region": "EMEA"}
    assert (await acc.get(f"{ISSUES}/{pid}/issue-types", headers=emea)).status_code == 200
    r = await acc.get(f"{ISSUES}/b.{pid}/issue-types", headers=emea)
    assert r.status_code == 404
    assert "prefix" in r.json()["detail"]
    bad = await acc.get(f"{ISSUES}/{pid}/issue-types", headers=headers | {"x-ads-region": "MARS"})
    assert bad.status_code == 400
    hubs = (await acc.get("/project/v1/hubs", headers=emea)).json()["data"]
    assert [h["attributes"]["name"] for h in hubs] == ["Fjord Bygg AS"]
    projects = (await acc.get(f"/project/v1/hubs/{hubs[0]['id']}/projects", headers=headers)).json()["data"]
    assert [p["id"] for p in projects] == [bergen["dm_project_id"]]


async def test_root_cause_categories(acc: httpx.AsyncClient, admin: dict[str, str], seed: Seed) -> None:
    pid = seed.project(RIVERSIDE)["acc_project_id"]
    url = f"{ISSUES}/{pid}/issue-root-cause-categories"
    plain = (await acc.get(url, headers=admin)).json()["results"]
    assert {c["title"] for c in plain} == {"Behavior", "Conditions"}
    assert all("rootCauses" not in c for c in plain)
    full = (await acc.get(url, params={"include": "rootcauses"}, headers=admin)).json()["results"]
    assert {r["title"] for c in full for r in c["rootCauses"]} == {
        "PPE not worn",
        "Shortcut taken",
        "Housekeeping",
    }
