"""Per-connection ACC settings, kept in `Connection.config` (the shared lifecycle's fields plus
ACC's own): the environment, the hub's region (sent as `x-ads-region` on every call; learned
from the hub at the first project sync, editable), and the webhook registrations."""

from pydantic import ConfigDict

from fieldbridge.connections.credentials import ConnectionConfig
from fieldbridge.connectors.acc.provider import Environment, Hosts, Region, hosts_for


class AccConfig(ConnectionConfig):
    model_config = ConfigDict(extra="ignore")

    environment: Environment = Environment.production
    region: Region = Region.US
    # ACC project id -> APS hook id of its `autodesk.construction.issues` hook.
    webhook_hooks: dict[str, str] = {}
    # The HMAC key APS signs callbacks with (`POST /webhooks/v1/tokens`, user-wide for 3LO).
    # Needed in clear to check `x-adsk-signature`, like any shared signing key.
    webhook_secret: str | None = None
    # The last reconcile's start (ISO UTC): the next asks only for issues updated since.
    reconciled_through: str | None = None

    def hosts(self) -> Hosts:
        return hosts_for(self.environment, self.offline_url)
