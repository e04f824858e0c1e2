"""The shared OAuth module, token manager and connection lifecycle know no provider: a
non-Procore authorization server (tests/connections/acme_oauth.py, served for real on
loopback) is connected with the same code Procore uses, through its own endpoints, client
authentication, scopes and account ids."""

import asyncio
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from fieldbridge.connections import oauth
from fieldbridge.connections.credentials import AuthMode, ConnectionConfig, OAuthSecrets
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.connections.tokens import TokenManager
from fieldbridge.connectors.procore.errors import ProcoreError
from fieldbridge.connectors.registry import build_registry
from fieldbridge.delivery.runner import install_registry
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from tests.browser import serve_in_thread
from tests.connections import acme_oauth as acme
from tests.factories import bearer, create_tenant, sign_in_browser

REDIRECT = "http://testserver/settings/integrations/acme/callback"


@pytest.fixture
def server() -> Iterator[tuple[acme.AcmeServer, str]]:
    state = acme.AcmeServer()
    with serve_in_thread(state.app()) as url:
        yield state, url


@pytest.fixture
def with_acme(app: object) -> Iterator[None]:
    """The app's registry plus the Acme connector (one line, as a shipped connector would be)."""
    registry = build_registry()
    registry.register(acme.spec())
    install_registry(registry)
    yield
    install_registry(build_registry())


def _http(read_timeout: float = 20.0) -> HttpClients:
    return HttpClients(timeout=httpx.Timeout(5.0, read=read_timeout), allow_emulators=True)


def _secrets(**tokens: str) -> OAuthSecrets:
    return OAuthSecrets(
        client_secret=SecretStr(acme.CLIENT_SECRET), **{k: SecretStr(v) for k, v in tokens.items()}
    )


async def _sign_in(provider: oauth.OAuthProvider) -> tuple[oauth.TokenSet, str]:
    """Authorization code with PKCE against the real server: the tokens, and the verifier used."""
    state, verifier = oauth.new_state(), oauth.new_code_verifier()
    url = oauth.authorization_url(provider, acme.CLIENT_ID, REDIRECT, state, verifier)
    assert "code_challenge=" in url
    assert "scope=read+write" in url
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url)
    assert answer.status_code == 302, answer.text
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    assert back["state"] == [state]
    tokens = await oauth.exchange_code(
        _http(), provider, acme.CLIENT_ID, _secrets(code_verifier=verifier), back["code"][0], REDIRECT
    )
    return tokens, verifier


async def test_shared_oauth_client_speaks_to_a_provider_that_is_not_procore(
    server: tuple[acme.AcmeServer, str],
) -> None:
    state, url = server
    provider = acme.endpoints({"offline_url": url})
    tokens, _ = await _sign_in(provider)
    assert tokens.refresh_token is not None
    assert tokens.expires_at is not None
    assert tokens.expires_at > utcnow()

    # Refresh rotates the single-use refresh token; the old one is dead afterwards.
    first = tokens.refresh_token
    fresh = await oauth.fetch_new_token(
        _http(), provider, AuthMode.authorization_code, acme.CLIENT_ID, _secrets(refresh_token=first)
    )
    assert fresh.refresh_token not in (None, first)
    assert fresh.access_token != tokens.access_token
    with pytest.raises(oauth.TokenRejected) as reused:
        await oauth.fetch_new_token(
            _http(), provider, AuthMode.authorization_code, acme.CLIENT_ID, _secrets(refresh_token=first)
        )
    assert reused.value.code == "invalid_grant"
    assert not isinstance(reused.value, ProcoreError)  # the neutral class, not Procore's
    assert "Acme Cloud" in reused.value.message

    # Client credentials (a service account): an access token only.
    service = await oauth.fetch_new_token(
        _http(), provider, AuthMode.client_credentials, acme.CLIENT_ID, _secrets()
    )
    assert service.refresh_token is None
    assert state.grants["client_credentials"] == 1

    # A wrong secret, and a code exchanged with the wrong PKCE verifier, are refused.
    wrong = OAuthSecrets(client_secret=SecretStr("not-the-secret"))
    with pytest.raises(oauth.TokenRejected) as refused:
        await oauth.fetch_new_token(_http(), provider, AuthMode.client_credentials, acme.CLIENT_ID, wrong)
    assert refused.value.code == "invalid_client"
    code_url = oauth.authorization_url(provider, acme.CLIENT_ID, REDIRECT, "s", oauth.new_code_verifier())
    async with httpx.AsyncClient() as browser:
        code = parse_qs(urlsplit((await browser.get(code_url)).headers["location"]).query)["code"][0]
    with pytest.raises(oauth.TokenRejected):
        await oauth.exchange_code(
            _http(),
            provider,
            acme.CLIENT_ID,
            _secrets(code_verifier=oauth.new_code_verifier()),
            code,
            REDIRECT,
        )

    # Revocation sends both stored tokens to the revoke endpoint.
    assert fresh.refresh_token is not None
    await oauth.revoke(
        _http(),
        provider,
        acme.CLIENT_ID,
        _secrets(access_token=fresh.access_token, refresh_token=fresh.refresh_token),
    )
    assert state.revoked == [fresh.refresh_token, fresh.access_token]


