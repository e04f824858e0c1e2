"""Autodesk facts as data: hosts per environment, OAuth paths and scopes, regions, the `b.`
prefix between Data Management and ACC ids, and the rate-limit policy.

Two environments: Autodesk's production APS host, and the offline ACC sandbox
(`fieldbridge sandbox acc`) at any URL the admin gives (a local emulator, allowed only where
the server allows emulators). Nothing else in the connector names an Autodesk host.
"""

from enum import StrEnum

from pydantic import BaseModel, HttpUrl

from fieldbridge.kit.ratelimit import RateLimitPolicy, Window

NAME = "acc"
DISPLAY_NAME = "Autodesk Construction Cloud"
OAUTH_NAME = "Autodesk"
AUTHORIZE_PATH = "/authentication/v2/authorize"
TOKEN_PATH = "/authentication/v2/token"
REVOKE_PATH = "/authentication/v2/revoke"
SCOPES = ("data:read", "data:write", "account:read")
# Access tokens live 60 minutes; refresh a little ahead. Refresh tokens rotate (single use).
REFRESH_MARGIN_SECONDS = 300
REGION_HEADER = "x-ads-region"
ISSUES_BASE = "/construction/issues/v1/projects"
FORMS_BASE = "/construction/forms/v1/projects"
WEBHOOK_SYSTEM = "autodesk.construction.issues"
HUB_PREFIX = "b."


class Environment(StrEnum):
    production = "production"
    offline_sandbox = "offline_sandbox"


class Region(StrEnum):
    """`x-ads-region` values (Issues.yaml `components/schemas/region`)."""

    US = "US"
    EMEA = "EMEA"
    AUS = "AUS"
    CAN = "CAN"
    DEU = "DEU"
    IND = "IND"
    JPN = "JPN"
    GBR = "GBR"


class Hosts(BaseModel):
    base: str  # APS serves OAuth, Data Management, Issues, Forms and Webhooks on one host
    emulator: bool = False


PRODUCTION = Hosts(base="https://developer.api.autodesk.com")

# APS answers a 429 with Retry-After (seconds) and publishes no remaining-quota headers; the
# Issues API's own limit is not published, so the budget learns only from 429s.
RATE_LIMIT = RateLimitPolicy(
    limit_header="x-ratelimit-limit",
    remaining_header="x-ratelimit-remaining",
    reset_header="x-ratelimit-reset",
    windows=(Window("minute", 60),),
    reset_is_epoch=False,
    wait_after_429=2.0,
)


def hosts_for(environment: Environment, offline_url: str | None = None) -> Hosts:
    if environment is Environment.offline_sandbox:
        if not offline_url:
            raise ValueError("The offline ACC sandbox needs its URL (for example http://127.0.0.1:8002).")
        return Hosts(base=str(HttpUrl(offline_url)).rstrip("/"), emulator=True)
    return PRODUCTION


def acc_id(dm_id: str) -> str:
    """An ACC (Issues, Forms) id from a Data Management one: `b.1234-...` -> `1234-...`."""
    return dm_id[len(HUB_PREFIX) :] if dm_id.startswith(HUB_PREFIX) else dm_id


def dm_id(any_id: str) -> str:
    """A Data Management hub or project id (`b.` + the ACC id)."""
    return any_id if any_id.startswith(HUB_PREFIX) else HUB_PREFIX + any_id
