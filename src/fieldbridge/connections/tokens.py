"""Access tokens for one connection, any OAuth provider: cached, refreshed ahead of expiry,
single-flight across tasks and processes.

Rotating refresh tokens are single-use: the old one dies the moment the provider processes the
refresh, even when its answer is lost. So a refresh follows a strict protocol:

1. In-process: one `asyncio.Lock` per `TokenManager`, so concurrent callers of one client
   wait for one refresh instead of starting fifty.
2. Across processes: lock the connection row (`ConnectionRepository.lock_for_job`:
   `SELECT ... FOR UPDATE` on PostgreSQL, the database write lock on SQLite), then
   re-read `credentials_version`. If another process already refreshed, use its token.
3. Take the timestamp, call the token endpoint, seal the new access + refresh token into
   the row, bump `credentials_version`, and COMMIT - only then hand the new token out.
4. Lost answer: ask once more with the same refresh token (it works if the provider never saw
   the first call). `invalid_grant`, a revoked token or a removed app install mark the
   connection `needs_reconnect` with a plain reason, commit, and raise `ReconnectRequired`
   (the provider's subclass, `OAuthProvider.errors.reconnect`). The provider down or
   unreachable raises its `Unavailable` and changes nothing.

Which provider: `endpoints(connection)` gives the `OAuthProvider` for the connection's
environment (a connector's `ConnectFlow.oauth`, bound to the connection's config).
"""

import asyncio
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr

from fieldbridge.connections import oauth
from fieldbridge.connections.credentials import ConnectionConfig, OAuthSecrets
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger

log = get_logger("fieldbridge.connections.tokens")
USABLE_STATUSES = (ConnectionStatus.connected, ConnectionStatus.pending)
Endpoints = Callable[[Connection], oauth.OAuthProvider]

REASONS = {
    "lost": "{name}'s answer to a token refresh was lost, and the refresh token it replaced no longer "
    "works. Nothing is lost: deliveries wait. Reconnect {name} to resume.",
    "invalid_grant": "{name} no longer accepts this connection's refresh token (revoked, or the app "
    "was removed). Nothing is lost: deliveries wait. Reconnect {name} to resume.",
    "invalid_client": "{name} rejected the app's client id or secret. Check them in {name}'s developer "
    "settings, then reconnect.",
}


@dataclass(frozen=True)
class Token:
    value: str
    version: int
    expires_at: datetime | None

    def fresh(self, margin_seconds: float) -> bool:
        return self.expires_at is None or self.expires_at - timedelta(seconds=margin_seconds) > utcnow()


def mark_needs_reconnect(
    connection: Connection, reason: str, errors: oauth.AuthErrors | None = None
) -> oauth.ReconnectRequired:
    """Flip the row (caller commits) and return the error to raise."""
    connection.status = ConnectionStatus.needs_reconnect
    connection.status_reason = reason
    connection.last_error_at = utcnow()
    log.warning(
        "connection.needs_reconnect", connection_id=connection.id, provider=connection.provider, reason=reason
    )
    return (errors or oauth.AuthErrors()).reconnect(reason, connection_id=connection.id)


