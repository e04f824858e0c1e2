"""Rules of connections: connect (authorization code or service account), pick the Procore
company, reconnect, disconnect. Functions take a session and never commit."""

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.connections.schemas import OAuthCallbackIn, ProcoreConnectIn
from fieldbridge.connectors.procore import oauth
from fieldbridge.connectors.procore.config import AuthMode, ProcoreConfig, ProcoreSecrets
from fieldbridge.connectors.procore.discovery import list_companies
from fieldbridge.connectors.procore.errors import ProcoreError, Retriable
from fieldbridge.connectors.procore.oauth import TokenRejected
from fieldbridge.connectors.procore.provider import PROCORE, Environment
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox, token_digest
from fieldbridge.kit.errors import BadRequest, Conflict, NotFound, Unprocessable
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger
from fieldbridge.kit.netguard import EgressRefused
from fieldbridge.settings import Settings

log = get_logger("fieldbridge.connections")
PROVIDER = "procore"
CALLBACK_PATH = "/settings/integrations/procore/callback"

OAUTH_ERRORS = {
    "access_denied": "You declined access on Procore's page, so nothing was connected. "
    "Click Connect to try again.",
    "invalid_grant": "Procore's authorization code expired or was already used. "
    "Click Connect to start again.",
    "invalid_client": "Procore rejected the client id or client secret. Copy both again from Procore's "
    "Developer Portal (the app's OAuth credentials) and retry.",
    "unauthorized_client": "This Procore app is not allowed to use a service account. Use 'Sign in with "
    "Procore' instead, or enable the Developer Managed Service Account in Procore.",
}


def redirect_uri(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + CALLBACK_PATH


def box_of(settings: Settings) -> SecretBox:
    return SecretBox(settings.secret)


def procore_config(connection: Connection) -> ProcoreConfig:
    return ProcoreConfig.model_validate(connection.config)


def _set_config(connection: Connection, config: ProcoreConfig) -> None:
    connection.config = config.model_dump(mode="json")


def _refused(exc: BaseException) -> EgressRefused | None:
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, EgressRefused):
        seen = seen.__cause__ or seen.__context__
    return seen


def _problem(exc: ProcoreError, config: ProcoreConfig) -> BadRequest:
    """What the admin is told: one message per class of failure, naming only the host they
    chose. Never the remote side's text (a body would echo whatever the URL serves, and
    distinct errors would make connecting a port scanner)."""
    host = urlsplit(config.hosts().api_base).netloc
    refused = _refused(exc)
    if refused is not None:
        return BadRequest(
            f"Refused: {host} is a {refused.reason}; FieldBridge only calls public addresses.",
            code="procore_address_refused",
        )
    code = str(getattr(exc, "code", "") or "")
    if code in OAUTH_ERRORS:
        return BadRequest(OAUTH_ERRORS[code], code=f"procore_{code}")
    if isinstance(exc, TokenRejected):
        return BadRequest(
            f"{host} refused the app's credentials. Check the client id and secret and try again.",
            code="procore_token_refused",
        )
    if isinstance(exc, Retriable):
        return BadRequest(
            f"Could not reach {host}; check the URL and try again shortly.", code="procore_unreachable"
        )
    status = f" (HTTP {exc.status})" if exc.status else ""
    return BadRequest(
        f"{host} refused the request{status}. Check that the app is installed in the Procore "
        "company and has the permissions it needs.",
        code="procore_refused",
    )


