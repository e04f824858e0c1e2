"""Provider facts as data: hosts per environment, token endpoints, headers, page sizes.

Three environments: Procore production, Procore's developer sandbox, and the offline
sandbox (`fieldbridge_sandbox`) at any URL the admin gives. Nothing else in the connector
hard-codes a Procore host.
"""

from enum import StrEnum

from pydantic import BaseModel, HttpUrl

from fieldbridge.kit.ratelimit import RateLimitPolicy, Window


class Environment(StrEnum):
    production = "production"
    developer_sandbox = "developer_sandbox"
    offline_sandbox = "offline_sandbox"


class Hosts(BaseModel):
    auth_base: str  # where /oauth/authorize, /oauth/token and /oauth/revoke live
    api_base: str  # where /rest/v1.0/... lives
    # A local emulator (the offline sandbox): may sit on loopback, and only where the server
    # allows it (FIELDBRIDGE_ALLOW_OFFLINE_SANDBOX; `kit.http.HttpClients`).
    emulator: bool = False


class ProviderRecord(BaseModel):
    name: str = "procore"
    display_name: str = "Procore"
    hosts: dict[Environment, Hosts]
    authorize_path: str = "/oauth/authorize"
    token_path: str = "/oauth/token"
    revoke_path: str = "/oauth/revoke"
    company_header: str = "Procore-Company-Id"
    # Refresh this long before `expires_in` runs out (tokens live 5,400 s).
    refresh_margin_seconds: int = 900
    # Procore honours `code_challenge`; unknown parameters are ignored by hosts that do not.
    pkce: bool = True
    max_per_page: int = 2000  # Procore: "keep per_page at or below 2,000"
    webhook_api_version: str = "v2"
    # Resources mirrored by project sync, as Procore's webhook resource names.
    webhook_resources: tuple[str, ...] = (
        "Projects",
        "Cost Codes",
        "Line Item Types",
        "Sub Jobs",
        "Budget Line Items",
        "Locations",
        "Company Users",  # people; Project Users update events stop in 2026
        "Incidents",  # two-way incidents (connectors/procore/incidents.py)
        "Injuries",
    )
    # Resources whose trigger Procore may refuse (not in the published resource list we have):
    # a refusal is logged and the others still register; the reconcile pass covers them.
    optional_webhook_resources: tuple[str, ...] = ("Injuries",)


PROCORE = ProviderRecord(
    hosts={
        Environment.production: Hosts(
            auth_base="https://login.procore.com", api_base="https://api.procore.com"
        ),
        Environment.developer_sandbox: Hosts(
            auth_base="https://login-sandbox.procore.com", api_base="https://sandbox.procore.com"
        ),
    }
)


# Procore enforces an hourly and a 10-second spike limit at once; the X-Rate-Limit-* headers
# report whichever is nearer (Reset in Unix seconds). A 429 carries Retry-After or only the
# reset; a 503 under platform load carries Retry-After.
RATE_LIMIT = RateLimitPolicy(
    limit_header="x-rate-limit-limit",
    remaining_header="x-rate-limit-remaining",
    reset_header="x-rate-limit-reset",
    windows=(Window("spike", 10), Window("hourly", 3600)),
)


def hosts_for(environment: Environment, offline_url: str | None = None) -> Hosts:
    """The hosts of an environment; the offline sandbox serves OAuth and REST on one URL."""
    if environment is Environment.offline_sandbox:
        if not offline_url:
            raise ValueError("The offline sandbox needs its URL (for example http://127.0.0.1:8001).")
        base = str(HttpUrl(offline_url)).rstrip("/")
        return Hosts(auth_base=base, api_base=base, emulator=True)
    return PROCORE.hosts[environment]
