"""Device tokens: a sliding lifetime, revoked by a new PIN or a deactivation, and a phone sees
only what a phone needs."""

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from fieldbridge.accounts.models import DeviceToken
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import Tenant, bearer, create_tenant

SIGN_IN = "/api/v1/auth/worker-sign-in"


async def _phone(client: httpx.AsyncClient, tenant: Tenant, pin: str | None = None) -> str:
    body = {"company_code": tenant.company.code, "pin": pin or f"{1000 + _n(tenant)}"}
    signed = await client.post(SIGN_IN, json=body)
    assert signed.status_code == 200, signed.text
    token: str = signed.json()["token"]
    return token


def _n(tenant: Tenant) -> int:
    return int("".join(c for c in tenant.company.code if c.isdigit()))


async def _devices(db: Database) -> list[DeviceToken]:
    async with db.transaction() as session:
        return list((await session.scalars(select(DeviceToken).order_by(DeviceToken.id))).all())


async def test_token_expires_unless_used_and_use_slides_it(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    token = await _phone(client, tenant)
    [device] = await _devices(db)
    assert device.expires_at - device.created_at == timedelta(days=settings.device_token_days)

    # Used a while ago, close to its end: the next use moves the end a full lifetime on.
    near = utcnow() + timedelta(hours=1)
    async with db.transaction() as session:
        await session.execute(
            update(DeviceToken).values(expires_at=near, last_used_at=utcnow() - timedelta(days=3))
        )
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200
    [device] = await _devices(db)
    assert device.expires_at > utcnow() + timedelta(days=settings.device_token_days - 1)

    # Not used for its whole lifetime: it is over.
    async with db.transaction() as session:
        await session.execute(update(DeviceToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = await client.get("/api/v1/me", headers=bearer(token))
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "bad_token"
    assert "Sign in again with the company code and PIN" in expired.json()["error"]["message"]


async def test_new_pin_signs_the_phones_out(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    token = await _phone(client, tenant)
    auth = bearer(tenant.api_key)
    same = await client.patch(f"/api/v1/workers/{tenant.worker.id}", json={"title": "Lead"}, headers=auth)
    assert same.status_code == 200
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200  # no PIN change
    changed = await client.patch(f"/api/v1/workers/{tenant.worker.id}", json={"pin": "987654"}, headers=auth)
    assert changed.status_code == 200
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(await _phone(client, tenant, "987654")))).is_success


async def test_deactivation_revokes_for_good(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    token = await _phone(client, tenant)
    auth = bearer(tenant.api_key)
    url = f"/api/v1/workers/{tenant.worker.id}"
    assert (await client.patch(url, json={"active": False}, headers=auth)).status_code == 200
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401
    assert (await client.patch(url, json={"active": True}, headers=auth)).status_code == 200
    # Reactivated: the old phone stays signed out; a fresh sign-in works.
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(await _phone(client, tenant)))).is_success
    assert all(d.revoked_at is not None for d in (await _devices(db))[:1])


async def test_a_phone_reads_only_what_a_phone_needs(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    crew = await client.post(
        "/api/v1/workers",
        json={"name": "Crew Mate", "email": "mate@x.com", "phone": "555-0100", "employee_id": "CM1"},
        headers=auth,
    )
    assert crew.status_code == 201
    phone = bearer(await _phone(client, tenant))
    for path in ("/api/v1/workers", f"/api/v1/workers/{crew.json()['id']}", "/api/v1/procore-people"):
        denied = await client.get(path, headers=phone)
        assert denied.status_code == 403, path
        assert denied.json()["error"]["code"] == "missing_scope"
    picker = await client.get("/api/v1/time/picker", headers=phone)
    assert picker.status_code == 200
    for private in ("mate@x.com", "555-0100", "CM1"):
        assert private not in picker.text
    assert (await client.get("/api/v1/time/my-shifts", headers=phone)).status_code == 200


async def test_a_pin_changed_by_csv_import_signs_the_phones_out(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    token = await _phone(client, tenant)
    auth = {**bearer(tenant.api_key), "Content-Type": "text/csv"}
    employee = await client.patch(
        f"/api/v1/workers/{tenant.worker.id}", json={"employee_id": "E-77"}, headers=bearer(tenant.api_key)
    )
    assert employee.status_code == 200, employee.text
    same = await client.post("/api/v1/workers/import", content=b"name,employee_id\nKim,E-77\n", headers=auth)
    assert same.json()["updated"] == 1
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200  # no PIN change
    new_pin = b"name,employee_id,pin\nKim,E-77,24680\n"
    assert (await client.post("/api/v1/workers/import", content=new_pin, headers=auth)).json()["updated"] == 1
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(await _phone(client, tenant, "24680")))).is_success
