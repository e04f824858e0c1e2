"""Per-connection Procore settings: non-secret config (a JSON column) and sealed secrets.

`ProcoreConfig` lives in `Connection.config`: the shared lifecycle's fields
(`connections.credentials.ConnectionConfig`: mode, client id, sign-in state, company choices)
plus Procore's own. The secrets are the shared `OAuthSecrets`, sealed with
`kit.crypto.SecretBox` into `Connection.sealed_credentials` and never logged.
"""

from pydantic import ConfigDict

from fieldbridge.connections.credentials import AuthMode, ConnectionConfig, OAuthSecrets
from fieldbridge.connectors.procore.provider import Environment, Hosts, hosts_for

__all__ = ["AuthMode", "ProcoreConfig", "ProcoreSecrets"]
ProcoreSecrets = OAuthSecrets


class ProcoreConfig(ConnectionConfig):
    model_config = ConfigDict(extra="ignore")

    environment: Environment = Environment.production
    # Start of the last successful project discovery (the next asks only for changes since).
    projects_synced_through: str | None = None
    webhook_hook_id: int | None = None
    webhook_token_digest: str | None = None

    def hosts(self) -> Hosts:
        return hosts_for(self.environment, self.offline_url)
