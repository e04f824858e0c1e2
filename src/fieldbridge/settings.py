"""One typed settings object; every knob is an environment variable prefixed FIELDBRIDGE_."""

from enum import StrEnum
from functools import cached_property
from pathlib import Path

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
    base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    session_hours: int = Field(default=12, ge=1)
    signin_max_failures: int = Field(default=5, ge=1)
    signin_lockout_seconds: int = Field(default=300, ge=1)
    runner: str = "local"
    # Run the Procore re-sync scheduler in this process (turn off on all but one web replica).
    scheduler: bool = True
    sync_interval_seconds: int = Field(default=900, ge=30)
    log_json: bool | None = None

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
    def json_logs(self) -> bool:
        return (not self.is_dev) if self.log_json is None else self.log_json

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
