"""One typed settings object; every knob is an environment variable prefixed FIELDBRIDGE_."""

from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-0000000000"
SECRET_KEY_HELP = (
    "FIELDBRIDGE_SECRET_KEY is required outside demo/dev. Make one with: "
    'python -c "import secrets; print(secrets.token_urlsafe(48))" and export it as '
    "FIELDBRIDGE_SECRET_KEY. Keep it stable: it encrypts stored tokens."
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
    # CSV and file uploads (text/csv, multipart): a 30,000-worker CSV is about 2.5 MB.
    max_upload_bytes: int = Field(default=16_777_216, ge=1024)
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
                raise ValueError(SECRET_KEY_HELP)
        elif len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("FIELDBRIDGE_SECRET_KEY must be at least 32 characters. " + SECRET_KEY_HELP)
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
