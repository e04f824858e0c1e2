"""How an admin connects Procore, as the shared lifecycle's `ConnectFlow`: the environments
(production, Procore's developer sandbox, the offline sandbox at any URL), the endpoints per
environment, the company picker (`GET /rest/v1.0/companies`), the Procore-worded pages and
messages, and the webhook cleanup before a disconnect revokes the tokens."""

from collections.abc import Mapping
from typing import Any

import httpx

from fieldbridge.connections.connector import Account, ConnectFlow, ConnectPages, EnvironmentOption
from fieldbridge.connections.credentials import AuthMode
from fieldbridge.connections.models import Connection
from fieldbridge.connectors.procore.config import ProcoreConfig
from fieldbridge.connectors.procore.discovery import list_companies
from fieldbridge.connectors.procore.oauth import endpoints
from fieldbridge.connectors.procore.provider import PROCORE, Environment
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger

log = get_logger("fieldbridge.procore.connect")

MESSAGES = {
    "access_denied": "You declined access on Procore's page, so nothing was connected. "
    "Click Connect to try again.",
    "invalid_grant": "Procore's authorization code expired or was already used. "
    "Click Connect to start again.",
    "invalid_client": "Procore rejected the client id or client secret. Copy both again from Procore's "
    "Developer Portal (the app's OAuth credentials) and retry.",
    "unauthorized_client": "This Procore app is not allowed to use a service account. Use 'Sign in with "
    "Procore' instead, or enable the Developer Managed Service Account in Procore.",
    "not_authorized": "Procore did not authorize this app (no code came back). Click Connect to try again.",
    "wrong_account": "The Procore user you signed in with cannot reach this connection's company. "
    "Sign in as a user of that company.",
}


async def list_accounts(
    http: HttpClients, config: Mapping[str, Any], access_token: str, hint: str | None
) -> list[Account]:
    """The active companies the token reaches; a service account (DMSA) must name one in the
    company header, so `hint` is the company id it was given."""
    if hint is not None and not hint.isdigit():
        raise ValueError("a Procore company id is a number (the one in Procore's URL)")
    companies = await list_companies(http, ProcoreConfig.model_validate(config), access_token, hint or None)
    return [Account(id=str(c["id"]), name=str(c["name"])) for c in companies]


async def delete_hook(http: HttpClients, connection: Connection, access_token: str | None) -> None:
    """Best effort: stop Procore's webhooks before the tokens die (a failure is only logged)."""
    config = ProcoreConfig.model_validate(connection.config)
    if config.webhook_hook_id is None or access_token is None or connection.external_account_id is None:
        return
    headers = {
        "Authorization": f"Bearer {access_token}",
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


FLOW = ConnectFlow(
    oauth=endpoints,
    api_base=lambda config: ProcoreConfig.model_validate(config).hosts().api_base,
    list_accounts=list_accounts,
    config_model=ProcoreConfig,
    environments=(
        EnvironmentOption(
            Environment.production.value, "Procore (production: login.procore.com / api.procore.com)"
        ),
        EnvironmentOption(
            Environment.developer_sandbox.value, "Procore developer sandbox (login-sandbox.procore.com)"
        ),
        EnvironmentOption(
            Environment.offline_sandbox.value,
            "Offline sandbox (FieldBridge's emulator, any URL)",
            emulator=True,
        ),
    ),
    modes=frozenset({AuthMode.authorization_code, AuthMode.client_credentials}),
    account_noun="Procore company",
    account_field="procore_company_id",
    account_keys=("webhook_hook_id", "webhook_token_digest"),
    messages=MESSAGES,
    pages=ConnectPages(
        connect="procore_connect.html", connection="procore_connection.html", redirect="procore_redirect.html"
    ),
    on_disconnect=delete_hook,
)
