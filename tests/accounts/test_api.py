import httpx
import pytest

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import PASSWORD, bearer, create_tenant, sign_in_browser


async def test_worker_crud_and_pin_sign_in(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    created = await client.post(
        "/api/v1/workers",
        json={
            "name": "Rosa Diaz",
            "trade": "Drywall",
            "employee_id": "R1",
            "pin": "4321",
            "email": "rosa@x.com",
        },
        headers=auth,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["has_pin"] is True
    assert "pin" not in body
    assert "pin_digest" not in body

    listed = await client.get("/api/v1/workers", params={"q": "rosa"}, headers=auth)
    assert [w["name"] for w in listed.json()["items"]] == ["Rosa Diaz"]

    patched = await client.patch(f"/api/v1/workers/{body['id']}", json={"title": "Lead"}, headers=auth)
    assert patched.json()["title"] == "Lead"

    signed = await client.post(
        "/api/v1/auth/worker-sign-in", json={"company_code": tenant.company.code.lower(), "pin": "4321"}
    )
    assert signed.status_code == 200, signed.text
    device = signed.json()["token"]
    me = await client.get("/api/v1/me", headers=bearer(device))
    assert me.json()["kind"] == "worker"
    assert me.json()["name"] == "Rosa Diaz"
    # A worker's phone cannot manage workers.
    denied = await client.post("/api/v1/workers", json={"name": "X"}, headers=bearer(device))
    assert denied.status_code == 403
    assert "workers:write" in denied.json()["error"]["message"]


async def test_duplicate_pin_and_employee_id_are_conflicts(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    first = await client.post(
        "/api/v1/workers", json={"name": "A", "employee_id": "Z1", "pin": "5555"}, headers=auth
    )
    assert first.status_code == 201
    same_pin = await client.post("/api/v1/workers", json={"name": "B", "pin": "5555"}, headers=auth)
    assert same_pin.status_code == 409
    assert same_pin.json()["error"]["code"] == "pin_taken"
    same_emp = await client.post("/api/v1/workers", json={"name": "C", "employee_id": "Z1"}, headers=auth)
    assert same_emp.status_code == 409
    assert "Z1" in same_emp.json()["error"]["message"]


async def test_csv_import_creates_updates_and_reports_bad_rows(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    csv_text = (
        "name,title,trade,employee_id,email,pin,is_foreman\n"
        "Ann One,Foreman,Concrete,C1,ann@x.com,7001,yes\n"
        "Bob Two,,Concrete,C2,not-an-email,,\n"
        "Cy Three,,,C3,,70x,\n"
    )
    result = await client.post(
        "/api/v1/workers/import",
        content=csv_text,
        headers={**bearer(tenant.api_key), "content-type": "text/csv"},
    )
    assert result.status_code == 200, result.text
    data = result.json()
    assert data["created"] == 1
    assert len(data["errors"]) == 2
    assert data["errors"][0].startswith("line 3: email")
    again = await client.post(
        "/api/v1/workers/import",
        content="name,employee_id,trade\nAnn Renamed,C1,Masonry\n",
        headers={**bearer(tenant.api_key), "content-type": "text/csv"},
    )
    assert again.json() == {"created": 0, "updated": 1, "errors": []}


async def test_api_keys_are_shown_once_scoped_and_revocable(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    made = await client.post(
        "/api/v1/api-keys",
        json={"name": "reader", "scopes": ["workers:read"]},
        headers=bearer(tenant.api_key),
    )
    assert made.status_code == 201
    key = made.json()["key"]
    assert key.startswith("fbk_")
    listed = await client.get("/api/v1/api-keys", headers=bearer(tenant.api_key))
    assert all("key" not in k for k in listed.json())
    assert (await client.get("/api/v1/workers", headers=bearer(key))).status_code == 200
    assert (await client.post("/api/v1/workers", json={"name": "x"}, headers=bearer(key))).status_code == 403
    listed = await client.get("/api/v1/api-keys", headers=bearer(tenant.api_key))
    assert any(k["last_used_at"] for k in listed.json() if k["name"] == "reader")
    revoked = await client.post(
        f"/api/v1/api-keys/{made.json()['id']}/revoke", headers=bearer(tenant.api_key)
    )
    assert revoked.json()["revoked_at"] is not None
    after = await client.get("/api/v1/workers", headers=bearer(key))
    assert after.status_code == 401
    unknown = await client.post(
        "/api/v1/api-keys", json={"name": "bad", "scopes": ["root"]}, headers=bearer(tenant.api_key)
    )
    assert unknown.status_code == 422
    assert "Known scopes" in unknown.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        (
            "post",
            "/api/v1/workers",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
        ),
        ("post", "/api/v1/workers", {"json": {"name": 5, "pin": "12"}}, 422),
        ("post", "/api/v1/workers", {"json": []}, 422),
        ("get", "/api/v1/workers?page=0", {}, 422),
        ("get", "/api/v1/workers/not-a-number", {}, 422),
        ("get", "/api/v1/no-such-route", {}, 404),
        ("get", "/api/v1/workers/99999999999999999999", {}, 422),
        ("delete", "/api/v1/workers", {}, 405),
        (
            "post",
            "/api/v1/workers",
            {"content": b"x" * 2_000_000, "headers": {"content-type": "application/json"}},
            413,
        ),
    ],
)
async def test_bad_input_gets_a_clear_4xx(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    method: str,
    path: str,
    kwargs: dict,
    status: int,
) -> None:
    tenant = await create_tenant(db, settings)
    headers = {**bearer(tenant.api_key), **kwargs.pop("headers", {})}
    response = await client.request(method.upper(), path, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"]
    assert len(error["message"]) > 10


async def test_sign_in_is_throttled(client: httpx.AsyncClient, db: Database, settings: Settings) -> None:
    tenant = await create_tenant(db, settings)
    for _ in range(settings.signin_free_failures):
        bad = await client.post(
            "/api/v1/auth/worker-sign-in", json={"company_code": tenant.company.code, "pin": "0000"}
        )
        assert bad.status_code == 401
    locked = await client.post(
        "/api/v1/auth/worker-sign-in", json={"company_code": tenant.company.code, "pin": "0000"}
    )
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0


async def test_browser_session_needs_csrf_for_api_writes(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    csrf = await sign_in_browser(client, tenant.admin.email, PASSWORD)
    without = await client.post("/api/v1/workers", json={"name": "No Csrf"})
    assert without.status_code == 403
    with_token = await client.post(
        "/api/v1/workers", json={"name": "With Csrf"}, headers={"X-CSRF-Token": csrf}
    )
    assert with_token.status_code == 201


async def test_support_user_reads_but_cannot_manage(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    csrf = await sign_in_browser(client, tenant.support.email, PASSWORD)
    assert (await client.get("/api/v1/workers")).status_code == 200
    denied = await client.post("/api/v1/workers", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert denied.status_code == 403
    page = await client.get("/settings/users", headers={"accept": "text/html"})
    assert page.status_code == 403
