"""One typed settings object; every knob is an environment variable prefixed FIELDBRIDGE_."""

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-0000000000"
SECRET_KEY_HELP = (
    "Make one with `head -c 36 /dev/urandom | base64` (48 characters), export it as "
    "FIELDBRIDGE_SECRET_KEY, and keep it: it encrypts stored tokens. "
    "(FIELDBRIDGE_ENV=dev runs without one, for development only.)"
)


class Environment(StrEnum):
    dev = "dev"
    demo = "demo"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDBRIDGE_", env_file=None, extra="ignore")

    env: Environment = Environment.production
    database_url: str = "sqlite+aiosqlite:///./fieldbridge.db"
    secret_key: SecretStr | None = None
    # The URL people, phones and Procore reach this server at (OAuth callback, webhook
    # destinations, Secure cookies and HSTS when https). `serve` checks it at start-up.
    base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # CSV and file uploads (text/csv, multipart): a 30,000-worker CSV is about 2.5 MB.
    max_upload_bytes: int = Field(default=16_777_216, ge=1024)
    session_hours: int = Field(default=12, ge=1)
    # Sign-in throttling (accounts/throttle.py): free failures per source, then growing waits.
    signin_free_failures: int = Field(default=5, ge=1)
    signin_delay_seconds: int = Field(default=30, ge=1)
    signin_max_delay_seconds: int = Field(default=900, ge=1)
    signin_account_free_failures: int = Field(default=20, ge=1)
    signin_account_max_delay_seconds: int = Field(default=60, ge=1)
    signin_window_seconds: int = Field(default=900, ge=60)
    # A phone stays signed in this long after its last use (sliding), unless revoked earlier.
    device_token_days: int = Field(default=30, ge=1)
    runner: str = "local"
    # Run the Procore re-sync scheduler in this process (turn off on all but one web replica).
    scheduler: bool = True
    # The phone's clock-in and clock-out on the PostgreSQL driver (timekeeping/phone.py); off,
    # every call takes the route (the same answers, at several times the CPU).
    hot_path: bool = True
    sync_interval_seconds: int = Field(default=900, ge=30)
    # Local-time jobs (jobs/): extra modules that register jobs (comma-separated), how often
    # `serve` checks for due ones, the worker's cron for the same check, and how late a missed
    # run may still happen (a process down at 17:00 runs the day's job when back within it).
    job_modules: str = ""
    # Connectors outside the package (comma-separated modules, each exposing `spec()` and
    # optionally `register_inbound(handlers)`; see connectors/registry.py). Importing one also
    # registers its local-time jobs.
    connector_modules: str = ""
    jobs_poll_seconds: float = Field(default=30.0, gt=0)
    jobs_cron: str = "* * * * * */30"
    jobs_catch_up_minutes: int = Field(default=360, ge=1, le=1380)
    # `fieldbridge worker` also runs the Procore sync scheduler's pass (requested syncs, queued
    # projects, due re-syncs) on this cron; for deployments with FIELDBRIDGE_SCHEDULER=false on web.
    worker_resync: bool = False
    worker_resync_cron: str = "* * * * * */5"
    log_json: bool | None = None
    # Connections to the offline Procore sandbox (any URL an admin types, loopback included).
    # None: allowed in dev/demo/test, refused in production.
    allow_offline_sandbox: bool | None = None
    # Outbound webhooks (webhooks/): let endpoints reach private and loopback addresses, for a
    # self-hosted server whose receivers live on its own network (plain http is then allowed too).
    # Link-local and cloud-metadata addresses stay refused.
    webhooks_allow_private: bool = False
    # When set, /metrics needs `Authorization: Bearer <token>`; unset, /metrics is dev-only.
    metrics_token: SecretStr | None = None

    @model_validator(mode="after")
    def _require_secret_outside_dev(self) -> "Settings":
        if self.secret_key is None:
            if self.env in (Environment.dev, Environment.demo, Environment.test):
                self.secret_key = SecretStr(DEV_SECRET_KEY)
            else:
                raise ValueError(
                    f"FIELDBRIDGE_SECRET_KEY is not set; FIELDBRIDGE_ENV={self.env.value} needs one. "
                    + SECRET_KEY_HELP
                )
        elif len(self.secret_key.get_secret_value()) < 32:
            too_short = "FIELDBRIDGE_SECRET_KEY is too short: it needs 32 characters or more. "
            raise ValueError(too_short + SECRET_KEY_HELP)
        return self

    @property
    def secret(self) -> str:
        assert self.secret_key is not None  # guaranteed by the validator
        return self.secret_key.get_secret_value()

    @property
    def is_dev(self) -> bool:
        return self.env in (Environment.dev, Environment.demo, Environment.test)

    @property
    def offline_sandbox_allowed(self) -> bool:
        return self.is_dev if self.allow_offline_sandbox is None else self.allow_offline_sandbox

    @property
    def json_logs(self) -> bool:
        return (not self.is_dev) if self.log_json is None else self.log_json

    @property
    def job_module_names(self) -> list[str]:
        return [name.strip() for name in self.job_modules.split(",") if name.strip()]

    @property
    def connector_module_names(self) -> list[str]:
        return [name.strip() for name in self.connector_modules.split(",") if name.strip()]

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    if not url.startswith("sqlite"):
        return None
    _, _, rest = url.partition(":///")
    return None if rest in ("", ":memory:") else Path(rest)


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass
class BaseUrlCheck:
    """What `serve` says about FIELDBRIDGE_BASE_URL before it binds: errors refuse to start."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(settings: Settings, host: str, port: int) -> BaseUrlCheck:
    """FIELDBRIDGE_BASE_URL against the address `serve` binds (host, port).

    OAuth callbacks, Procore webhook destinations and cookie security all follow the base URL,
    so a wrong one fails quietly later (webhooks to the wrong port, cookies never Secure).
    """
    check = BaseUrlCheck()
    bound = f"http://{host}:{port}"
    parts = urlsplit(settings.base_url)
    try:
        url_port = parts.port
    except ValueError:
        url_port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or url_port == -1:
        check.errors.append(
            f"FIELDBRIDGE_BASE_URL={settings.base_url!r} is not an http(s) URL. Set it to the URL "
            f"people and Procore reach this server at, e.g. https://fieldbridge.example.com "
            f"(or {bound} on this machine only)."
        )
        return check
    explicit = "base_url" in settings.model_fields_set
    if not settings.is_dev and not explicit:
        check.errors.append(
            "FIELDBRIDGE_BASE_URL is not set. Set it to the https URL people and Procore reach this "
            "server at (e.g. https://fieldbridge.example.com): Procore sends webhooks and OAuth "
            "callbacks there, and cookies are Secure only when it is https."
        )
        return check
    effective_port = url_port or (443 if parts.scheme == "https" else 80)
    if _is_loopback(parts.hostname) and effective_port != port:
        message = (
            f"FIELDBRIDGE_BASE_URL is {settings.base_url} but this server listens on {bound}: "
            f"Procore webhooks and OAuth callbacks would go to the wrong port. Set "
            f"FIELDBRIDGE_BASE_URL={parts.scheme}://{parts.hostname}:{port} "
            "(or the public URL of the proxy in front of it)."
        )
        (check.warnings if settings.is_dev else check.errors).append(message)
    elif _is_loopback(parts.hostname) and not settings.is_dev:
        check.warnings.append(
            f"FIELDBRIDGE_BASE_URL is {settings.base_url}, a loopback address: Procore cannot send "
            "webhooks there. Set it to the public https URL of this server."
        )
    if parts.scheme != "https" and not settings.is_dev:
        check.warnings.append(
            f"FIELDBRIDGE_BASE_URL is {settings.base_url} (not https): session cookies are not "
            "marked Secure and no HSTS header is sent. Serve FieldBridge behind https and set "
            "FIELDBRIDGE_BASE_URL=https://..."
        )
    return check
