"""What a connector is: capability flags, delivery handlers per ledger kind, an HTTP client
per connection, how its errors map onto delivery's taxonomy, its rate-limit policy, and the
`Registry` type. The registry of shipped connectors is assembled in `connectors.registry`
(one line per provider) and handed to delivery at start; delivery never imports a provider.

A ledger kind (`procore.timecard.create`, later `procore.incident.upsert`,
`acc.issue.create`, `webhook.deliver`, ...) is served by exactly one `DeliveryHandler`.
The runner claims rows, groups them by `handler.batch_key` (at most `handler.batch_size`
per group) and calls `handler.deliver(channel, items)`; the handler answers with one
`Delivered` or `DeliveryFailure` per item. Handlers hold no tenant state: everything about
the connection arrives in the `Channel`, built fresh for each drain.
"""

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import httpx

from fieldbridge.connections.credentials import AuthMode, ConnectionConfig
from fieldbridge.connections.incident_pull import IncidentPullFlow
from fieldbridge.connections.models import Connection
from fieldbridge.connections.oauth import OAuthProvider, ProviderError, ReconnectRequired
from fieldbridge.connections.outcomes import DeliveryFailure, ErrorMapping, no_mapping
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.ratelimit import Priority, RateLimitPolicy
from fieldbridge.settings import Settings


class Capability(StrEnum):
    """What a connector offers; listed in its spec only when a handler or flow exists for it."""

    project_sync = "project_sync"
    time_export = "time_export"
    clock_in = "clock_in"
    incidents = "incidents"
    incident_pull = "incident_pull"
    observations = "observations"
    daily_log = "daily_log"
    issues = "issues"
    webhook_out = "webhook_out"


# A connector's own exceptions derive from the shared provider errors: domain code catches
# `ConnectorError` around a connector flow (never a provider's class); `NeedsReconnect` means the
# connection has been marked `needs_reconnect`.
ConnectorError = ProviderError
NeedsReconnect = ReconnectRequired


class NotAuthentic(Exception):
    """An inbound request failed the connector's authentication (secret, signature)."""


@dataclass(frozen=True)
class ParsedEvent:
    """One inbound event as the connector read it from a verified request.

    `dedupe_key` is unique per connection (Procore's `ulid`, a Standard Webhooks `webhook-id`);
    `remote_version` is the record's version or `updated_at` when the event carries one (echo
    suppression compares it with the ledger's)."""

    dedupe_key: str
    resource: str
    event_type: str
    remote_id: str | None = None
    remote_project_id: str | None = None
    remote_version: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


# verify(request headers (lower-case names), raw body, connection) -> events. Raises
# `NotAuthentic` for a wrong secret or signature, `kit.errors.BadRequest` for a body it cannot read.
InboundVerifier = Callable[[Mapping[str, str], bytes, Connection], Sequence[ParsedEvent]]


@dataclass(frozen=True)
class InboundSpec:
    """How a connector receives events: one receiver per connection,
    `POST /api/v1/webhooks/<provider>/<connection id>`."""

    verify: InboundVerifier


@dataclass(frozen=True)
class SyncRequest:
    """What a project sync should do: which projects (None: every tracked one), whether to
    list the company's projects first, a full or incremental pass, and the callback URL base
    under which the connector registers its webhooks (None: do not register)."""

    project_ids: Sequence[int] | None = None
    discover: bool = True
    full: bool = False
    base_url: str | None = None
    paced: bool = True
    on_project: Callable[[int], Any] | None = None
    priority: Priority = Priority.change  # its class in the connection's rate budget


@dataclass
class SyncOutcome:
    projects_synced: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)


class ProjectSyncFlow(Protocol):
    """The `project_sync` capability: mirror a connection's projects into `sites`, and read
    single records back when an inbound event says they changed. Raises `ConnectorError`
    (`NeedsReconnect` when an admin must reconnect)."""

    @property
    def steps(self) -> tuple[str, ...]:
        """The per-project steps the sync page shows (cost codes, categories, ...)."""
        ...

    async def sync(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, request: SyncRequest
    ) -> SyncOutcome: ...

    async def project_state(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, remote_project_id: str
    ) -> dict[str, bool]:
        """`{"active": ..., "permitted": True}` or `{"permitted": False}` (gone or no access)."""
        ...

    async def cost_code(
        self,
        db: Database,
        http: HttpClients,
        box: SecretBox,
        connection: Connection,
        remote_project_id: str,
        remote_id: str,
    ) -> dict[str, Any] | None:
        """The cost code's columns (`sites.models.CostCode`), or None when it is gone."""
        ...


@dataclass
class WebhookCheck:
    """What the platform says about a connection's webhooks since `cursor`: `problem` is None
    while they are healthy (else why not: hook missing or changed, deliveries failing);
    `missed` are the events it failed to deliver, to be processed as if they had arrived."""

    cursor: int
    problem: str | None = None
    missed: list[ParsedEvent] = field(default_factory=list)
    requests: int = 0


