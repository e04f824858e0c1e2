"""Procore's OAuth endpoints as data for the shared OAuth client (`connections.oauth`) and
token manager (`connections.tokens`): authorization code with `state` and PKCE S256, service
accounts (client credentials), single-use refresh tokens, revocation. Failures arrive as
Procore's error classes (`errors.AUTH_ERRORS`)."""

from collections.abc import Mapping
from typing import Any

from fieldbridge.connections.models import Connection
from fieldbridge.connections.oauth import OAuthProvider
from fieldbridge.connections.tokens import TokenManager
from fieldbridge.connectors.procore.config import ProcoreConfig
from fieldbridge.connectors.procore.errors import AUTH_ERRORS
from fieldbridge.connectors.procore.provider import PROCORE
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients


def endpoints(config: Mapping[str, Any]) -> OAuthProvider:
    """The endpoints of the connection's environment (the offline sandbox: at its URL)."""
    hosts = ProcoreConfig.model_validate(config).hosts()
    return OAuthProvider(
        name=PROCORE.display_name,
        authorize_url=hosts.auth_base + PROCORE.authorize_path,
        token_url=hosts.auth_base + PROCORE.token_path,
        revoke_url=hosts.auth_base + PROCORE.revoke_path,
        client_auth_method="client_secret_post",
        pkce=PROCORE.pkce,
        emulator=hosts.emulator,
        refresh_margin_seconds=PROCORE.refresh_margin_seconds,
        errors=AUTH_ERRORS,
    )


def connection_endpoints(connection: Connection) -> OAuthProvider:
    return endpoints(connection.config)


def token_manager(db: Database, http: HttpClients, box: SecretBox, connection_id: int) -> TokenManager:
    """The shared single-flight token manager, for a Procore connection."""
    return TokenManager(
        db, http, box, connection_id, connection_endpoints, errors=AUTH_ERRORS, name=PROCORE.display_name
    )
