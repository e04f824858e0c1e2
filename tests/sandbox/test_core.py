"""Me, companies, projects: Procore-Company-Id, permissions, pagination and filters."""

from __future__ import annotations

from typing import Any

import httpx

from fieldbridge_sandbox.state import SandboxState

from .conftest import BASE, Demo, user_headers


async def test_me_and_companies(client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]) -> None:
    me = (await client.get("/rest/v1.0/me", headers=headers)).json()
    assert set(me) == {"id", "login", "name"}
    assert me["id"] > 2**32
    companies = (await client.get("/rest/v1.0/companies", headers=headers)).json()
    assert companies[0]["id"] == demo.company_id
    assert set(companies[0]) == {
        "id",
        "name",
        "is_active",
        "logo_url",
        "pcn_business_experience",
        "my_company",
    }


async def test_company_header_required_for_service_account_even_on_me(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    no_company = {"Authorization": headers["Authorization"]}
    r = await client.get("/rest/v1.0/me", headers=no_company)
    assert r.status_code == 400
    assert r.json()["message"] == "Missing Procore-Company-Id header!"


async def test_user_token_needs_no_header_on_me_but_does_on_projects(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    auth = {"Authorization": (await user_headers(client, demo, "alex"))["Authorization"]}
    assert (await client.get("/rest/v1.0/me", headers=auth)).status_code == 200
    r = await client.get("/rest/v1.0/projects", params={"company_id": demo.company_id}, headers=auth)
    assert r.status_code == 400


async def test_missing_or_bad_token_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/rest/v1.0/me")).status_code == 401
    r = await client.get("/rest/v1.0/me", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.json()["message"] == "The access token is invalid"


async def test_projects_active_by_default_and_by_status(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]
) -> None:
    params = {"company_id": demo.company_id}
    active = (await client.get("/rest/v1.0/projects", params=params, headers=headers)).json()
    assert all(p["active"] for p in active)
    assert demo.blocked_project_id not in {p["id"] for p in active}  # app not permitted
    everything = (
        await client.get(
            "/rest/v1.0/projects", headers=headers, params={**params, "filters[by_status]": "All"}
        )
    ).json()
    assert demo.inactive_project_id in {p["id"] for p in everything}
    inactive = (
        await client.get(
            "/rest/v1.0/projects", headers=headers, params={**params, "filters[by_status]": "Inactive"}
        )
    ).json()
    assert {p["active"] for p in inactive} == {False}
    fields = set(active[0])
    for name in (
        "id",
        "name",
        "display_name",
        "project_number",
        "active",
        "origin_id",
        "time_zone",
        "stage",
        "project_stage",
        "company",
        "updated_at",
    ):
        assert name in fields
    assert "status" not in fields
    assert "archived" not in fields


def _rels(response: httpx.Response) -> dict[str, str]:
    return {link["rel"]: link["url"] for link in response.links.values()}


async def test_pagination_headers(client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]) -> None:
    """Procore's pagination guide: page 1 has next+last, page 2 first+next+last, page 3 adds
    prev, the last page has no next; Link URLs are absolute."""
    params: dict[str, Any] = {"company_id": demo.company_id, "filters[by_status]": "All", "per_page": 3}
    pages = [
        await client.get("/rest/v1.0/projects", params={**params, "page": n}, headers=headers)
        for n in (1, 2, 3, 4)
    ]
    assert pages[0].headers["total"] == "11"
    assert pages[0].headers["per-page"] == "3"
    assert [sorted(_rels(p)) for p in pages] == [
        ["last", "next"],
        ["first", "last", "next"],
        ["first", "last", "next", "prev"],
        ["first", "last", "prev"],
    ]
    links = _rels(pages[2])
    assert links["next"].startswith(f"{BASE}/rest/v1.0/projects?")
    assert "page=4&per_page=3" in links["next"]
    assert f"company_id={demo.company_id}" in links["next"]
    assert [
        links[r].rsplit("?", 1)[1].count(f"page={n}&") for r, n in (("first", 1), ("prev", 2), ("last", 4))
    ] == [1, 1, 1]
    assert len(pages[3].json()) == 2
    ids = [p["id"] for page in pages for p in page.json()]
    assert len(set(ids)) == 11
    one_page = await client.get("/rest/v1.0/projects", params={**params, "per_page": 100}, headers=headers)
    assert sorted(_rels(one_page)) == ["last"]


async def test_v11_projects_per_page_is_capped_at_300(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]
) -> None:
    r = await client.get(
        "/rest/v1.1/projects", headers=headers, params={"company_id": demo.company_id, "per_page": 1000}
    )
    assert r.headers["per-page"] == "300"
    ids = await client.get(
        "/rest/v1.1/projects", headers=headers, params={"company_id": demo.company_id, "view": "ids"}
    )
    assert all(isinstance(i, int) for i in ids.json())