async def test_the_provider_being_down_is_unavailable_not_rejected() -> None:
    provider = acme.endpoints({"offline_url": "http://127.0.0.1:9"})  # nothing listens there
    with pytest.raises(oauth.Unavailable) as down:
        await oauth.fetch_new_token(
            _http(), provider, AuthMode.client_credentials, acme.CLIENT_ID, _secrets()
        )
    assert "cannot be reached" in down.value.message


async def _acme_connection(db: Database, settings: Settings, url: str, tokens: oauth.TokenSet) -> int:
    tenant = await create_tenant(db, settings)
    box = SecretBox(settings.secret)
    assert tokens.refresh_token is not None
    sealed = _secrets(access_token=tokens.access_token, refresh_token=tokens.refresh_token).seal(box)
    config = ConnectionConfig(environment="local", offline_url=url, client_id=acme.CLIENT_ID)
    async with db.transaction() as session:
        row = Connection(
            company_id=tenant.company.id,
            provider="acme",
            environment="local",
            label="Acme Cloud · Acme West",
            external_account_id="4242",
            status=ConnectionStatus.connected,
            config=config.model_dump(mode="json"),
            sealed_credentials=sealed,
            token_expires_at=utcnow(),  # expired: the first caller must refresh
        )
        session.add(row)
        await session.flush()
        return row.id


async def _row(db: Database, connection_id: int) -> Connection:
    async with db.transaction() as session:
        row = await session.scalar(select(Connection).where(Connection.id == connection_id))
        assert row is not None
        return row


def _manager(
    db: Database, settings: Settings, connection_id: int, read_timeout: float = 20.0
) -> TokenManager:
    return TokenManager(
        db,
        _http(read_timeout),
        SecretBox(settings.secret),
        connection_id,
        lambda connection: acme.endpoints(connection.config),
    )


async def test_token_manager_refreshes_once_for_many_callers_and_parks_on_invalid_grant(
    server: tuple[acme.AcmeServer, str], db: Database, settings: Settings
) -> None:
    state, url = server
    tokens, _ = await _sign_in(acme.endpoints({"offline_url": url}))
    connection_id = await _acme_connection(db, settings, url, tokens)
    before = (await _row(db, connection_id)).credentials_version

    # Twenty managers (as if twenty processes): only the row lock keeps them to one refresh.
    managers = [_manager(db, settings, connection_id) for _ in range(20)]
    got = await asyncio.gather(*(m.current() for m in managers))
    assert len({t.value for t in got}) == 1
    assert state.grants["refresh_token"] == 1
    assert sum(m.refreshes for m in managers) == 1
    row = await _row(db, connection_id)
    assert row.credentials_version == before + 1
    stored = OAuthSecrets.open(SecretBox(settings.secret), row.sealed_credentials)
    assert stored.refresh_token is not None
    assert stored.refresh_token.get_secret_value() in state.refresh_tokens  # the rotated one, committed

    # The provider forgets the app: invalid_grant parks the connection with Acme's name on it.
    state.revoke_all()
    stale = got[0]
    with pytest.raises(oauth.ReconnectRequired) as parked:
        await _manager(db, settings, connection_id).refresh(stale)
    assert parked.value.connection_id == connection_id
    row = await _row(db, connection_id)
    assert row.status == ConnectionStatus.needs_reconnect
    assert row.status_reason is not None
    assert "Reconnect Acme Cloud" in row.status_reason
    with pytest.raises(oauth.ReconnectRequired):  # later callers fail fast, without asking Acme
        await _manager(db, settings, connection_id).current()
    assert state.grants["refresh_token"] == 2


@pytest.mark.parametrize(
    ("hold", "outcome"),
    [("before", ConnectionStatus.connected), ("after", ConnectionStatus.needs_reconnect)],
)
async def test_a_lost_refresh_answer_is_asked_again_once(
    server: tuple[acme.AcmeServer, str],
    db: Database,
    settings: Settings,
    hold: str,
    outcome: ConnectionStatus,
) -> None:
    """Lost before the server rotated: the same refresh token works on the second ask. Lost
    after: the token is spent, so the connection needs a reconnect (nothing else can help)."""
    state, url = server
    tokens, _ = await _sign_in(acme.endpoints({"offline_url": url}))
    connection_id = await _acme_connection(db, settings, url, tokens)
    state.hold_next_refresh.append(hold)
    manager = _manager(db, settings, connection_id, read_timeout=0.5)
    if outcome is ConnectionStatus.connected:
        token = await manager.current()
        assert token.value in state.access_tokens
    else:
        with pytest.raises(oauth.ReconnectRequired) as parked:
            await manager.current()
        assert "lost" in parked.value.message
    assert (await _row(db, connection_id)).status == outcome


