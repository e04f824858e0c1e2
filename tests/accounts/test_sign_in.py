"""Sign-in throttling: per source with growing waits, a capped per-account wait, atomic counts,
one pooled connection per request, and the admin's reset."""

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from fieldbridge.accounts.models import SignInThrottle
from fieldbridge.app import create_app
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import PASSWORD, Tenant, bearer, create_tenant, sign_in_browser, submit_sign_in

SIGN_IN = "/api/v1/auth/worker-sign-in"


def _pin(tenant: Tenant, pin: str, device: str | None = None) -> dict[str, str]:
    body = {"company_code": tenant.company.code, "pin": pin}
    if device is not None:
        body["device_id"] = device
    return body


def _right_pin(tenant: Tenant) -> str:
    return str(1000 + int(re.sub(r"\D", "", tenant.company.code)))


async def test_ten_concurrent_wrong_pins_get_five_checks(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    answers = await asyncio.gather(
        *(client.post(SIGN_IN, json=_pin(tenant, "0000", "phone-one-1")) for _ in range(10))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [401] * settings.signin_free_failures + [429] * (10 - settings.signin_free_failures)
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "sign_in_throttled"
    assert "Settings → Users" in refused.json()["error"]["message"]


async def test_one_phones_typos_do_not_block_the_crew(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    for _ in range(settings.signin_free_failures):
        assert (await client.post(SIGN_IN, json=_pin(tenant, "0000", "phone-one-1"))).status_code == 401
    blocked = await client.post(SIGN_IN, json=_pin(tenant, _right_pin(tenant), "phone-one-1"))
    assert blocked.status_code == 429
    other = await client.post(SIGN_IN, json=_pin(tenant, _right_pin(tenant), "phone-two-2"))
    assert other.status_code == 200, other.text


async def _wait_of(db: Database, key: str) -> timedelta:
    """How long the last counted failure of `key` made it wait (as stored)."""
    async with db.transaction() as session:
        row = await session.scalar(select(SignInThrottle).where(SignInThrottle.key == key))
    assert row is not None
    assert row.blocked_until is not None
    return row.blocked_until - row.last_failed_at


async def test_waits_grow_after_each_failure_past_the_free_ones(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    settings.signin_delay_seconds = 1  # short first wait, so the test can outlast it
    tenant = await create_tenant(db, settings)
    key = f"pin:{tenant.company.code.upper()}:device:phone-one-1"
    for _ in range(settings.signin_free_failures):
        await client.post(SIGN_IN, json=_pin(tenant, "0000", "phone-one-1"))
    first = await _wait_of(db, key)
    assert first == timedelta(seconds=1)
    refused = await client.post(SIGN_IN, json=_pin(tenant, "0000", "phone-one-1"))
    assert refused.status_code == 429
    assert await _wait_of(db, key) == first  # a refused attempt is not counted
    await asyncio.sleep(first.total_seconds() + 0.2)
    again = await client.post(SIGN_IN, json=_pin(tenant, "0000", "phone-one-1"))
    assert again.status_code == 401  # checked once more after the wait...
    assert await _wait_of(db, key) == 2 * first  # ...and the next wait is twice as long


async def test_account_limit_slows_rotating_devices_without_locking_out(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    settings.signin_account_free_failures = 3
    tenant = await create_tenant(db, settings)
    for n in range(3):
        assert (await client.post(SIGN_IN, json=_pin(tenant, "0000", f"attacker-{n:04}"))).status_code == 401
    slowed = await client.post(SIGN_IN, json=_pin(tenant, _right_pin(tenant), "owner-phone"))
    assert slowed.status_code == 429
    assert 1 <= int(slowed.headers["retry-after"]) <= settings.signin_account_max_delay_seconds
    # The refused owner's phone was not counted against itself.
    blocks = await client.get("/api/v1/sign-in-blocks", headers=bearer(tenant.api_key))
    assert [(b["kind"], b["source"]) for b in blocks.json()] == [("phones", None)]


async def test_failed_sign_in_needs_no_second_connection(settings: Settings, db: Database) -> None:
    """The failure is counted in the request's own unit of work: a pool of one connection serves
    a wrong PIN with a 401 (it used to wait for a second connection and answer 500)."""
    tenant = await create_tenant(db, settings)
    one = Database(settings.database_url, pool_size=1, max_overflow=0, pool_timeout=5)
    app = create_app(settings)
    await app.state.db.dispose()
    app.state.db = one
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            bad = await http.post(SIGN_IN, json=_pin(tenant, "0000"))
            assert bad.status_code == 401, bad.text
            blocks = await http.get("/api/v1/sign-in-blocks", headers=bearer(tenant.api_key))
            assert blocks.status_code == 200
    finally:
        await one.dispose()


@pytest.fixture
async def other_address(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("10.0.0.2", 4000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_wrong_passwords_do_not_lock_the_admin_out(
    client: httpx.AsyncClient, other_address: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    for _ in range(settings.signin_free_failures):
        assert (await submit_sign_in(client, tenant.admin.email, "wrong-password!")).status_code == 401
    refused = await submit_sign_in(client, tenant.admin.email, PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    # The owner, from their own browser, still gets in with the right password.
    assert (await submit_sign_in(other_address, tenant.admin.email, PASSWORD)).status_code == 303


async def test_admin_sees_and_clears_sign_in_blocks(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    other = await create_tenant(db, settings, "Other")
    for t in (tenant, other):
        for _ in range(settings.signin_free_failures):
            await client.post(SIGN_IN, json=_pin(t, "0000", "phone-one-1"))
    auth = bearer(tenant.api_key)
    blocks = (await client.get("/api/v1/sign-in-blocks", headers=auth)).json()
    assert [(b["kind"], b["account"], b["source"]) for b in blocks] == [
        ("phones", tenant.company.code.upper(), "device:phone-one-1")
    ]
    reset = await client.post("/api/v1/sign-in-blocks/reset", headers=auth)
    assert reset.status_code == 200
    assert reset.json()["cleared"] == 2  # the phone and the company's account counter
    assert (await client.get("/api/v1/sign-in-blocks", headers=auth)).json() == []
    again = await client.post(SIGN_IN, json=_pin(tenant, _right_pin(tenant), "phone-one-1"))
    assert again.status_code == 200
    # The other company's block stays.
    still = await client.post(SIGN_IN, json=_pin(other, _right_pin(other), "phone-one-1"))
    assert still.status_code == 429
    # A phone's token may not clear blocks.
    denied = await client.post("/api/v1/sign-in-blocks/reset", headers=bearer(again.json()["token"]))
    assert denied.status_code == 403


async def test_admin_clears_blocks_in_the_users_page(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    for _ in range(settings.signin_free_failures):
        await client.post(SIGN_IN, json=_pin(tenant, "0000", "phone-one-1"))
    csrf = await sign_in_browser(client, tenant.admin.email)
    page = await client.get("/settings/users")
    assert "device:phone-one-1" in page.text
    cleared = await client.post("/settings/users/sign-in-blocks/reset", data={"csrf_token": csrf})
    assert cleared.status_code == 303
    page = await client.get("/settings/users")
    assert "device:phone-one-1" not in page.text
    assert "No one waits to sign in" in page.text
