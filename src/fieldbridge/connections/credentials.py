"""What every OAuth connection stores, whatever the provider.

`ConnectionConfig` is the generic part of `Connection.config` (a JSON column): how the
connection authenticates, the app's client id, the digest of the `state` of a sign-in in
flight and the accounts the last token could reach (the account picker's choices). A
provider's own config model subclasses it; keys this model does not know are kept, so the
lifecycle never drops a provider's settings. `OAuthSecrets` is sealed with
`kit.crypto.SecretBox` into `Connection.sealed_credentials` and never logged.
"""

import json
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, SecretStr

from fieldbridge.kit.crypto import SecretBox


class AuthMode(StrEnum):
    authorization_code = "authorization_code"  # an admin signs in at the provider and consents
    client_credentials = "client_credentials"  # a service account (e.g. Procore DMSA)


class ConnectionConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    environment: str = "production"
    # A local emulator's URL (environments marked `emulator`); test servers only.
    offline_url: str | None = None
    mode: AuthMode = AuthMode.authorization_code
    client_id: str
    # Set while an authorization is in flight: digest of the `state` we sent.
    oauth_state_digest: str | None = None
    # Accounts the token can reach, offered by the account picker: [{id, name}].
    company_choices: list[dict[str, object]] = []


class OAuthSecrets(BaseModel):
    client_secret: SecretStr
    access_token: SecretStr | None = None
    refresh_token: SecretStr | None = None
    code_verifier: SecretStr | None = None

    def seal(self, box: SecretBox) -> str:
        plain = {k: (v.get_secret_value() if isinstance(v, SecretStr) else v) for k, v in self}
        return box.seal(json.dumps(plain))

    @classmethod
    def open(cls, box: SecretBox, sealed: str | None) -> "OAuthSecrets":
        if not sealed:
            raise ValueError("this connection has no stored credentials")
        return cls.model_validate(json.loads(box.open(sealed)))
