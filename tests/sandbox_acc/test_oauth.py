"""APS OAuth v2 over HTTP: consent page, authorization code + PKCE S256, rotating refresh
tokens, scopes, revoke."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from fieldbridge_sandbox_acc.seeds import DEMO_CLIENT_ID, PUBLIC_CLIENT_ID
from tests.sandbox_acc.conftest import (
    REDIRECT,
    authorize,
    basic,
    exchange,
    form_fields,
    pkce_pair,
    token_pair,
)


def _query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def test_code_with_pkce_gives_tokens_that_read_hubs(acc: httpx.AsyncClient) -> None:
    tokens = await token_pair(acc)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    r = await acc.get("/project/v1/hubs", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 200
    assert {h["attributes"]["name"] for h in r.json()["data"]} == {"Northwind Builders", "Fjord Bygg AS"}
    assert all(h["id"].startswith("b.") for h in r.json()["data"])


async def test_code_is_single_use_and_bound_to_its_verifier(acc: httpx.AsyncClient) -> None:
    verifier, challenge = pkce_pair()
    code = _query(await authorize(acc, challenge=challenge))["code"]
    wrong, _ = pkce_pair()
    r = await exchange(acc, code, wrong)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"
    code = _query(await authorize(acc, challenge=challenge))["code"]
    assert (await exchange(acc, code, None)).json()["error"] == "invalid_request"
    code = _query(await authorize(acc, challenge=challenge))["code"]
    assert (await exchange(acc, code, "a b" * 20)).json()["error"] == "invalid_request"
    code = _query(await authorize(acc, challenge=challenge))["code"]
    assert (await exchange(acc, code, verifier)).status_code == 200
    again = await exchange(acc, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_pkce_is_required_and_only_s256(acc: httpx.AsyncClient) -> None:
    q = _query(await authorize(acc))
    assert q["error"] == "invalid_request"
    assert "code_challenge" in q["error_description"]
    page = await acc.get(
        "/authentication/v2/authorize",
        params={
            "client_id": DEMO_CLIENT_ID,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "data:read",
            "code_challenge": "x" * 43,
            "code_challenge_method": "plain",
        },
    )
    assert _query(page)["error"] == "invalid_request"


async def test_unknown_scope_and_denial_come_back_as_redirect_errors(acc: httpx.AsyncClient) -> None:
    _, challenge = pkce_pair()
    assert (
        _query(await authorize(acc, scope="data:read nope:all", challenge=challenge))["error"]
        == "invalid_scope"
    )
    denied = _query(await authorize(acc, challenge=challenge, decision="deny"))
    assert denied == {
        "error": "access_denied",
        "error_description": "The user denied access",
        "state": "st-1",
    }


async def test_unregistered_redirect_is_an_error_page_not_a_redirect(acc: httpx.AsyncClient) -> None:
    r = await acc.get(
        "/authentication/v2/authorize",
        params={
            "client_id": DEMO_CLIENT_ID,
            "response_type": "code",
            "redirect_uri": "https://evil.example/cb",
        },
    )
    assert r.status_code == 400
    assert "not a registered callback URL" in r.text


async def test_refresh_rotates_and_the_old_refresh_token_dies(acc: httpx.AsyncClient) -> None:
    first = await token_pair(acc)
    r = await acc.post(
        "/authentication/v2/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers=basic(),
    )
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    reuse = await acc.post(
        "/authentication/v2/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers=basic(),
    )
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    third = await acc.post(
        "/authentication/v2/token",
        data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
        headers=basic(),
    )
    assert third.status_code == 200


async def test_refresh_cannot_widen_scopes(acc: httpx.AsyncClient) -> None:
    verifier, challenge = pkce_pair()
    code = _query(await authorize(acc, scope="data:read", challenge=challenge))["code"]
    tokens = (await exchange(acc, code, verifier)).json()
    r = await acc.post(
        "/authentication/v2/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "scope": "data:write"},
        headers=basic(),
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"


async def test_scopes_gate_reads_and_writes(acc: httpx.AsyncClient) -> None:
    verifier, challenge = pkce_pair()
    code = _query(await authorize(acc, scope="account:read", challenge=challenge))["code"]
    tokens = (await exchange(acc, code, verifier)).json()
    r = await acc.get("/project/v1/hubs", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 403
    assert "data:read" in r.json()["developerMessage"]


async def test_wrong_client_secret_is_invalid_client(acc: httpx.AsyncClient) -> None:
    r = await acc.post(
        "/authentication/v2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": "no",
        },
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"


async def test_public_client_uses_pkce_without_a_secret(acc: httpx.AsyncClient) -> None:
    verifier, challenge = pkce_pair()
    page = await acc.get(
        "/authentication/v2/authorize",
        params={
            "client_id": PUBLIC_CLIENT_ID,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "data:read",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 200
    users = (await acc.get("/_sandbox/ids")).json()["users"]
    consent = await acc.post(
        "/_sandbox/oauth/consent",
        data=form_fields(page.text) | {"user_id": users[0]["id"], "decision": "approve"},
    )
    code = _query(consent)["code"]
    r = await acc.post(
        "/authentication/v2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": PUBLIC_CLIENT_ID,
        },
    )
    assert r.status_code == 200
    assert "refresh_token" in r.json()


async def test_revoke_kills_the_access_token_and_the_refresh_token(acc: httpx.AsyncClient) -> None:
    tokens = await token_pair(acc)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    for value, hint in ((tokens["access_token"], "access_token"), (tokens["refresh_token"], "refresh_token")):
        r = await acc.post(
            "/authentication/v2/revoke", data={"token": value, "token_type_hint": hint}, headers=basic()
        )
        assert r.status_code == 200
        assert r.content == b""
    assert (await acc.get("/project/v1/hubs", headers=bearer)).status_code == 401
    r = await acc.post(
        "/authentication/v2/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(),
    )
    assert r.json()["error"] == "invalid_grant"


async def test_expired_access_token_is_401(acc: httpx.AsyncClient) -> None:
    tokens = await token_pair(acc)
    await acc.post("/_sandbox/clock", json={"advance_seconds": 3601})
    try:
        r = await acc.get("/project/v1/hubs", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert r.status_code == 401
        assert r.json()["errorCode"] == "AUTH-001"
    finally:
        await acc.post("/_sandbox/clock", json={"advance_seconds": -3601})
