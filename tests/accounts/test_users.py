"""Admin users: emails are unique per company, so no answer tells one company about another's."""

import httpx

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import PASSWORD, bearer, create_tenant, submit_sign_in


async def test_another_companys_email_is_not_revealed(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    a = await create_tenant(db, settings)
    b = await create_tenant(db, settings, "Bravo")
    body = {
        "email": b.admin.email.upper(),
        "name": "Same Person",
        "role": "admin",
        "password": "a-different-pw",
    }
    created = await client.post("/api/v1/users", json=body, headers=bearer(a.api_key))
    assert created.status_code == 201, created.text  # nothing says the address is used at Bravo
    again = await client.post("/api/v1/users", json=body, headers=bearer(a.api_key))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"
    assert "This company already has" in again.json()["error"]["message"]

    # Each password opens its own company.
    assert (await submit_sign_in(client, b.admin.email, "a-different-pw")).status_code == 303
    me = await client.get("/api/v1/me")
    assert me.json()["company_id"] == a.company.id
    client.cookies.clear()
    assert (await submit_sign_in(client, b.admin.email, PASSWORD)).status_code == 303
    assert (await client.get("/api/v1/me")).json()["company_id"] == b.company.id