@dataclass(frozen=True)
class ReconcileUnit:
    """One slice of a reconcile sweep (a company-level list, one project's lists) and what it
    costs in requests, so a sweep can be spread evenly and priced against the budget."""

    key: str
    cost: int = 1


@dataclass
class Reconciled:
    """A unit's outcome: records it found changed that FieldBridge did not have (no webhook
    announced them), and the requests it took."""

    found: int = 0
    requests: int = 0
    found_what: list[str] = field(default_factory=list)


@runtime_checkable
class ReconcileFlow(Protocol):
    """Optional beside `ProjectSyncFlow`: webhooks first, reconcile as the safety net
    (`sites.reconcile`). Calls draw from the budget as `Priority.reconcile`."""

    async def check_webhooks(
        self,
        db: Database,
        http: HttpClients,
        box: SecretBox,
        connection: Connection,
        cursor: int,
        hooks: bool,
    ) -> WebhookCheck:
        """Read the platform's delivery log after `cursor` (and, with `hooks`, that the hook
        and its triggers are still as registered)."""
        ...

    async def reconcile_units(self, db: Database, connection: Connection) -> list[ReconcileUnit]:
        """The sweep, cheapest lists first; resources a project does not use are left out."""
        ...

    async def reconcile(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, unit: ReconcileUnit
    ) -> Reconciled: ...

    async def person(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, remote_id: str
    ) -> bool:
        """Read one person back after an event; True when FieldBridge's row changed."""
        ...


@dataclass(frozen=True)
class RemoteValue:
    """One value a remote company offers for a mapping category (an observation type, a
    hazard, a priority): its id on that platform (a string) and the label people see."""

    id: str
    label: str


@dataclass(frozen=True)
class MapCategory:
    """A field-mapping category a connector serves (`incident_type`, `hazard`,
    `observation_type`, `priority`, or its own), with its defaults: source key (an event
    type, a priority "1".."5") -> the remote label, resolved against the values that exist."""

    name: str
    label: str
    defaults: Mapping[str, str]


class SafetyFlow(Protocol):
    """The safety capabilities' connector side (issue 11): the values a company offers for
    field mapping, which safety tools a project can use, and deep links to delivered records.
    The safety domain decides what goes out and when; this and the connector's handlers of
    `<provider>.safety.*` kinds decide how. Raises `ConnectorError` (`NeedsReconnect`).

    `tool_names`: what the platform calls the tool behind each capability ("incidents",
    "observations", "daily_log"), as the link card and the setup checklist show it."""

    categories: tuple[MapCategory, ...]
    tool_names: Mapping[str, str]

    async def values(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, category: str
    ) -> list[RemoteValue]:
        """Every value of `category` that exists in the connection's company now."""
        ...

    async def project_tools(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, remote_project_id: str
    ) -> dict[str, str | None]:
        """capability name ("incidents"/"observations"/"daily_log") -> None when usable, else the plain reason
        ("tool not enabled", "no permission", "project inactive")."""
        ...

    def record_url(
        self, kind: str, remote_project_id: str, remote_id: str, config: Mapping[str, Any]
    ) -> str | None:
        """The record's page on the platform ("open in Procore"); `kind` is a ledger kind or
        its last part ("incident", "observation", "daily_summary"); `config` the connection's.
        None when the platform has no page for it."""
        ...


@dataclass(frozen=True)
class DeliveryItem:
    """One claimed ledger row, as a handler sees it."""

    id: int
    kind: str
    subject: str
    payload: Mapping[str, Any]
    idempotency_key: str
    remote_project_id: str | None  # ids of other platforms are strings
    attempts: int  # including this one
    outcome_unknown: bool  # an earlier try may have landed: look it up before sending again
    remote_id: str | None  # set when this row delivered before (replay) or was found
    subject_remote_id: str | None  # remote id of the latest delivered row of the same subject
    created_at: datetime


@dataclass(frozen=True)
class Delivered:
    remote_id: str | None
    remote_record: Mapping[str, Any] | None = None
    found_by_lookup: bool = False


Result = Delivered | DeliveryFailure


