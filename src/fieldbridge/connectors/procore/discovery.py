"""Which Procore companies a fresh token reaches (for the company picker)."""

from typing import Any

import httpx

from fieldbridge.connectors.procore.config import ProcoreConfig
from fieldbridge.connectors.procore.errors import ProcoreError, ProcoreUnavailable, classify
from fieldbridge.connectors.procore.provider import PROCORE
from fieldbridge.kit.http import HttpClients


async def list_companies(
    http: HttpClients, config: ProcoreConfig, access_token: str, company_header: str | None = None
) -> list[dict[str, Any]]:
    """`GET /rest/v1.0/companies` as `[{id, name}]` (active companies only).

    User tokens need no company header here; service accounts (DMSA) must send one.
    """
    headers = {"Authorization": f"Bearer {access_token}"}
    if company_header is not None:
        headers[PROCORE.company_header] = str(company_header)
    try:
        hosts = config.hosts()
        async with http.client(base_url=hosts.api_base, emulator=hosts.emulator) as client:
            response = await client.get("/rest/v1.0/companies", headers=headers)
    except httpx.TransportError as exc:
        raise ProcoreUnavailable("Procore cannot be reached; try again shortly.") from exc
    error = classify(response)
    if error is not None:
        raise error
    body = response.json()
    if not isinstance(body, list):
        raise ProcoreError("Procore's company list was not a list.")
    # Ids as FieldBridge keeps them: strings.
    return [{"id": str(int(c["id"])), "name": str(c["name"])} for c in body if c.get("is_active", True)]
