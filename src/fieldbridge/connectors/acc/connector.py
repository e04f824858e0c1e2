"""Autodesk Construction Cloud as a connector: what it offers, how a connection's client opens,
which ledger kinds it delivers, how its errors read in delivery's terms, its rate-limit policy,
its connect flow, its signed issue webhooks and its project sync."""

from fieldbridge.connections.connector import Capability, ConnectorSpec
from fieldbridge.connectors.acc import issues, summary
from fieldbridge.connectors.acc.client import open_client
from fieldbridge.connectors.acc.connect import FLOW
from fieldbridge.connectors.acc.errors import map_error
from fieldbridge.connectors.acc.inbound import INBOUND
from fieldbridge.connectors.acc.projects import AccProjectSync
from fieldbridge.connectors.acc.provider import DISPLAY_NAME, NAME, RATE_LIMIT
from fieldbridge.connectors.acc.safety_flow import AccSafety


def spec() -> ConnectorSpec:
    return ConnectorSpec(
        provider=NAME,
        display_name=DISPLAY_NAME,
        summary="Safety issues for detections and incidents, daily summaries as forms or comments, "
        "issue status back by webhook.",
        connect_url=f"/settings/integrations/{NAME}",
        capabilities=frozenset(
            {
                Capability.project_sync,
                Capability.observations,
                Capability.incidents,
                Capability.daily_log,
            }
        ),
        open_client=open_client,
        handlers=issues.HANDLERS + summary.HANDLERS,
        map_error=map_error,
        rate_limit=RATE_LIMIT,
        connect=FLOW,
        inbound=INBOUND,  # x-adsk-signature HMAC; issue events; echoes dropped by updatedAt
        project_sync=AccProjectSync(),
        safety=AccSafety(),  # mapping values (custom attributes), project tools, "open in ACC" links
    )
