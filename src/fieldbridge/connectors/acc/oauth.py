"""APS OAuth v2 as data for the shared OAuth client and token manager: 3-legged authorization
code with `state` and PKCE S256, rotating refresh tokens (each refresh returns a new one, the
old one dies; `connections.tokens` stores it before use, single-flight), revocation, and Basic
client authentication at the token endpoint (APS: "Traditional Web Apps ... should use the
Authorization header with Basic Authentication")."""

from collections.abc import Mapping
from typing import Any

from fieldbridge.connections.models import Connection
from fieldbridge.connections.oauth import OAuthProvider
from fieldbridge.connections.tokens import TokenManager
from fieldbridge.connectors.acc import provider as aps
from fieldbridge.connectors.acc.config import AccConfig
from fieldbridge.connectors.acc.errors import AUTH_ERRORS
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients


def endpoints(config: Mapping[str, Any]) -> OAuthProvider:
    hosts = AccConfig.model_validate(config).hosts()
    return OAuthProvider(
        name=aps.OAUTH_NAME,
        authorize_url=hosts.base + aps.AUTHORIZE_PATH,
        token_url=hosts.base + aps.TOKEN_PATH,
        revoke_url=hosts.base + aps.REVOKE_PATH,
        scopes=aps.SCOPES,
        client_auth_method="client_secret_basic",
        pkce=True,
        emulator=hosts.emulator,
        refresh_margin_seconds=aps.REFRESH_MARGIN_SECONDS,
        errors=AUTH_ERRORS,
    )


def token_manager(db: Database, http: HttpClients, box: SecretBox, connection_id: int) -> TokenManager:
    def of(connection: Connection) -> OAuthProvider:
        return endpoints(connection.config)

    return TokenManager(db, http, box, connection_id, of, errors=AUTH_ERRORS, name=aps.OAUTH_NAME)