class Channel(Protocol):
    """The connection's outbound line for one drain: paced by the shared rate budget, and
    every exchange recorded (redacted) for the attempt rows of the items it served."""

    connection_id: int
    external_account_id: str | None

    async def send(
        self,
        method: str,
        url: str,
        *,
        for_ids: Sequence[int],
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """`content`: raw bytes sent as they are (a signed webhook body); not with `json`."""
        ...


class DeliveryHandler(Protocol):
    kind: str
    batch_size: int  # 1: one call per row

    def batch_key(self, item: DeliveryItem) -> Hashable:
        """Items with equal keys may share one call (e.g. the same Procore project)."""
        ...

    async def deliver(self, channel: Channel, items: Sequence[DeliveryItem]) -> dict[int, Result]:
        """One result per item id; an item left out is retried as transient."""
        ...


@dataclass(frozen=True)
class Outbound:
    """What opening a connection's client needs: the database (tokens), transports, settings."""

    db: Database
    http: HttpClients
    settings: Settings


# Opens an authenticated client for one connection (bearer, company header, refresh).
ClientFactory = Callable[[Outbound, Connection], AbstractAsyncContextManager[httpx.AsyncClient]]


@dataclass(frozen=True)
class Account:
    """One account a token reaches (a Procore company, an ACC hub): what the picker offers."""

    id: str
    name: str


@dataclass(frozen=True)
class EnvironmentOption:
    value: str  # stored in `Connection.environment`
    label: str  # the connect form's wording
    # A local emulator at an admin-typed URL (`offline_url`): off unless the server allows
    # it (FIELDBRIDGE_ALLOW_OFFLINE_SANDBOX), and only public addresses or loopback.
    emulator: bool = False


@dataclass(frozen=True)
class ConnectPages:
    """The admin pages' templates (web/templates); the generic ones fit any OAuth provider."""

    connect: str = "oauth_connect.html"
    connection: str = "oauth_connection.html"
    redirect: str = "oauth_redirect.html"


ListAccounts = Callable[[HttpClients, Mapping[str, Any], str, str | None], Awaitable[list[Account]]]
OnDisconnect = Callable[[HttpClients, Connection, str | None], Awaitable[None]]


async def _nothing_to_undo(http: HttpClients, connection: Connection, access_token: str | None) -> None:
    return None


@dataclass(frozen=True)
class ConnectFlow:
    """How a connector is connected, as data: everything else (state and PKCE, the callback,
    the account picker's rules, service accounts, reconnect, disconnect, token refresh) is the
    shared lifecycle in `connections.service` and `connections.tokens`.

    `oauth(config)` gives the OAuth endpoints for a connection's config (its environment);
    `list_accounts(http, config, access_token, hint)` is the account picker's source (`hint`:
    the account a service account was told to reach, for providers that need it in a header).
    """

    oauth: Callable[[Mapping[str, Any]], OAuthProvider]
    list_accounts: ListAccounts
    # The connection's non-secret settings (validated at connect time; subclass ConnectionConfig).
    config_model: type[ConnectionConfig] = ConnectionConfig
    environments: tuple[EnvironmentOption, ...] = (EnvironmentOption("production", "Production"),)
    modes: frozenset[AuthMode] = frozenset({AuthMode.authorization_code})
    account_noun: str = "account"  # "Procore company"
    # The name of the account id in this provider's own connect body and picker form (a
    # legacy name, e.g. procore_company_id); the generic routes also accept `account_id(s)`.
    account_field: str = "account_id"
    # Config keys that belong to the linked account (e.g. its webhook registration): kept when
    # a sign-in is folded into a known connection, cleared on disconnect.
    account_keys: tuple[str, ...] = ()
    # What the admin is told for an OAuth error code, overriding the generic wording.
    messages: Mapping[str, str] = field(default_factory=dict)
    pages: ConnectPages = field(default_factory=ConnectPages)
    # Best-effort cleanup at the provider before the tokens are revoked (e.g. delete webhooks).
    on_disconnect: OnDisconnect = _nothing_to_undo
    # The API's base URL for a config (named in messages, checked for emulators); default:
    # the token endpoint's.
    api_base: Callable[[Mapping[str, Any]], str] | None = None

    def base_url(self, config: Mapping[str, Any]) -> str:
        return self.api_base(config) if self.api_base is not None else self.oauth(config).token_url

    def environment(self, value: str) -> EnvironmentOption:
        for option in self.environments:
            if option.value == value:
                return option
        known = ", ".join(o.value for o in self.environments)
        raise ValueError(f"unknown environment {value!r}; use one of: {known}")


class Connector(Protocol):
    """A platform FieldBridge talks to: what it can do, how to open a connection's client,
    and which ledger kinds it delivers. Tenant state never lives here: a client is opened
    per connection (per drain) from the connection row."""

    @property
    def provider(self) -> str: ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    @property
    def open_client(self) -> ClientFactory: ...

    @property
    def handlers(self) -> tuple[DeliveryHandler, ...]: ...

    @property
    def display_name(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def connect_url(self) -> str | None: ...

    @property
    def map_error(self) -> ErrorMapping: ...

    @property
    def rate_limit(self) -> RateLimitPolicy: ...

    @property
    def connect(self) -> ConnectFlow | None: ...

    @property
    def inbound(self) -> InboundSpec | None: ...

    @property
    def project_sync(self) -> ProjectSyncFlow | None: ...

    @property
    def safety(self) -> SafetyFlow | None: ...

    @property
    def incident_pull(self) -> IncidentPullFlow | None: ...


@dataclass(frozen=True)
class ConnectorSpec:
    """A `Connector` as plain data, which is all most connectors need."""

    provider: str
    capabilities: frozenset[Capability]
    open_client: ClientFactory
    handlers: tuple[DeliveryHandler, ...] = ()
    display_name: str = ""
    summary: str = ""  # one line for the Integrations page and GET /api/v1/connectors
    connect_url: str | None = None  # the admin page that connects it
    map_error: ErrorMapping = no_mapping  # the connector's exceptions as delivery failures
    rate_limit: RateLimitPolicy = field(
        default_factory=lambda: RateLimitPolicy(
            "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", (), reset_is_epoch=False
        )
    )  # the IETF draft's RateLimit-* headers, for connectors that declare none
    connect: ConnectFlow | None = None  # how an admin connects it (None: nothing to connect)
    inbound: InboundSpec | None = None  # receives webhooks (verify + parse)
    project_sync: ProjectSyncFlow | None = None  # the `project_sync` capability's flow
    safety: SafetyFlow | None = None  # incidents / observations / daily_log: mapping values, tools, links
    incident_pull: IncidentPullFlow | None = None  # the `incident_pull` capability's flow (two-way)


@dataclass(frozen=True)
class Planned:
    """A platform on the roadmap: shown as "coming" on the Integrations page and the API."""

    provider: str
    display_name: str
    summary: str


@dataclass
class Registry:
    """Connectors by provider and delivery handlers by ledger kind; built explicitly."""

    specs: dict[str, Connector] = field(default_factory=dict)
    handlers: dict[str, DeliveryHandler] = field(default_factory=dict)
    planned: tuple[Planned, ...] = ()

    def register(self, spec: Connector) -> None:
        if spec.provider in self.specs:
            raise ValueError(f"connector {spec.provider} is registered twice")
        if (Capability.project_sync in spec.capabilities) != (spec.project_sync is not None):
            raise ValueError(
                f"{spec.provider}: the project_sync capability comes with its flow, and only then"
            )
        if (Capability.incident_pull in spec.capabilities) != (spec.incident_pull is not None):
            raise ValueError(
                f"{spec.provider}: the incident_pull capability comes with its flow, and only then"
            )
        self.specs[spec.provider] = spec
        for handler in spec.handlers:
            if not handler.kind.startswith(spec.provider + ".") and spec.provider != "webhook":
                raise ValueError(f"{handler.kind} does not belong to {spec.provider}")
            if handler.kind in self.handlers:
                raise ValueError(f"delivery kind {handler.kind} has two handlers")
            self.handlers[handler.kind] = handler

    def spec(self, provider: str) -> Connector:
        try:
            return self.specs[provider]
        except KeyError:
            raise LookupError(f"no connector for provider {provider!r}") from None

    def handler(self, kind: str) -> DeliveryHandler | None:
        return self.handlers.get(kind)

    def can(self, provider: str, capability: Capability) -> bool:
        spec = self.specs.get(provider)
        return spec is not None and capability in spec.capabilities

    def project_sync(self, provider: str) -> ProjectSyncFlow:
        flow = self.spec(provider).project_sync
        if flow is None:
            raise LookupError(f"connector {provider!r} has no project sync")
        return flow

    def incident_pull(self, provider: str) -> IncidentPullFlow | None:
        """The connector's two-way incident flow, None when it has none."""
        spec = self.specs.get(provider)
        return (
            None if spec is None or Capability.incident_pull not in spec.capabilities else spec.incident_pull
        )

    def safety(self, provider: str) -> SafetyFlow | None:
        """The connector's safety flow, None when it has none (or the provider is unknown)."""
        spec = self.specs.get(provider)
        return None if spec is None else spec.safety

    def record_url(
        self, provider: str, kind: str, remote_project_id: str, remote_id: str, config: Mapping[str, Any]
    ) -> str | None:
        """A delivered record's page on its platform ("open in Procore"), None when the
        connector has no safety flow or no page for that kind."""
        flow = self.safety(provider)
        return None if flow is None else flow.record_url(kind, remote_project_id, remote_id, config)


_INSTALLED: Registry | None = None


def install_registry(reg: Registry) -> None:
    """Hand the process its connectors (`connectors.registry.build_registry()`); each entry
    point (the app, the worker, a benchmark, the CLI) does this once at start."""
    global _INSTALLED
    _INSTALLED = reg


def installed_registry() -> Registry:
    """The connectors this process was started with; domains reach providers only here."""
    if _INSTALLED is None:
        raise RuntimeError(
            "No connectors are installed: call delivery.runner.install_registry("
            "connectors.registry.build_registry()) when the process starts."
        )
    return _INSTALLED
