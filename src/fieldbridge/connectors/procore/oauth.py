"""OAuth 2.0 with Procore through authlib's httpx integration (no hand-written flows).

Authorization code (with `state` and PKCE S256), client credentials (service accounts),
refresh (single-use refresh tokens: the caller must store the new one before using it, see
`tokens.py`), and revocation. Failures become `errors.py` classes:

- the token endpoint said no (`invalid_grant`, `invalid_client`, ...) -> `TokenRejected`
- the request may have reached Procore but the answer was lost -> `TokenResponseLost`
- Procore down / 5xx / nothing sent -> `ProcoreUnavailable`
"""

import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import authlib.deprecate  # noqa: F401  (installs its "always" filter before ours below)
import httpx

with warnings.catch_warnings():
    # authlib 1.9 prefers the `httpx2` fork and warns when it falls back to httpx (which we use).
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from fieldbridge.connectors.procore.config import AuthMode, ProcoreConfig, ProcoreSecrets
from fieldbridge.connectors.procore.errors import ProcoreError, ProcoreUnavailable
from fieldbridge.connectors.procore.provider import PROCORE
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.http import HttpClients


class TokenRejected(ProcoreError):
    """Procore's token endpoint refused (`.code` is the OAuth error, e.g. invalid_grant)."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.code = code


class TokenResponseLost(ProcoreError):
    """The token request may have been processed, but its response never arrived."""


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
    http: HttpClients, config: ProcoreConfig, secrets_: ProcoreSecrets, **kw: Any
) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=config.client_id,
        client_secret=secrets_.client_secret.get_secret_value(),
        token_endpoint_auth_method="client_secret_post",
        revocation_endpoint_auth_method="client_secret_post",
        code_challenge_method="S256" if PROCORE.pkce else None,
        transport=http.transport_for(emulator=config.hosts().emulator),
        timeout=http.timeout,
        **kw,
    )


def authorization_url(config: ProcoreConfig, redirect_uri: str, state: str, code_verifier: str | None) -> str:
    """Where to send the admin's browser to sign in to Procore and consent."""
    client = AsyncOAuth2Client(
        client_id=config.client_id,
        redirect_uri=redirect_uri,
        code_challenge_method="S256" if PROCORE.pkce else None,
    )
    url, _ = client.create_authorization_url(
        config.hosts().auth_base + PROCORE.authorize_path, state=state, code_verifier=code_verifier
    )
    return str(url)


def _token_set(token: dict[str, Any], started: datetime) -> TokenSet:
    expires_in = token.get("expires_in")
    return TokenSet(
        access_token=str(token["access_token"]),
        refresh_token=token.get("refresh_token"),
        # Measured from before the call, so a slow answer never makes us think we have longer.
        expires_at=started + timedelta(seconds=int(expires_in)) if expires_in else None,
    )


async def _call(coro_factory: Any) -> dict[str, Any]:
    try:
        token: dict[str, Any] = await coro_factory()
        return token
    except OAuthError as exc:
        code = str(exc.error or "oauth_error")
        raise TokenRejected(
            code, f"Procore refused the token request: {code} ({exc.description or ''})"
        ) from exc
    except httpx.HTTPStatusError as exc:
        raise ProcoreUnavailable(
            f"Procore's sign-in service answered {exc.response.status_code}; try again shortly.",
            status=exc.response.status_code,
        ) from exc
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ProcoreUnavailable("Procore's sign-in service cannot be reached; try again shortly.") from exc
    except httpx.TransportError as exc:  # sent, answer lost (read timeout, dropped connection)
        raise TokenResponseLost("Procore's answer to the token request was lost.") from exc
    except ValueError as exc:  # not JSON
        raise ProcoreUnavailable("Procore's sign-in service answered with something unreadable.") from exc


async def exchange_code(
    http: HttpClients, config: ProcoreConfig, secrets_: ProcoreSecrets, code: str, redirect_uri: str
) -> TokenSet:
    started = utcnow()
    verifier = secrets_.code_verifier.get_secret_value() if secrets_.code_verifier else None
    async with _client(http, config, secrets_, redirect_uri=redirect_uri) as client:
        kwargs: dict[str, Any] = {"code": code, "grant_type": "authorization_code"}
        if verifier:
            kwargs["code_verifier"] = verifier
        url = config.hosts().auth_base + PROCORE.token_path
        return _token_set(await _call(lambda: client.fetch_token(url, **kwargs)), started)


async def fetch_new_token(http: HttpClients, config: ProcoreConfig, secrets_: ProcoreSecrets) -> TokenSet:
    """A fresh token: the refresh grant (user connections) or client credentials (service accounts)."""
    started = utcnow()
    url = config.hosts().auth_base + PROCORE.token_path
    async with _client(http, config, secrets_) as client:
        if config.mode is AuthMode.client_credentials:
            token = await _call(lambda: client.fetch_token(url, grant_type="client_credentials"))
        else:
            if secrets_.refresh_token is None:
                raise TokenRejected("invalid_grant", "No refresh token is stored for this connection.")
            refresh = secrets_.refresh_token.get_secret_value()
            token = await _call(lambda: client.refresh_token(url, refresh_token=refresh))
            if not token.get("refresh_token"):
                token = {**token, "refresh_token": refresh}  # keep the old one only if none came back
    return _token_set(token, started)


async def revoke(http: HttpClients, config: ProcoreConfig, secrets_: ProcoreSecrets) -> None:
    """Revoke the stored tokens (Procore revokes an access token and its refresh token together)."""
    url = config.hosts().auth_base + PROCORE.revoke_path
    async with _client(http, config, secrets_) as client:
        for token in (secrets_.refresh_token, secrets_.access_token):
            if token is not None:
                try:
                    response = await client.revoke_token(url, token=token.get_secret_value())
                except httpx.TransportError as exc:
                    raise ProcoreUnavailable("Procore's sign-in service cannot be reached.") from exc
                if response.status_code >= 400:
                    raise ProcoreUnavailable(
                        f"Procore did not confirm the revocation ({response.status_code})."
                    )