async def _check_offline_url(settings: Settings, http: HttpClients, config: ProcoreConfig) -> None:
    """The offline sandbox is for test servers: refused unless FIELDBRIDGE_ALLOW_OFFLINE_SANDBOX
    allows it, and its URL must be a public address or loopback."""
    if config.environment is not Environment.offline_sandbox:
        return
    if not settings.offline_sandbox_allowed:
        raise Unprocessable(
            "The offline sandbox is turned off on this server. Connect Procore production or "
            "Procore's developer sandbox (or, on a test server, set FIELDBRIDGE_ALLOW_OFFLINE_SANDBOX=true).",
            code="offline_sandbox_disabled",
        )
    hosts = config.hosts()
    try:
        await http.check_destination(hosts.api_base, emulator=hosts.emulator)
    except EgressRefused as exc:
        raise Unprocessable(
            f"offline_url: refused: {exc.host} is a {exc.reason}; use a public address or 127.0.0.1.",
            code="procore_address_refused",
        ) from exc
    except httpx.TransportError as exc:
        raise Unprocessable(
            f"offline_url: could not resolve {urlsplit(hosts.api_base).hostname}; check the URL.",
            code="procore_unreachable",
        ) from exc


async def get_connection(session: AsyncSession, company_id: int, connection_id: int) -> Connection:
    connection = await ConnectionRepository.from_session(session).get(company_id, connection_id)
    if connection is None:
        raise NotFound("No such connection in this company.")
    return connection


async def list_connections(session: AsyncSession, company_id: int) -> Sequence[Connection]:
    return await ConnectionRepository.from_session(session).list(company_id, PROVIDER)


def _begin_authorization(
    settings: Settings, box: SecretBox, connection: Connection, secrets_: ProcoreSecrets
) -> str:
    config = procore_config(connection)
    state = oauth.new_state()
    verifier = oauth.new_code_verifier()
    config.oauth_state_digest = token_digest(state)
    _set_config(connection, config)
    secrets_.code_verifier = SecretStr(verifier)
    connection.sealed_credentials = secrets_.seal(box)
    return oauth.authorization_url(config, redirect_uri(settings), state, verifier)


async def start_connect(
    session: AsyncSession, settings: Settings, http: HttpClients, company_id: int, data: ProcoreConnectIn
) -> tuple[Connection, str | None]:
    """A pending connection, and the Procore URL to send the admin to (None for service accounts,
    whose company choices are ready at once)."""
    box = box_of(settings)
    config = ProcoreConfig(
        environment=data.environment, offline_url=data.offline_url, mode=data.mode, client_id=data.client_id
    )
    try:
        config.hosts()
    except ValueError as exc:
        raise Unprocessable(f"offline_url: {exc}") from exc
    await _check_offline_url(settings, http, config)
    secrets_ = ProcoreSecrets(client_secret=data.client_secret)
    connection = Connection(
        company_id=company_id,
        provider=PROVIDER,
        environment=data.environment.value,
        label="Procore (connecting)",
        status=ConnectionStatus.pending,
        config=config.model_dump(mode="json"),
        sealed_credentials=secrets_.seal(box),
    )
    await ConnectionRepository.from_session(session).add(connection)
    if data.mode is AuthMode.authorization_code:
        return connection, _begin_authorization(settings, box, connection, secrets_)
    try:
        tokens = await oauth.fetch_new_token(http, config, secrets_)
        choices = await list_companies(http, config, tokens.access_token, data.procore_company_id)
    except ProcoreError as exc:
        raise _problem(exc, config) from exc
    _store_tokens(box, connection, secrets_, tokens)
    config.company_choices = choices
    _set_config(connection, config)
    return connection, None


async def start_reconnect(
    session: AsyncSession, settings: Settings, http: HttpClients, company_id: int, connection_id: int
) -> str | None:
    """Authorization code: the Procore URL to send the admin to (the connection keeps its
    projects). Service account: fetches a fresh token now, checks with it that Procore lists the
    connection's company (a call that proves the token works), and returns None."""
    connection = await get_connection(session, company_id, connection_id)
    box = box_of(settings)
    secrets_ = ProcoreSecrets.open(box, connection.sealed_credentials)
    config = procore_config(connection)
    if config.mode is AuthMode.authorization_code:
        return _begin_authorization(settings, box, connection, secrets_)
    try:
        tokens = await oauth.fetch_new_token(http, config, secrets_)
        company = connection.external_account_id
        reachable = await list_companies(http, config, tokens.access_token, company) if company else []
    except ProcoreError as exc:
        raise _problem(exc, config) from exc
    if company is not None and company not in {c["id"] for c in reachable}:
        raise BadRequest(
            "Procore issued a token, but the service account cannot reach this connection's company "
            f"(#{company}). In Procore, check that the app is installed in that company, then reconnect.",
            code="procore_wrong_company",
        )
    _store_tokens(box, connection, secrets_, tokens)
    if company is not None:
        connection.status, connection.status_reason = ConnectionStatus.connected, None
    return None


