"""Connect a company to the offline ACC sandbox without a browser: the sandbox's demo app, its
consent page answered as one of its users over HTTP, the callback finished through the shared
lifecycle, and one hub chosen. What the benchmark and the demo do before any work; the browser
test does the same through the real pages."""

import re
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import SecretStr

from fieldbridge.connections import service as connections
from fieldbridge.connections.models import Connection
from fieldbridge.connections.schemas import ConnectIn, OAuthCallbackIn
from fieldbridge.connectors.acc.provider import NAME, Environment
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings


async def consent(sandbox_url: str, authorize_url: str, user_name: str) -> dict[str, str]:
    """Answer the sandbox's consent page as `user_name`; the callback's query (code, state)."""
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=30) as sandbox:
        page = await sandbox.get(authorize_url)
        page.raise_for_status()
        picked = re.search(r'value="([^"]+)"[^>]*>\s*' + re.escape(user_name), page.text)
        if picked is None:
            raise LookupError(f"the sandbox's consent page offers no user {user_name!r}")
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        answer = await sandbox.post(
            "/_sandbox/oauth/consent",
            data={**query, **hidden, "user_id": picked.group(1), "decision": "approve"},
        )
    location = answer.headers.get("location", "")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def connect_offline_sandbox(
    db: Database,
    settings: Settings,
    http: HttpClients,
    company_id: int,
    sandbox_url: str,
    *,
    hub_name: str = "Northwind Builders",
    user_name: str = "Avery Admin",
) -> Connection:
    from fieldbridge_sandbox_acc.seeds import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    async with db.transaction() as session:
        _pending, url = await connections.start_connect(
            session,
            settings,
            http,
            company_id,
            ConnectIn(
                provider=NAME,
                environment=Environment.offline_sandbox,
                offline_url=sandbox_url,
                client_id=DEMO_CLIENT_ID,
                client_secret=SecretStr(DEMO_CLIENT_SECRET),
            ),
        )
    assert url is not None
    answer = await consent(sandbox_url, url, user_name)
    async with db.transaction() as session:
        done = await connections.finish_authorization(
            session, settings, http, company_id, OAuthCallbackIn.model_validate(answer), NAME
        )
        choice = next(c for c in done.config.get("company_choices", []) if c.get("name") == hub_name)
        (connection,) = await connections.choose_accounts(
            session, settings, company_id, done.id, [str(choice["id"])]
        )
        return connection
