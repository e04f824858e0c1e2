"""Rules of connections, for every provider: connect (authorization code or service account),
pick the account, reconnect, disconnect. A provider supplies only its `ConnectFlow` (endpoints,
environments, config model, account picker; `connections.connector`), read from the registry the
process installed at start. Functions take a session and never commit."""

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections import oauth
from fieldbridge.connections.connector import (
    Account,
    ConnectFlow,
    Connector,
    EnvironmentOption,
    installed_registry,
)
from fieldbridge.connections.credentials import AuthMode, ConnectionConfig, OAuthSecrets
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.connections.schemas import ConnectIn, OAuthCallbackIn
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox, token_digest
from fieldbridge.kit.errors import BadRequest, Conflict, NotFound, Unprocessable
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger
from fieldbridge.kit.netguard import EgressRefused
from fieldbridge.settings import Settings

log = get_logger("fieldbridge.connections")

# What the admin is told for an OAuth error code; a flow's `messages` override these.
MESSAGES = {
    "access_denied": "You declined access on {name}'s page, so nothing was connected. "
    "Click Connect to try again.",
    "invalid_grant": "{name}'s authorization code expired or was already used. Click Connect to start again.",
    "invalid_client": "{name} rejected the client id or client secret. Copy both again from the app's "
    "settings at {name} and retry.",
    "unauthorized_client": "This {name} app may not use this way of signing in. Use the other one, or "
    "allow it in the app's settings at {name}.",
    "not_authorized": "{name} did not authorize this app (no code came back). Click Connect to try again.",
    "wrong_account": "The {name} user you signed in with cannot reach this connection's {noun}. "
    "Sign in as a user of that {noun}.",
}


def flow_of(provider: str) -> tuple[Connector, ConnectFlow]:
    """The connector and its connect steps; 404 for a provider that cannot be connected."""
    spec = installed_registry().specs.get(provider)
    if spec is None or spec.connect is None:
        known = ", ".join(sorted(p for p, s in installed_registry().specs.items() if s.connect is not None))
        raise NotFound(f"No connector {provider[:40]!r} can be connected here; known: {known}.")
    return spec, spec.connect


def redirect_uri(settings: Settings, provider: str) -> str:
    return f"{settings.base_url.rstrip('/')}/settings/integrations/{provider}/callback"


def box_of(settings: Settings) -> SecretBox:
    return SecretBox(settings.secret)


def _config(connection: Connection) -> ConnectionConfig:
    return ConnectionConfig.model_validate(connection.config)


def _set_config(connection: Connection, config: ConnectionConfig) -> None:
    connection.config = config.model_dump(mode="json")


def _noun(flow: ConnectFlow) -> str:
    return flow.account_noun[:1].upper() + flow.account_noun[1:]


def _message(spec: Connector, flow: ConnectFlow, code: str) -> str | None:
    text = flow.messages.get(code) or MESSAGES.get(code)
    return text.format(name=spec.display_name, noun=flow.account_noun) if text else None


def _refused(exc: BaseException) -> EgressRefused | None:
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, EgressRefused):
        seen = seen.__cause__ or seen.__context__
    return seen


def _problem(
    spec: Connector, flow: ConnectFlow, exc: oauth.ProviderError, config: dict[str, Any]
) -> BadRequest:
    """What the admin is told: one message per class of failure, naming only the host they
    chose. Never the remote side's text (a body would echo whatever the URL serves, and
    distinct errors would make connecting a port scanner)."""
    provider = spec.provider
    host = urlsplit(flow.base_url(config)).netloc
    refused = _refused(exc)
    if refused is not None:
        return BadRequest(
            f"Refused: {host} is a {refused.reason}; FieldBridge only calls public addresses.",
            code=f"{provider}_address_refused",
        )
    code = str(getattr(exc, "code", "") or "")
    known = _message(spec, flow, code) if code in MESSAGES or code in flow.messages else None
    if known is not None:
        return BadRequest(known, code=f"{provider}_{code}")
    if isinstance(exc, oauth.TokenRejected):
        return BadRequest(
            f"{host} refused the app's credentials. Check the client id and secret and try again.",
            code=f"{provider}_token_refused",
        )
    if isinstance(exc, oauth.Unavailable | oauth.TokenResponseLost):
        return BadRequest(
            f"Could not reach {host}; check the URL and try again shortly.", code=f"{provider}_unreachable"
        )
    status = f" (HTTP {exc.status})" if exc.status else ""
    return BadRequest(
        f"{host} refused the request{status}. Check that the app is installed in the {flow.account_noun} "
        "and has the permissions it needs.",
        code=f"{provider}_refused",
    )


