"""Connect a company to the offline Procore sandbox by service account (the sandbox's
published demo app): what `fieldbridge demo` and the benchmarks' rigs do before any work."""

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections import service as connections
from fieldbridge.connections.credentials import AuthMode
from fieldbridge.connections.models import Connection
from fieldbridge.connections.schemas import ConnectIn
from fieldbridge.connectors.procore.provider import PROCORE, Environment
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings


async def connect_offline_sandbox(
    session: AsyncSession,
    settings: Settings,
    http: HttpClients,
    company_id: int,
    sandbox_url: str,
    procore_company_id: int | str,
) -> Connection:
    """A connected service-account connection of `company_id` to one sandbox company (its id
    as the sandbox gives it, a number, or as FieldBridge keeps it, a string)."""
    procore_id = str(procore_company_id)
    from fieldbridge_sandbox.seeds import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    pending, _ = await connections.start_connect(
        session,
        settings,
        http,
        company_id,
        ConnectIn(
            provider=PROCORE.name,
            environment=Environment.offline_sandbox,
            offline_url=sandbox_url,
            mode=AuthMode.client_credentials,
            client_id=DEMO_CLIENT_ID,
            client_secret=SecretStr(DEMO_CLIENT_SECRET),
            account_id=procore_id,
        ),
    )
    (connection,) = await connections.choose_accounts(session, settings, company_id, pending.id, [procore_id])
    return connection
