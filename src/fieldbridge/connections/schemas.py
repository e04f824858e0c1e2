"""Pydantic I/O of connections."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from fieldbridge.connections.models import ConnectionStatus
from fieldbridge.connectors.procore.config import AuthMode
from fieldbridge.connectors.procore.provider import Environment
from fieldbridge.kit.remote_ids import NumericRemoteId


class ProcoreConnectIn(BaseModel):
    """Start connecting Procore: where, how, and the app's credentials from Procore's Developer Portal."""

    environment: Environment = Environment.production
    offline_url: str | None = Field(
        None, max_length=300, description="Offline sandbox URL (offline_sandbox only)"
    )
    mode: AuthMode = AuthMode.authorization_code
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1, max_length=400)
    procore_company_id: NumericRemoteId | None = Field(
        None,
        description="Service accounts only: the Procore company id (from Procore's URL); a string "
        "(ids of other platforms are strings), a number is accepted too",
    )

    @model_validator(mode="after")
    def _check(self) -> "ProcoreConnectIn":
        if self.environment is Environment.offline_sandbox and not self.offline_url:
            raise ValueError("offline_url is required for the offline sandbox")
        if self.mode is AuthMode.client_credentials and self.procore_company_id is None:
            raise ValueError("procore_company_id is required for a service account")
        return self


class ConnectStarted(BaseModel):
    connection_id: int
    authorize_url: str | None = Field(None, description="Send the admin's browser here (authorization code)")
    company_choices: list[dict[str, Any]] = Field(default_factory=list)


class CompanyChoiceIn(BaseModel):
    procore_company_ids: list[NumericRemoteId] = Field(min_length=1, max_length=50)


class OAuthCallbackIn(BaseModel):
    state: str = Field(min_length=1, max_length=200)
    code: str | None = Field(None, max_length=500)
    error: str | None = Field(None, max_length=200)
    error_description: str | None = Field(None, max_length=500)


class ConnectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider: str
    environment: str
    label: str
    external_account_id: str | None = Field(description="the account on the other platform (a string)")
    status: ConnectionStatus
    status_reason: str | None
    token_expires_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    created_at: datetime
    company_choices: list[dict[str, Any]] = Field(default_factory=list)