async def test_updated_at_range_filter(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    await client.post(f"/_sandbox/projects/{demo.project_id}", json={"name": "Renamed"})
    today = state.store.today()
    params: dict[str, Any] = {"company_id": demo.company_id, "filters[updated_at]": f"{today}...{today}"}
    rows = (await client.get("/rest/v1.0/projects", params=params, headers=headers)).json()
    assert [p["name"] for p in rows] == ["Renamed"]
    bad = await client.get(
        "/rest/v1.0/projects", headers=headers, params={**params, "filters[updated_at]": "yesterday...today"}
    )
    assert bad.status_code == 400


async def test_show_project_permissions(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]
) -> None:
    q = {"company_id": demo.company_id}
    ok = await client.get(f"/rest/v1.0/projects/{demo.project_id}", params=q, headers=headers)
    assert ok.status_code == 200
    assert "tz_name" in ok.json()
    blocked = await client.get(f"/rest/v1.0/projects/{demo.blocked_project_id}", params=q, headers=headers)
    assert blocked.status_code == 403
    assert blocked.json()["message"] == "Resource outside access scope"
    missing = await client.get("/rest/v1.0/projects/5999999999", params=q, headers=headers)
    assert missing.status_code == 404
    no_company = await client.get(f"/rest/v1.0/projects/{demo.project_id}", headers=headers)
    assert no_company.status_code == 400  # company_id is a required query parameter
    shown = ok.json()
    for name in ("project_stage_id", "from_project_template_id", "photo_url", "inbound_email_address"):
        assert name in shown


async def test_user_not_on_project_gets_404(
    client: httpx.AsyncClient, demo: Demo, state: SandboxState
) -> None:
    priya = await user_headers(client, demo, "priya")  # on the first four active projects
    not_mine = [
        p["id"]
        for p in state.store["projects"].by(demo.company_id)
        if p["id"] not in demo.users["priya"]["_project_ids"]
    ]
    r = await client.get(
        f"/rest/v1.0/projects/{not_mine[0]}", params={"company_id": demo.company_id}, headers=priya
    )
    assert r.status_code == 404
    listed = (
        await client.get("/rest/v1.0/projects", params={"company_id": demo.company_id}, headers=priya)
    ).json()
    assert {p["id"] for p in listed} <= set(demo.users["priya"]["_project_ids"])


async def test_project_users_and_people(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]
) -> None:
    people = (await client.get(f"/rest/v1.0/companies/{demo.company_id}/people", headers=headers)).json()
    assert len(people) == 46
    assert any(p["user_id"] is None for p in people)  # reference workers
    assert any(p["employee_id"] for p in people)
    workers = (
        await client.get(
            f"/rest/v1.0/projects/{demo.project_id}/people",
            params={"filters[reference_users_only]": "true"},
            headers=headers,
        )
    ).json()
    assert workers
    assert all(p["user_id"] is None for p in workers)
    users = (await client.get(f"/rest/v1.0/projects/{demo.project_id}/users", headers=headers)).json()
    assert all("email_address" in u for u in users)