async def test_generic_lifecycle_connects_picks_reconnects_and_disconnects_acme(
    server: tuple[acme.AcmeServer, str],
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    with_acme: None,
) -> None:
    state, url = server
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    body = {
        "provider": "acme",
        "environment": "local",
        "offline_url": url,
        "client_id": acme.CLIENT_ID,
        "client_secret": acme.CLIENT_SECRET,
    }

    async def consent(authorize_url: str) -> dict[str, str]:
        async with httpx.AsyncClient() as browser:
            answer = await browser.get(authorize_url)
        assert answer.headers["location"].startswith(REDIRECT)
        return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}

    unknown = await client.post("/api/v1/connections", json={**body, "environment": "mars"}, headers=auth)
    assert unknown.status_code == 422
    assert "environment" in unknown.json()["error"]["message"]

    started = await client.post("/api/v1/connections", json=body, headers=auth)
    assert started.status_code == 201, started.text
    done = await client.get(
        "/api/v1/connections/acme/callback",
        params=await consent(started.json()["authorize_url"]),
        headers=auth,
    )
    assert done.status_code == 200, done.text
    assert [c["name"] for c in done.json()["company_choices"]] == ["Acme West", "Acme East"]
    picked = await client.post(
        f"/api/v1/connections/{done.json()['id']}/company", json={"account_ids": ["4242"]}, headers=auth
    )
    assert picked.status_code == 200, picked.text
    (connection,) = picked.json()
    assert (connection["provider"], connection["status"]) == ("acme", "connected")
    assert connection["label"] == "Acme Cloud · Acme West"
    assert str(connection["external_account_id"]) == "4242"

    # Reconnect: a new sign-in, same account, same connection.
    again = await client.post(f"/api/v1/connections/{connection['id']}/reconnect", headers=auth)
    back = await client.get(
        "/api/v1/connections/acme/callback", params=await consent(again.json()["authorize_url"]), headers=auth
    )
    assert (back.json()["id"], back.json()["status"]) == (connection["id"], "connected")

    # Denied consent is explained in Acme's name.
    state.deny = True
    started = await client.post("/api/v1/connections/acme", json=body, headers=auth)
    denied = await client.get(
        "/api/v1/connections/acme/callback",
        params=await consent(started.json()["authorize_url"]),
        headers=auth,
    )
    assert denied.status_code == 400
    assert denied.json()["error"]["code"] == "acme_access_denied"
    assert "Acme Cloud" in denied.json()["error"]["message"]

    # A service account lists its accounts at once; the path form takes the provider.
    service = await client.post(
        "/api/v1/connections/acme",
        json={**body, "mode": "client_credentials", "account_id": "4343"},
        headers=auth,
    )
    assert service.status_code == 201, service.text
    assert [c["name"] for c in service.json()["company_choices"]] == ["Acme West", "Acme East"]

    gone = await client.post(f"/api/v1/connections/{connection['id']}/disconnect", headers=auth)
    assert gone.status_code == 200, gone.text
    assert gone.json()["warning"] is None
    assert gone.json()["connection"]["status"] == "disconnected"
    assert len(state.revoked) == 2
    assert (await client.post("/api/v1/connections/nowhere", json=body, headers=auth)).status_code == 404


async def test_generic_pages_connect_acme_in_a_browser_session(
    server: tuple[acme.AcmeServer, str],
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    with_acme: None,
) -> None:
    _, url = server
    tenant = await create_tenant(db, settings)
    csrf = await sign_in_browser(client, tenant.admin.email)
    page = await client.get("/settings/integrations/acme")
    assert page.status_code == 200
    assert "/settings/integrations/acme/callback" in page.text
    form = {
        "csrf_token": csrf,
        "environment": "local",
        "offline_url": url,
        "client_id": acme.CLIENT_ID,
        "client_secret": acme.CLIENT_SECRET,
    }
    onward = await client.post("/settings/integrations/acme/connect", data=form)
    assert onward.status_code == 200, onward.text
    assert "Continue to Acme Cloud" in onward.text
    authorize = next(
        part.split('"')[0] for part in onward.text.split('href="')[1:] if part.startswith(url)
    ).replace("&amp;", "&")
    async with httpx.AsyncClient() as browser:
        location = (await browser.get(authorize)).headers["location"]
    back = await client.get("/settings/integrations/acme/callback" + "?" + urlsplit(location).query)
    assert back.status_code == 303, back.text
    picker = await client.get(back.headers["location"])
    assert "Acme West" in picker.text
    assert 'name="account_id"' in picker.text
    chosen = await client.post(
        back.headers["location"] + "/company", data={"csrf_token": csrf, "account_id": "4242"}
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == back.headers["location"]  # no projects to pick for Acme
    connected = await client.get(chosen.headers["location"])
    assert "Acme Cloud · Acme West" in connected.text
    assert "Connected" in connected.text
    # Another provider's path does not reach this connection.
    assert (await client.get(back.headers["location"].replace("/acme/", "/procore/"))).status_code == 404
