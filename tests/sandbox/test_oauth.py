"""OAuth rules: single-use codes, rotating single-use refresh tokens, every client-auth form."""

from __future__ import annotations

import base64

import httpx
import pytest

from fieldbridge_sandbox.seeds import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, OTHER_CLIENT_ID

from .conftest import REDIRECT, Demo, authorize_code, user_tokens

SECRET = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}


async def _exchange(client: httpx.AsyncClient, encoding: str, code: str) -> httpx.Response:
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    if encoding == "json":
        return await client.post("/oauth/token", json={**grant, **SECRET})
    if encoding == "form":
        return await client.post("/oauth/token", data={**grant, **SECRET})
    if encoding == "multipart":
        files = {k: (None, v) for k, v in {**grant, **SECRET}.items()}
        return await client.post("/oauth/token", files=files)
    basic = base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
    return await client.post("/oauth/token", data=grant, headers={"Authorization": f"Basic {basic}"})


@pytest.mark.parametrize("encoding", ["json", "form", "multipart", "basic"])
async def test_code_exchange_accepts_every_client_auth_encoding(
    client: httpx.AsyncClient, demo: Demo, encoding: str
) -> None:
    code = await authorize_code(client, demo.users["alex"]["id"])
    r = await _exchange(client, encoding, code)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "created_at"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 5400
    assert r.headers["cache-control"] == "no-store"


async def test_code_is_single_use(client: httpx.AsyncClient, demo: Demo) -> None:
    code = await authorize_code(client, demo.users["alex"]["id"])
    assert (await _exchange(client, "json", code)).status_code == 200
    again = await _exchange(client, "json", code)
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_grant"


async def test_code_expires_after_ten_minutes(client: httpx.AsyncClient, demo: Demo) -> None:
    code = await authorize_code(client, demo.users["alex"]["id"])
    await client.post("/_sandbox/clock", json={"advance_seconds": 601})
    assert (await _exchange(client, "json", code)).json()["error"] == "invalid_grant"


async def test_wrong_secret_is_invalid_client(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": "no"},
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"


async def test_unknown_grant_type_is_unsupported_grant_type(client: httpx.AsyncClient) -> None:
    r = await client.post("/oauth/token", data={"grant_type": "password", **SECRET})
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


async def test_missing_grant_type_is_invalid_request(client: httpx.AsyncClient) -> None:
    r = await client.post("/oauth/token", json=SECRET)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


async def test_refresh_rotates_and_old_token_dies(client: httpx.AsyncClient, demo: Demo) -> None:
    first = await user_tokens(client, demo.users["alex"]["id"])
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **SECRET},
    )
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    reuse = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **SECRET},
    )
    assert reuse.status_code == 401
    assert reuse.json() == {"error": "invalid_grant", "error_description": "The refresh token is invalid"}


async def test_refresh_token_dies_even_if_response_is_lost(client: httpx.AsyncClient, demo: Demo) -> None:
    tokens = await user_tokens(client, demo.users["alex"]["id"])
    await client.put("/_sandbox/faults", json={"drop_next": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **SECRET},
        )
    retry = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **SECRET},
    )
    assert retry.status_code == 401


async def test_client_credentials_has_no_refresh_token(client: httpx.AsyncClient) -> None:
    r = await client.post("/oauth/token", json={"grant_type": "client_credentials", **SECRET})
    assert "refresh_token" not in r.json()


async def test_token_info_and_expiry(client: httpx.AsyncClient, demo: Demo) -> None:
    tokens = await user_tokens(client, demo.users["alex"]["id"])
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = (await client.get("/oauth/token/info", headers=auth)).json()
    assert info["resource_owner_id"] == demo.users["alex"]["id"]
    assert info["application"] == {"uid": DEMO_CLIENT_ID}
    assert 5390 <= info["expires_in_seconds"] <= 5400
    await client.post("/_sandbox/clock", json={"advance_seconds": 5401})
    expired = await client.get("/rest/v1.0/me", headers=auth)
    assert expired.status_code == 401
    assert "invalid_token" in expired.headers["www-authenticate"]
    assert expired.json()["message"] == "The access token is invalid"


async def test_revoke_kills_access_and_refresh(client: httpx.AsyncClient, demo: Demo) -> None:
    tokens = await user_tokens(client, demo.users["alex"]["id"])
    r = await client.post("/oauth/revoke", data={"token": tokens["access_token"], **SECRET})
    assert r.status_code == 200
    me = await client.get("/rest/v1.0/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 401
    refresh = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **SECRET},
    )
    assert refresh.status_code == 401
    unknown = await client.post("/oauth/revoke", data={"token": "nope", **SECRET})
    assert unknown.status_code == 200


async def test_authorize_rejects_unregistered_redirect(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": "https://evil.example/cb",
        },
    )
    assert r.status_code == 400
    unknown = await client.get(
        "/oauth/authorize", params={"response_type": "code", "client_id": "nobody", "redirect_uri": REDIRECT}
    )
    assert unknown.status_code == 400


async def test_any_loopback_redirect_is_accepted(client: httpx.AsyncClient, demo: Demo) -> None:
    code = await authorize_code(client, demo.users["alex"]["id"], redirect_uri="http://localhost:51234/cb")
    assert code.startswith("sbx_code_")


async def test_deny_redirects_with_access_denied(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/_sandbox/oauth/consent",
        data={"client_id": DEMO_CLIENT_ID, "redirect_uri": REDIRECT, "state": "s", "decision": "deny"},
    )
    assert r.status_code == 302
    assert "error=access_denied" in r.headers["location"]
    assert "state=s" in r.headers["location"]


async def test_uninstalled_app_gets_403(client: httpx.AsyncClient, demo: Demo) -> None:
    apps = (await client.get("/_sandbox/apps")).json()
    other = next(a for a in apps if a["client_id"] == OTHER_CLIENT_ID)
    assert other["installs"] == []
    state = client._transport.app.state.sandbox  # type: ignore[attr-defined]
    from fieldbridge_sandbox.oauth import find_app, issue

    app_row = find_app(state, OTHER_CLIENT_ID)
    assert app_row is not None
    token = issue(state, app_row, demo.users["alex"]["id"], "authorization_code")
    r = await client.get(
        "/rest/v1.0/me",
        headers={
            "Authorization": f"Bearer {token['access_token']}",
            "Procore-Company-Id": str(demo.company_id),
        },
    )
    assert r.status_code == 403
    assert r.json()["message"] == "App is not connected to this company"