def _store_tokens(
    box: SecretBox, connection: Connection, secrets_: ProcoreSecrets, tokens: oauth.TokenSet
) -> None:
    secrets_.access_token = SecretStr(tokens.access_token)
    secrets_.refresh_token = SecretStr(tokens.refresh_token) if tokens.refresh_token else None
    secrets_.code_verifier = None
    connection.sealed_credentials = secrets_.seal(box)
    connection.token_expires_at = tokens.expires_at
    connection.credentials_version += 1
    connection.last_success_at = utcnow()


async def _pending_by_state(session: AsyncSession, company_id: int, state: str) -> Connection:
    digest = token_digest(state)
    for connection in await list_connections(session, company_id):
        if connection.config.get("oauth_state_digest") == digest:
            return connection
    raise BadRequest(
        "This sign-in answer does not match a Connect started here (wrong or reused state). "
        "Click Connect again.",
        code="oauth_state_mismatch",
    )


async def finish_authorization(
    session: AsyncSession, settings: Settings, http: HttpClients, company_id: int, data: OAuthCallbackIn
) -> Connection:
    """Procore sent the admin back: check `state`, exchange the code, list the companies."""
    connection = await _pending_by_state(session, company_id, data.state)
    box = box_of(settings)
    config = procore_config(connection)
    config.oauth_state_digest = None
    _set_config(connection, config)
    if data.error or not data.code:
        known = data.error if data.error in OAUTH_ERRORS else None
        message = OAUTH_ERRORS.get(
            known or "", "Procore did not authorize this app (no code came back). Click Connect to try again."
        )
        raise BadRequest(message, code=f"procore_{known or 'not_authorized'}")
    secrets_ = ProcoreSecrets.open(box, connection.sealed_credentials)
    try:
        tokens = await oauth.exchange_code(http, config, secrets_, data.code, redirect_uri(settings))
        choices = await list_companies(http, config, tokens.access_token)
    except ProcoreError as exc:
        raise _problem(exc, config) from exc
    _store_tokens(box, connection, secrets_, tokens)
    config.company_choices = choices
    _set_config(connection, config)
    if connection.external_account_id is not None:  # a reconnect: same company, same projects
        if connection.external_account_id not in {c["id"] for c in choices}:
            raise BadRequest(
                "The Procore user you signed in with cannot reach this connection's company. "
                "Sign in as a user of that company.",
                code="procore_wrong_company",
            )
        connection.status = ConnectionStatus.connected
        connection.status_reason = None
    return connection


