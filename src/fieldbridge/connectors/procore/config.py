"""Per-connection Procore settings: non-secret config (a JSON column) and sealed secrets.

`ProcoreConfig` lives in `Connection.config`; `ProcoreSecrets` is sealed with
`kit.crypto.SecretBox` into `Connection.sealed_credentials` and never logged.
"""

import json
from enum import StrEnum

from pydantic import BaseModel, SecretStr

from fieldbridge.connectors.procore.provider import Environment, Hosts, hosts_for
from fieldbridge.kit.crypto import SecretBox


class AuthMode(StrEnum):
    authorization_code = "authorization_code"  # an admin signs in to Procore and consents
    client_credentials = "client_credentials"  # service account (Procore DMSA)


class ProcoreConfig(BaseModel):
    environment: Environment = Environment.production
    offline_url: str | None = None
    mode: AuthMode = AuthMode.authorization_code
    client_id: str
    # Set while an authorization is in flight: digest of the `state` we sent.
    oauth_state_digest: str | None = None
    # Companies the token can reach, offered by the company picker: [{id, name}].
    company_choices: list[dict[str, object]] = []
    # Start of the last successful project discovery (the next asks only for changes since).
    projects_synced_through: str | None = None
    webhook_hook_id: int | None = None
    webhook_token_digest: str | None = None

    def hosts(self) -> Hosts:
        return hosts_for(self.environment, self.offline_url)


class ProcoreSecrets(BaseModel):
    client_secret: SecretStr
    access_token: SecretStr | None = None
    refresh_token: SecretStr | None = None
    code_verifier: SecretStr | None = None

    def seal(self, box: SecretBox) -> str:
        plain = {k: (v.get_secret_value() if isinstance(v, SecretStr) else v) for k, v in self}
        return box.seal(json.dumps(plain))

    @classmethod
    def open(cls, box: SecretBox, sealed: str | None) -> "ProcoreSecrets":
        if not sealed:
            raise ValueError("this connection has no stored credentials")
        return cls.model_validate(json.loads(box.open(sealed)))
