"""Procore as a connector: what it offers, how a connection's client opens, which ledger
kinds it delivers, how its errors read in delivery's terms, and its rate-limit policy."""

from fieldbridge.connections.connector import Capability, ConnectorSpec
from fieldbridge.connections.outcomes import (
    DeliveryFailure,
    OutcomeUnknown,
    ParkConnection,
    Rejected,
    Transient,
)
from fieldbridge.connectors.procore import errors as procore
from fieldbridge.connectors.procore import incidents, observations, timecards
from fieldbridge.connectors.procore.connect import FLOW
from fieldbridge.connectors.procore.flow import ProcoreProjectSync
from fieldbridge.connectors.procore.inbound import INBOUND
from fieldbridge.connectors.procore.provider import PROCORE, RATE_LIMIT
from fieldbridge.connectors.procore.safety_flow import ProcoreSafety, refused


def map_error(exc: BaseException) -> DeliveryFailure | None:
    """A `ProcoreError` as one of delivery's failure classes (None: not Procore's)."""
    if isinstance(exc, procore.ReconnectRequired):
        return ParkConnection(exc.message, status=exc.status)
    if isinstance(exc, procore.OutcomeUnknown):
        return OutcomeUnknown(exc.message, status=exc.status)
    if isinstance(exc, procore.Retriable):
        return Transient(exc.message, retry_after=exc.retry_after, status=exc.status)
    if isinstance(exc, procore.NotPermitted):  # a 403: say which of the plain reasons it is
        return refused(exc)
    if isinstance(exc, procore.Rejected):
        return Rejected(exc.message, status=exc.status)
    if isinstance(exc, procore.ProcoreError):
        return Transient(exc.message, status=exc.status)
    return None


def spec() -> ConnectorSpec:
    return ConnectorSpec(
        provider=PROCORE.name,
        display_name=PROCORE.display_name,
        summary=(
            "Project sync, cost codes, crew clock-in, timecards, incidents (two-way), safety"
            " observations and the daily log."
        ),
        connect_url="/settings/integrations/procore",
        # project_sync: flow.ProcoreProjectSync; clock_in: the phone flow; time_export: timecards;
        # incidents + incident_pull: incidents.py (the handler and the read-back flow);
        # observations and daily_log: observations.py.
        capabilities=frozenset(
            {
                Capability.project_sync,
                Capability.clock_in,
                Capability.time_export,
                Capability.observations,
                Capability.daily_log,
                Capability.incidents,
                Capability.incident_pull,
            }
        ),
        open_client=timecards.open_client,
        handlers=(*timecards.HANDLERS, *incidents.HANDLERS, *observations.HANDLERS),
        map_error=map_error,
        rate_limit=RATE_LIMIT,
        connect=FLOW,
        inbound=INBOUND,  # webhooks: the per-connection secret header, de-duplicated by ulid
        project_sync=ProcoreProjectSync(),
        incident_pull=incidents.ProcoreIncidentPull(),
        safety=ProcoreSafety(),  # mapping values, project tools, "open in Procore" links
    )
