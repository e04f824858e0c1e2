"""How an admin connects ACC, as the shared lifecycle's `ConnectFlow`: APS production or the
offline ACC sandbox, the APS endpoints, the hub picker (`GET /project/v1/hubs`: ACC and BIM 360
hubs are accounts; their `b.` ids become ACC account ids) and Autodesk-worded messages.
The project picker is the project sync (`projects.py`): its projects map to safety sites."""

from collections.abc import Mapping
from typing import Any

import httpx

from fieldbridge.connections.connector import Account, ConnectFlow, EnvironmentOption
from fieldbridge.connectors.acc.config import AccConfig
from fieldbridge.connectors.acc.errors import AccError, AccUnavailable, raise_for
from fieldbridge.connectors.acc.oauth import endpoints
from fieldbridge.connectors.acc.provider import Environment, acc_id
from fieldbridge.kit.http import HttpClients

ACC_HUB = "hubs:autodesk.bim360:Account"  # ACC and BIM 360 accounts (not Fusion or A360 hubs)

MESSAGES = {
    "access_denied": "You declined access on Autodesk's page, so nothing was connected. "
    "Click Connect to try again.",
    "invalid_grant": "Autodesk's authorization code expired (they live 5 minutes) or was already used. "
    "Click Connect to start again.",
    "invalid_client": "Autodesk rejected the client id or secret. Copy both again from your APS app "
    "(aps.autodesk.com → My Apps) and retry.",
    "not_authorized": "Autodesk did not authorize this app (no code came back). Click Connect to try again.",
    "wrong_account": "The Autodesk user you signed in with cannot reach this connection's ACC account. "
    "Sign in as a member of that account.",
}


def hubs_of(body: Any) -> list[dict[str, Any]]:
    """The ACC hubs of a `GET /project/v1/hubs` answer as `[{id, dm_id, name, region}]`."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise AccError("Autodesk's hub list was not a JSON:API list.")
    hubs = []
    for hub in body["data"]:
        attributes = hub.get("attributes") or {}
        kind = (attributes.get("extension") or {}).get("type")
        if kind not in (None, ACC_HUB):
            continue
        hubs.append(
            {
                "id": acc_id(str(hub["id"])),
                "dm_id": str(hub["id"]),
                "name": str(attributes.get("name") or hub["id"]),
                "region": str(attributes.get("region") or "US"),
            }
        )
    return hubs


async def list_accounts(
    http: HttpClients, config: Mapping[str, Any], access_token: str, hint: str | None
) -> list[Account]:
    """The ACC accounts (hubs) the token reaches; ids without the `b.` prefix."""
    settings = AccConfig.model_validate(config)
    hosts = settings.hosts()
    headers = {"Authorization": f"Bearer {access_token}"}  # hubs of every region
    try:
        async with http.client(base_url=hosts.base, emulator=hosts.emulator) as client:
            response = await client.get("/project/v1/hubs", headers=headers)
    except httpx.TransportError as exc:
        raise AccUnavailable("Autodesk cannot be reached; try again shortly.") from exc
    raise_for(response)
    return [Account(id=h["id"], name=h["name"]) for h in hubs_of(response.json())]


FLOW = ConnectFlow(
    oauth=endpoints,
    api_base=lambda config: AccConfig.model_validate(config).hosts().base,
    list_accounts=list_accounts,
    config_model=AccConfig,
    environments=(
        EnvironmentOption(Environment.production.value, "Autodesk (production: developer.api.autodesk.com)"),
        EnvironmentOption(
            Environment.offline_sandbox.value,
            "Offline ACC sandbox (FieldBridge's emulator, any URL)",
            emulator=True,
        ),
    ),
    account_noun="ACC account (hub)",
    account_field="hub_id",
    account_keys=("webhook_hooks", "webhook_secret", "reconciled_through"),
    messages=MESSAGES,
)