async def _check_emulator(
    settings: Settings,
    http: HttpClients,
    spec: Connector,
    option: EnvironmentOption,
    config: dict[str, Any],
) -> None:
    """An emulator (the offline sandbox) is for test servers: refused unless
    FIELDBRIDGE_ALLOW_OFFLINE_SANDBOX allows it, and its URL must be a public address or loopback."""
    if not option.emulator:
        return
    flow = spec.connect
    assert flow is not None
    if not settings.offline_sandbox_allowed:
        others = " or ".join(o.label for o in flow.environments if not o.emulator) or "another environment"
        raise Unprocessable(
            f"The offline sandbox is turned off on this server. Connect {others} "
            "(or, on a test server, set FIELDBRIDGE_ALLOW_OFFLINE_SANDBOX=true).",
            code="offline_sandbox_disabled",
        )
    base = flow.base_url(config)
    try:
        await http.check_destination(base, emulator=True)
    except EgressRefused as exc:
        raise Unprocessable(
            f"offline_url: refused: {exc.host} is a {exc.reason}; use a public address or 127.0.0.1.",
            code=f"{spec.provider}_address_refused",
        ) from exc
    except httpx.TransportError as exc:
        raise Unprocessable(
            f"offline_url: could not resolve {urlsplit(base).hostname}; check the URL.",
            code=f"{spec.provider}_unreachable",
        ) from exc


async def get_connection(session: AsyncSession, company_id: int, connection_id: int) -> Connection:
    connection = await ConnectionRepository.from_session(session).get(company_id, connection_id)
    if connection is None:
        raise NotFound("No such connection in this company.")
    return connection


async def list_connections(
    session: AsyncSession, company_id: int, provider: str | None = None
) -> Sequence[Connection]:
    return await ConnectionRepository.from_session(session).list(company_id, provider)


def _begin_authorization(
    settings: Settings, box: SecretBox, flow: ConnectFlow, connection: Connection, secrets_: OAuthSecrets
) -> str:
    config = _config(connection)
    state = oauth.new_state()
    verifier = oauth.new_code_verifier()
    config.oauth_state_digest = token_digest(state)
    _set_config(connection, config)
    secrets_.code_verifier = SecretStr(verifier)
    connection.sealed_credentials = secrets_.seal(box)
    endpoints = flow.oauth(connection.config)
    return oauth.authorization_url(
        endpoints, config.client_id, redirect_uri(settings, connection.provider), state, verifier
    )


def _choices(accounts: Sequence[Account]) -> list[dict[str, object]]:
    return [{"id": a.id, "name": a.name} for a in accounts]


async def start_connect(
    session: AsyncSession, settings: Settings, http: HttpClients, company_id: int, data: ConnectIn
) -> tuple[Connection, str | None]:
    """A pending connection, and the provider's sign-in URL to send the admin to (None for
    service accounts, whose account choices are ready at once)."""
    spec, flow = flow_of(data.provider)
    if data.mode not in flow.modes:
        allowed = ", ".join(sorted(m.value for m in flow.modes))
        raise Unprocessable(f"mode: {spec.display_name} connects by {allowed}.", code="unsupported_mode")
    if data.mode is AuthMode.client_credentials and data.account_id is None:
        raise Unprocessable(f"{flow.account_field} is required for a service account.")
    try:
        option = flow.environment(data.environment)
        raw = {"environment": option.value, "offline_url": data.offline_url, "mode": data.mode}
        config = flow.config_model.model_validate({**raw, "client_id": data.client_id}).model_dump(
            mode="json"
        )
        endpoints = flow.oauth(config)
        flow.base_url(config)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "offline_url"
        raise Unprocessable(f"{where}: {first['msg']}".replace("Value error, ", "")) from exc
    except ValueError as exc:
        field = "environment" if "environment" in str(exc) else "offline_url"
        raise Unprocessable(f"{field}: {exc}") from exc
    await _check_emulator(settings, http, spec, option, config)
    box = box_of(settings)
    secrets_ = OAuthSecrets(client_secret=data.client_secret)
    connection = Connection(
        company_id=company_id,
        provider=spec.provider,
        environment=option.value,
        label=f"{spec.display_name} (connecting)",
        status=ConnectionStatus.pending,
        config=config,
        sealed_credentials=secrets_.seal(box),
    )
    await ConnectionRepository.from_session(session).add(connection)
    if data.mode is AuthMode.authorization_code:
        return connection, _begin_authorization(settings, box, flow, connection, secrets_)
    try:
        tokens = await oauth.fetch_new_token(http, endpoints, data.mode, data.client_id, secrets_)
        accounts = await flow.list_accounts(http, config, tokens.access_token, data.account_id)
    except oauth.ProviderError as exc:
        raise _problem(spec, flow, exc, config) from exc
    except ValueError as exc:
        raise Unprocessable(f"{flow.account_field}: {exc}", code="unknown_account") from exc
    _store_tokens(box, connection, secrets_, tokens)
    stored = _config(connection)
    stored.company_choices = _choices(accounts)
    _set_config(connection, stored)
    return connection, None