class TokenManager:
    def __init__(
        self,
        db: Database,
        http: HttpClients,
        box: SecretBox,
        connection_id: int,
        endpoints: Endpoints,
        *,
        errors: oauth.AuthErrors | None = None,
        name: str = "The provider",
        margin_seconds: float | None = None,
    ) -> None:
        self.db = db
        self.http = http
        self.box = box
        self.connection_id = connection_id
        self.endpoints = endpoints
        self.errors = errors or oauth.AuthErrors()  # until the row is read (a removed connection)
        self.name = name
        self.margin = margin_seconds
        self._lock = asyncio.Lock()
        self._token: Token | None = None
        self.refreshes = 0  # refreshes this manager performed (tests, metrics)

    def _unusable(self, connection: Connection | None) -> oauth.ReconnectRequired | None:
        if connection is None:
            return self.errors.reconnect(
                f"This {self.name} connection was removed.", connection_id=self.connection_id
            )
        if connection.status not in USABLE_STATUSES:
            reason = connection.status_reason or (
                f"The {self.name} connection is {connection.status}. Reconnect {self.name}."
            )
            return self.errors.reconnect(reason, connection_id=self.connection_id)
        return None

    def _learn(self, connection: Connection) -> oauth.OAuthProvider:
        provider = self.endpoints(connection)
        self.errors, self.name = provider.errors, provider.name
        if self.margin is None:
            self.margin = provider.refresh_margin_seconds
        return provider

    def _token_of(self, connection: Connection) -> Token:
        secrets_ = OAuthSecrets.open(self.box, connection.sealed_credentials)
        if secrets_.access_token is None:  # e.g. a service account before its first token
            return Token("", connection.credentials_version, datetime.min.replace(tzinfo=UTC))
        return Token(
            secrets_.access_token.get_secret_value(),
            connection.credentials_version,
            connection.token_expires_at,
        )

    async def load(self) -> Token:
        async with self.db.transaction() as session:
            connection = await ConnectionRepository.from_session(session).get_for_job(self.connection_id)
            if connection is not None:
                self._learn(connection)
            problem = self._unusable(connection)
            if problem is not None:
                raise problem
            assert connection is not None
            self._token = self._token_of(connection)
            return self._token

    async def current(self) -> Token:
        """A token good for at least the refresh margin (refreshing first if needed)."""
        token = self._token or await self.load()
        if token.fresh(self.margin or 0):
            return token
        return await self.refresh(token)

    async def refresh(self, stale: Token) -> Token:
        """A token newer than `stale`: someone else's fresh one, or one we refresh now."""
        async with self._lock:
            mine = self._token
            if mine is not None and mine.version > stale.version and mine.fresh(0):
                return mine
            token, failure = await self._refresh_locked(stale)
        if failure is not None:
            raise failure
        assert token is not None
        return token

    async def _refresh_locked(self, stale: Token) -> tuple[Token | None, oauth.ReconnectRequired | None]:
        async with self.db.transaction() as session:
            connection = await ConnectionRepository.from_session(session).lock_for_job(self.connection_id)
            provider = self._learn(connection) if connection is not None else None
            problem = self._unusable(connection)
            if problem is not None:
                return None, problem
            assert connection is not None
            assert provider is not None
            if connection.credentials_version != stale.version:
                stored = self._token_of(connection)
                if stored.fresh(0):
                    self._token = stored  # another caller or process refreshed while we waited
                    return stored, None
            config = ConnectionConfig.model_validate(connection.config)
            secrets_ = OAuthSecrets.open(self.box, connection.sealed_credentials)
            reasons = {key: text.format(name=provider.name) for key, text in REASONS.items()}

            async def fetch() -> oauth.TokenSet:
                return await oauth.fetch_new_token(
                    self.http, provider, config.mode, config.client_id, secrets_
                )

            try:
                try:
                    tokens = await fetch()
                except oauth.TokenResponseLost:
                    log.warning("connection.refresh_answer_lost", connection_id=self.connection_id)
                    try:
                        tokens = await fetch()
                    except oauth.TokenRejected:
                        return None, mark_needs_reconnect(connection, reasons["lost"], self.errors)
            except oauth.TokenResponseLost:
                return None, mark_needs_reconnect(connection, reasons["lost"], self.errors)
            except oauth.TokenRejected as exc:
                reason = reasons.get(exc.code, reasons["invalid_grant"])
                return None, mark_needs_reconnect(connection, reason, self.errors)
            secrets_.access_token = SecretStr(tokens.access_token)
            if tokens.refresh_token:
                secrets_.refresh_token = SecretStr(tokens.refresh_token)
            connection.sealed_credentials = secrets_.seal(self.box)
            connection.token_expires_at = tokens.expires_at
            connection.credentials_version += 1
            connection.last_success_at = utcnow()
            token = Token(tokens.access_token, connection.credentials_version, tokens.expires_at)
        # Committed: the rotated refresh token is stored before the new access token is used.
        self.refreshes += 1
        self._token = token
        log.info("connection.token_refreshed", connection_id=self.connection_id, version=token.version)
        return token, None

    async def mark_reconnect(self, reason: str) -> oauth.ReconnectRequired:
        """Mark the connection `needs_reconnect` (committed) and return the error to raise."""
        async with self.db.transaction() as session:
            connection = await ConnectionRepository.from_session(session).lock_for_job(self.connection_id)
            if connection is None:
                return self.errors.reconnect(
                    f"This {self.name} connection was removed.", connection_id=self.connection_id
                )
            return mark_needs_reconnect(connection, reason, self.errors)


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer` from a `TokenManager`; on a 401, one refresh and one retry.
    Any OAuth connector's client can use it (a connector may also keep its own)."""

    requires_request_body = True

    def __init__(self, tokens: TokenManager) -> None:
        self.tokens = tokens

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.tokens.current()
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code == 401:
            token = await self.tokens.refresh(token)
            request.headers["Authorization"] = f"Bearer {token.value}"
            yield request