async def choose_companies(
    session: AsyncSession,
    settings: Settings,
    company_id: int,
    connection_id: int,
    procore_company_ids: list[str],
) -> list[Connection]:
    """Bind the pending connection to the picked Procore company (service accounts may pick
    several: one connection each). Re-connecting a known company reuses its connection."""
    repo = ConnectionRepository.from_session(session)
    pending = await get_connection(session, company_id, connection_id)
    config = procore_config(pending)
    names: dict[str, str] = {str(c["id"]): str(c["name"]) for c in config.company_choices}
    picked = list(dict.fromkeys(procore_company_ids))
    if pending.status != ConnectionStatus.pending or not names:
        raise Conflict("This connection is not waiting for a company choice.", code="not_pending")
    unknown = [i for i in picked if i not in names]
    if unknown:
        raise Unprocessable(
            f"Procore company {unknown[0]} is not one this sign-in can reach.", code="unknown_company"
        )
    if len(picked) > 1 and config.mode is AuthMode.authorization_code:
        raise Unprocessable(
            "Pick one company per sign-in (each needs its own Procore token). "
            "Connect again for the next one.",
            code="one_company_per_sign_in",
        )
    existing = {c.external_account_id: c for c in await repo.list(company_id, PROVIDER)}
    config.company_choices = []
    out: list[Connection] = []
    for index, procore_id in enumerate(picked):
        target = existing.get(procore_id)
        if target is None:
            target = pending if index == 0 else await repo.add(_sibling(pending))
        elif index == 0:
            pending.status = ConnectionStatus.disconnected  # folded into the known connection below
        target.config = {
            **config.model_dump(mode="json"),
            "webhook_hook_id": target.config.get("webhook_hook_id"),
            "webhook_token_digest": target.config.get("webhook_token_digest"),
        }
        if target is not pending:
            target.sealed_credentials = pending.sealed_credentials
            target.token_expires_at = pending.token_expires_at if index == 0 else None
            target.credentials_version += 1
        target.external_account_id = procore_id
        target.label = f"Procore · {names[procore_id]}"
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
        provider=PROVIDER,
        environment=pending.environment,
        label=pending.label,
        status=ConnectionStatus.pending,
        config=dict(pending.config),
        sealed_credentials=pending.sealed_credentials,
    )


async def disconnect(
    session: AsyncSession, settings: Settings, http: HttpClients, company_id: int, connection_id: int
) -> str | None:
    """Revoke the tokens at Procore and forget them; projects and history stay. Returns a warning
    when Procore could not confirm the revocation (the tokens are forgotten anyway)."""
    connection = await get_connection(session, company_id, connection_id)
    box = box_of(settings)
    warning = None
    secrets_: ProcoreSecrets | None = None
    if connection.sealed_credentials:
        secrets_ = ProcoreSecrets.open(box, connection.sealed_credentials)
        await _delete_hook(http, connection, secrets_)
        config = procore_config(connection)
        try:
            await oauth.revoke(http, config, secrets_)
        except ProcoreError as exc:
            warning = (
                f"Procore did not confirm the revocation ({_problem(exc, config).message}); "
                "revoke the app's access in Procore too."
            )
            log.warning("procore.revoke_failed", connection_id=connection.id, error=exc.message)
        secrets_.access_token = secrets_.refresh_token = secrets_.code_verifier = None
        connection.sealed_credentials = secrets_.seal(box)
    connection.config = {**connection.config, "webhook_hook_id": None, "webhook_token_digest": None}
    connection.status = ConnectionStatus.disconnected
    connection.status_reason = "Disconnected by an admin; tokens revoked."
    connection.token_expires_at = None
    connection.credentials_version += 1
    return warning


async def _delete_hook(http: HttpClients, connection: Connection, secrets_: ProcoreSecrets) -> None:
    """Best effort: stop Procore's webhooks before the tokens die (a failure is only logged)."""
    config = procore_config(connection)
    if (
        config.webhook_hook_id is None
        or secrets_.access_token is None
        or connection.external_account_id is None
    ):
        return
    headers = {
        "Authorization": f"Bearer {secrets_.access_token.get_secret_value()}",
        PROCORE.company_header: str(connection.external_account_id),
    }
    try:
        hosts = config.hosts()
        async with http.client(base_url=hosts.api_base, emulator=hosts.emulator) as client:
            response = await client.delete(
                f"/rest/v1.0/webhooks/hooks/{config.webhook_hook_id}",
                params={"company_id": connection.external_account_id},
                headers=headers,
            )
        if response.status_code >= 400:
            log.warning(
                "procore.hook_delete_refused", connection_id=connection.id, status=response.status_code
            )
    except httpx.TransportError as exc:
        log.warning("procore.hook_delete_failed", connection_id=connection.id, error=str(exc))


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
