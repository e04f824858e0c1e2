"""OAuth 2.0 for every provider, through authlib's httpx integration (no hand-written flows).

A provider is data (`OAuthProvider`: authorize, token and revoke URLs, scopes, how the client
authenticates, PKCE, its error classes); the calls are the same for all of them:
authorization code with `state` and PKCE S256, client credentials (service accounts), refresh
(single-use rotating refresh tokens: the caller stores the new one before using it, see
`connections.tokens`), and revocation. Failures become provider-neutral classes, or the
provider's subclasses of them (`OAuthProvider.errors`):

- the token endpoint said no (`invalid_grant`, `invalid_client`, ...) -> `TokenRejected`
- the request may have reached the provider but the answer was lost -> `TokenResponseLost`
- the provider is down, answered 5xx, or nothing was sent -> `Unavailable`
- the connection needs an admin (raised by `connections.tokens`) -> `ReconnectRequired`
"""

import secrets
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import authlib.deprecate  # noqa: F401  (installs its "always" filter before ours below)
import httpx

with warnings.catch_warnings():
    # authlib 1.9 prefers the `httpx2` fork and warns when it falls back to httpx (which we use).
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from fieldbridge.connections.credentials import AuthMode, OAuthSecrets
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.http import HttpClients


class ProviderError(Exception):
    """Base of what can go wrong talking to a provider; `.message` is written for a person."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class TokenRejected(ProviderError):
    """The token endpoint refused (`.code` is the OAuth error, e.g. invalid_grant)."""

    def __init__(self, code: str, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message, status=status, body=body)
        self.code = code


class TokenResponseLost(ProviderError):
    """The token request may have been processed, but its response never arrived."""


class Unavailable(ProviderError):
    """Try again later (down, 5xx, unreachable, rate limited); `.retry_after` seconds when known."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ReconnectRequired(ProviderError):
    """The connection needs an admin to reconnect; it has been marked `needs_reconnect`."""

    def __init__(self, message: str, *, connection_id: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.connection_id = connection_id


@dataclass(frozen=True)
class AuthErrors:
    """The classes raised for one provider: the neutral ones, or the provider's subclasses
    (so its own `except` clauses and its delivery error mapping see its hierarchy)."""

    rejected: type[TokenRejected] = TokenRejected
    lost: type[TokenResponseLost] = TokenResponseLost
    unavailable: type[Unavailable] = Unavailable
    reconnect: type[ReconnectRequired] = ReconnectRequired


@dataclass(frozen=True)
class OAuthProvider:
    """One provider's OAuth endpoints as data (for one environment)."""

    name: str  # shown to people: "Procore", "Autodesk"
    authorize_url: str
    token_url: str
    revoke_url: str | None = None
    scopes: tuple[str, ...] = ()
    # How the client proves itself at the token endpoint: client_secret_post | client_secret_basic.
    client_auth_method: str = "client_secret_post"
    pkce: bool = True  # send an S256 code challenge (ignored by servers that do not support it)
    # A local emulator (may sit on loopback where the server allows it; `kit.http.HttpClients`).
    emulator: bool = False
    refresh_margin_seconds: float = 300  # refresh this long before the access token expires
    errors: AuthErrors = field(default_factory=AuthErrors)


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None


def new_state() -> str:
    return secrets.token_urlsafe(32)


def new_code_verifier() -> str:
    return secrets.token_urlsafe(64)


def _client(
    http: HttpClients, provider: OAuthProvider, client_id: str, client_secret: str, **kw: Any
) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=provider.client_auth_method,
        revocation_endpoint_auth_method=provider.client_auth_method,
        code_challenge_method="S256" if provider.pkce else None,
        scope=" ".join(provider.scopes) or None,
        transport=http.transport_for(emulator=provider.emulator),
        timeout=http.timeout,
        **kw,
    )


def authorization_url(
    provider: OAuthProvider, client_id: str, redirect_uri: str, state: str, code_verifier: str | None
) -> str:
    """Where to send the admin's browser to sign in at the provider and consent."""
    client = AsyncOAuth2Client(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=" ".join(provider.scopes) or None,
        code_challenge_method="S256" if provider.pkce else None,
    )
    verifier = code_verifier if provider.pkce else None
    url, _ = client.create_authorization_url(provider.authorize_url, state=state, code_verifier=verifier)
    return str(url)


