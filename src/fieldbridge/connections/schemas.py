"""Pydantic I/O of connections."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr

from fieldbridge.connections.credentials import AuthMode
from fieldbridge.connections.models import ConnectionStatus

PROVIDER_PATTERN = r"^[a-z][a-z0-9_]{1,31}$"


class ConnectIn(BaseModel):
    """Start connecting a platform: which one, where, how, and the app's credentials from the
    platform's developer settings. `environment` is one the connector lists
    (`GET /api/v1/connectors`); `offline_url` only for an emulator environment."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    provider: str = Field(pattern=PROVIDER_PATTERN, description="e.g. procore")
    environment: str = Field("production", min_length=1, max_length=32)
    offline_url: str | None = Field(
        None, max_length=300, description="Offline sandbox URL (emulator environments only)"
    )
    mode: AuthMode = AuthMode.authorization_code
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1, max_length=400)
    account_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="Service accounts only: the account to reach (Procore: the company id from its URL)",
    )


class ProviderConnectIn(BaseModel):
    """`ConnectIn` without `provider` (it is in the path), for `POST /connections/{provider}`;
    Procore's older field name `procore_company_id` is accepted for `account_id`."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    environment: str = Field("production", min_length=1, max_length=32)
    offline_url: str | None = Field(None, max_length=300)
    mode: AuthMode = AuthMode.authorization_code
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1, max_length=400)
    account_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        validation_alias=AliasChoices("account_id", "procore_company_id"),
        description="Service accounts only: the account to reach (alias: procore_company_id)",
    )

    def for_provider(self, provider: str) -> ConnectIn:
        return ConnectIn(provider=provider, **self.model_dump())


class ConnectStarted(BaseModel):
    connection_id: int
    authorize_url: str | None = Field(None, description="Send the admin's browser here (authorization code)")
    company_choices: list[dict[str, Any]] = Field(default_factory=list)


class CompanyChoiceIn(BaseModel):
    """The accounts to bind (alias: `procore_company_ids`)."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    account_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1,
        max_length=50,
        validation_alias=AliasChoices("account_ids", "procore_company_ids"),
    )


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
    external_account_id: str | None  # another platform's id: a string (docs/api.md, Ids)
    status: ConnectionStatus
    status_reason: str | None
    token_expires_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    created_at: datetime
    company_choices: list[dict[str, Any]] = Field(default_factory=list)