async def start_reconnect(
    session: AsyncSession, settings: Settings, http: HttpClients, company_id: int, connection_id: int
) -> str | None:
    """Authorization code: the provider's sign-in URL to send the admin to (the connection keeps
    its projects). Service account: fetches a fresh token now, checks with it that the provider
    lists the connection's account (a call that proves the token works), and returns None."""
    connection = await get_connection(session, company_id, connection_id)
    spec, flow = flow_of(connection.provider)
    box = box_of(settings)
    secrets_ = OAuthSecrets.open(box, connection.sealed_credentials)
    config = _config(connection)
    if config.mode is AuthMode.authorization_code:
        return _begin_authorization(settings, box, flow, connection, secrets_)
    account = connection.external_account_id
    hint = str(account) if account is not None else None
    try:
        endpoints = flow.oauth(connection.config)
        tokens = await oauth.fetch_new_token(http, endpoints, config.mode, config.client_id, secrets_)
        reachable = (
            await flow.list_accounts(http, connection.config, tokens.access_token, hint) if hint else []
        )
    except oauth.ProviderError as exc:
        raise _problem(spec, flow, exc, connection.config) from exc
    name = spec.display_name
    if hint is not None and hint not in {a.id for a in reachable}:
        raise BadRequest(
            f"{name} issued a token, but the service account cannot reach this connection's "
            f"{flow.account_noun} (#{hint}). In {name}, check that the app is installed in that "
            f"{flow.account_noun}, then reconnect.",
            code=f"{spec.provider}_wrong_company",
        )
    _store_tokens(box, connection, secrets_, tokens)
    if hint is not None:
        connection.status, connection.status_reason = ConnectionStatus.connected, None
    return None


def _store_tokens(
    box: SecretBox, connection: Connection, secrets_: OAuthSecrets, tokens: oauth.TokenSet
) -> None:
    secrets_.access_token = SecretStr(tokens.access_token)
    secrets_.refresh_token = SecretStr(tokens.refresh_token) if tokens.refresh_token else None
    secrets_.code_verifier = None
    connection.sealed_credentials = secrets_.seal(box)
    connection.token_expires_at = tokens.expires_at
    connection.credentials_version += 1
    connection.last_success_at = utcnow()


async def _pending_by_state(session: AsyncSession, company_id: int, provider: str, state: str) -> Connection:
    digest = token_digest(state)
    for connection in await list_connections(session, company_id, provider):
        if connection.config.get("oauth_state_digest") == digest:
            return connection
    raise BadRequest(
        "This sign-in answer does not match a Connect started here (wrong or reused state). "
        "Click Connect again.",
        code="oauth_state_mismatch",
    )


async def finish_authorization(
    session: AsyncSession,
    settings: Settings,
    http: HttpClients,
    company_id: int,
    data: OAuthCallbackIn,
    provider: str,
) -> Connection:
    """The provider sent the admin back: check `state`, exchange the code, list the accounts."""
    spec, flow = flow_of(provider)
    connection = await _pending_by_state(session, company_id, provider, data.state)
    box = box_of(settings)
    config = _config(connection)
    config.oauth_state_digest = None
    _set_config(connection, config)
    if data.error or not data.code:
        known = data.error if data.error and (data.error in MESSAGES or data.error in flow.messages) else None
        message = _message(spec, flow, known or "not_authorized")
        raise BadRequest(message or "", code=f"{provider}_{known or 'not_authorized'}")
    secrets_ = OAuthSecrets.open(box, connection.sealed_credentials)
    try:
        endpoints = flow.oauth(connection.config)
        tokens = await oauth.exchange_code(
            http, endpoints, config.client_id, secrets_, data.code, redirect_uri(settings, provider)
        )
        accounts = await flow.list_accounts(http, connection.config, tokens.access_token, None)
    except oauth.ProviderError as exc:
        raise _problem(spec, flow, exc, connection.config) from exc
    _store_tokens(box, connection, secrets_, tokens)
    config.company_choices = _choices(accounts)
    _set_config(connection, config)
    if connection.external_account_id is not None:  # a reconnect: same account, same projects
        if str(connection.external_account_id) not in {a.id for a in accounts}:
            raise BadRequest(_message(spec, flow, "wrong_account") or "", code=f"{provider}_wrong_company")
        connection.status = ConnectionStatus.connected
        connection.status_reason = None
    return connection