def _token_set(token: dict[str, Any], started: datetime) -> TokenSet:
    expires_in = token.get("expires_in")
    return TokenSet(
        access_token=str(token["access_token"]),
        refresh_token=token.get("refresh_token"),
        # Measured from before the call, so a slow answer never makes us think we have longer.
        expires_at=started + timedelta(seconds=int(expires_in)) if expires_in else None,
    )


async def _call(provider: OAuthProvider, call: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    errors, name = provider.errors, provider.name
    try:
        token = await call()
    except OAuthError as exc:
        code = str(exc.error or "oauth_error")
        raise errors.rejected(
            code, f"{name} refused the token request: {code} ({exc.description or ''})"
        ) from exc
    except httpx.HTTPStatusError as exc:
        raise errors.unavailable(
            f"{name}'s sign-in service answered {exc.response.status_code}; try again shortly.",
            status=exc.response.status_code,
        ) from exc
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise errors.unavailable(f"{name}'s sign-in service cannot be reached; try again shortly.") from exc
    except httpx.TransportError as exc:  # sent, answer lost (read timeout, dropped connection)
        raise errors.lost(f"{name}'s answer to the token request was lost.") from exc
    except ValueError as exc:  # not JSON
        raise errors.unavailable(f"{name}'s sign-in service answered with something unreadable.") from exc
    if not isinstance(token, dict) or not token.get("access_token"):
        raise errors.unavailable(f"{name}'s sign-in service answered without an access token.")
    return dict(token)


async def exchange_code(
    http: HttpClients,
    provider: OAuthProvider,
    client_id: str,
    secrets_: OAuthSecrets,
    code: str,
    redirect_uri: str,
) -> TokenSet:
    """The authorization code (and the PKCE verifier stored with the pending connection) for tokens."""
    started = utcnow()
    secret = secrets_.client_secret.get_secret_value()
    async with _client(http, provider, client_id, secret, redirect_uri=redirect_uri) as client:
        kwargs: dict[str, Any] = {"code": code, "grant_type": "authorization_code"}
        if secrets_.code_verifier and provider.pkce:
            kwargs["code_verifier"] = secrets_.code_verifier.get_secret_value()
        return _token_set(
            await _call(provider, lambda: client.fetch_token(provider.token_url, **kwargs)), started
        )


async def fetch_new_token(
    http: HttpClients, provider: OAuthProvider, mode: AuthMode, client_id: str, secrets_: OAuthSecrets
) -> TokenSet:
    """A fresh token: the refresh grant (user connections) or client credentials (service accounts).
    A refresh answer without a refresh token keeps the old one (servers that do not rotate)."""
    started = utcnow()
    url = provider.token_url
    async with _client(http, provider, client_id, secrets_.client_secret.get_secret_value()) as client:
        if mode is AuthMode.client_credentials:
            token = await _call(provider, lambda: client.fetch_token(url, grant_type="client_credentials"))
        else:
            if secrets_.refresh_token is None:
                raise provider.errors.rejected(
                    "invalid_grant", "No refresh token is stored for this connection."
                )
            refresh = secrets_.refresh_token.get_secret_value()
            # No `scope` on a refresh (RFC 6749 section 6: omitted means the scope granted); an
            # APS-style token endpoint validates `scope` against single values.
            token = await _call(
                provider, lambda: client.refresh_token(url, refresh_token=refresh, scope=None)
            )
            if not token.get("refresh_token"):
                token = {**token, "refresh_token": refresh}
    return _token_set(token, started)


async def revoke(http: HttpClients, provider: OAuthProvider, client_id: str, secrets_: OAuthSecrets) -> None:
    """Revoke the stored refresh and access tokens (RFC 7009); nothing to do without a revoke URL."""
    if provider.revoke_url is None:
        return
    name = provider.name
    async with _client(http, provider, client_id, secrets_.client_secret.get_secret_value()) as client:
        for token in (secrets_.refresh_token, secrets_.access_token):
            if token is None:
                continue
            try:
                response = await client.revoke_token(provider.revoke_url, token=token.get_secret_value())
            except httpx.TransportError as exc:
                raise provider.errors.unavailable(f"{name}'s sign-in service cannot be reached.") from exc
            if response.status_code >= 400:
                raise provider.errors.unavailable(
                    f"{name} did not confirm the revocation ({response.status_code}).",
                    status=response.status_code,
                )
