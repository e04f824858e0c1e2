"""Typed factory functions: build real rows through the services, commit, return what tests need."""

import itertools
import re
from dataclasses import dataclass

import httpx

from fieldbridge.accounts import service as accounts_service
from fieldbridge.accounts.models import Company, Role, User, Worker
from fieldbridge.accounts.schemas import ApiKeyIn, UserIn, WorkerIn
from fieldbridge.accounts.scopes import ALL_SCOPES
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


@dataclass
class Tenant:
    company: Company
    admin: User
    support: User
    worker: Worker
    api_key: str


async def create_tenant(db: Database, settings: Settings, name: str = "Acme") -> Tenant:
    n = next(_seq)
    async with db.transaction() as session:
        company = await accounts_service.create_company(session, f"{name} {n}", f"{name[:4]}{n}")
        admin = await accounts_service.create_user(
            session,
            company.id,
            UserIn(
                email=f"admin{n}@{name.lower()}.com", name=f"{name} Admin", role=Role.admin, password=PASSWORD
            ),
        )
        support = await accounts_service.create_user(
            session,
            company.id,
            UserIn(
                email=f"support{n}@{name.lower()}.com",
                name=f"{name} Support",
                role=Role.support,
                password=PASSWORD,
            ),
        )
        worker = await accounts_service.create_worker(
            session,
            settings,
            company.id,
            WorkerIn(name=f"{name} Worker", employee_id=f"E{n}", pin=f"{1000 + n}", is_foreman=True),
        )
        _, token = await accounts_service.create_api_key(
            session, company.id, ApiKeyIn(name="all", scopes=sorted(ALL_SCOPES))
        )
    return Tenant(company=company, admin=admin, support=support, worker=worker, api_key=token)


def create_tenant_now(settings: Settings, name: str = "Acme") -> Tenant:
    """`create_tenant` from sync code (browser tests, fixtures), with a database of its own."""
    from tests.browser import run_async

    async def go() -> Tenant:
        database = Database(settings.database_url)
        try:
            return await create_tenant(database, settings, name)
        finally:
            await database.dispose()

    return run_async(go)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def submit_sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    """Fills in and sends the real sign-in form; the answer as it comes."""
    page = await client.get("/signin")
    pre = re.search(r'name="pre_csrf" value="([^"]+)"', page.text)
    assert pre is not None
    return await client.post(
        "/signin", data={"email": email, "password": password, "pre_csrf": pre.group(1), "next": "/"}
    )


async def sign_in_browser(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Signs `client` in through the real form; returns the page CSRF token for later posts."""
    response = await submit_sign_in(client, email, password)
    assert response.status_code == 303, response.text
    settings_page = await client.get("/settings/workers")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', settings_page.text)
    assert csrf is not None
    return csrf.group(1)