async def choose_accounts(
    session: AsyncSession,
    settings: Settings,
    company_id: int,
    connection_id: int,
    account_ids: Sequence[str | int],
) -> list[Connection]:
    """Bind the pending connection to the picked account (service accounts may pick several:
    one connection each). Re-connecting a known account reuses its connection."""
    repo = ConnectionRepository.from_session(session)
    pending = await get_connection(session, company_id, connection_id)
    spec, flow = flow_of(pending.provider)
    config = _config(pending)
    names: dict[str, str] = {str(c["id"]): str(c["name"]) for c in config.company_choices}
    picked = list(dict.fromkeys(str(i) for i in account_ids))
    if pending.status != ConnectionStatus.pending or not names:
        raise Conflict(
            f"This connection is not waiting for a {flow.account_noun} choice.", code="not_pending"
        )
    unknown = [i for i in picked if i not in names]
    if unknown:
        raise Unprocessable(
            f"{_noun(flow)} {unknown[0][:40]} is not one this sign-in can reach.", code="unknown_company"
        )
    if len(picked) > 1 and config.mode is AuthMode.authorization_code:
        raise Unprocessable(
            f"Pick one {flow.account_noun} per sign-in (each needs its own {spec.display_name} token). "
            "Connect again for the next one.",
            code="one_company_per_sign_in",
        )
    existing = {str(c.external_account_id): c for c in await repo.list(company_id, pending.provider)}
    config.company_choices = []
    out: list[Connection] = []
    for index, account in enumerate(picked):
        target = existing.get(account)
        if target is None:
            target = pending if index == 0 else await repo.add(_sibling(pending))
        elif index == 0:
            pending.status = ConnectionStatus.disconnected  # folded into the known connection below
        target.config = {
            **config.model_dump(mode="json"),
            **{key: target.config.get(key) for key in flow.account_keys},
        }
        if target is not pending:
            target.sealed_credentials = pending.sealed_credentials
            target.token_expires_at = pending.token_expires_at if index == 0 else None
            target.credentials_version += 1
        target.external_account_id = account
        target.label = f"{spec.display_name} · {names[account]}"
        target.status = ConnectionStatus.connected
        target.status_reason = None
        out.append(target)
    if pending.status == ConnectionStatus.disconnected:
        await repo.delete(pending)
    await session.flush()
    return out


def _sibling(pending: Connection) -> Connection:
    """Another service-account connection with the same app credentials (tokens fetched on use)."""
    return Connection(
        company_id=pending.company_id,
        provider=pending.provider,
        environment=pending.environment,
        label=pending.label,
        status=ConnectionStatus.pending,
        config=dict(pending.config),
        sealed_credentials=pending.sealed_credentials,
    )


async def disconnect(
    session: AsyncSession, settings: Settings, http: HttpClients, company_id: int, connection_id: int
) -> str | None:
    """Revoke the tokens at the provider and forget them; projects and history stay. Returns a
    warning when the provider could not confirm the revocation (the tokens are forgotten anyway)."""
    connection = await get_connection(session, company_id, connection_id)
    spec, flow = flow_of(connection.provider)
    box = box_of(settings)
    warning = None
    if connection.sealed_credentials:
        secrets_ = OAuthSecrets.open(box, connection.sealed_credentials)
        access = secrets_.access_token.get_secret_value() if secrets_.access_token else None
        await flow.on_disconnect(http, connection, access)
        try:
            await oauth.revoke(http, flow.oauth(connection.config), _config(connection).client_id, secrets_)
        except oauth.ProviderError as exc:
            name, problem = spec.display_name, _problem(spec, flow, exc, connection.config)
            warning = (
                f"{name} did not confirm the revocation ({problem.message}); "
                f"revoke the app's access in {name} too."
            )
            log.warning("connection.revoke_failed", connection_id=connection.id, error=exc.message)
        secrets_.access_token = secrets_.refresh_token = secrets_.code_verifier = None
        connection.sealed_credentials = secrets_.seal(box)
    connection.config = {**connection.config, **dict.fromkeys(flow.account_keys)}
    connection.status = ConnectionStatus.disconnected
    connection.status_reason = "Disconnected by an admin; tokens revoked."
    connection.token_expires_at = None
    connection.credentials_version += 1
    return warning


def health(connection: Connection) -> dict[str, Any]:
    """What the banner and the Integrations card show."""
    labels = {
        ConnectionStatus.connected: "Connected",
        ConnectionStatus.pending: "Finish connecting",
        ConnectionStatus.needs_reconnect: "Needs reconnect",
        ConnectionStatus.disconnected: "Disconnected",
    }
    return {
        "status": connection.status,
        "status_label": labels.get(ConnectionStatus(connection.status), str(connection.status)),
        "reason": connection.status_reason,
        "ok": connection.status == ConnectionStatus.connected,
    }
