"""FieldBridge's own public base URL for links that leave the process (the link back on a
record sent to Procore, an observation's link to its detection): installed once at start by
`fieldbridge.wiring.install(settings)` from `settings.base_url`, so domain code that takes no
settings builds the same absolute URLs as the routes do."""

from fieldbridge.settings import Settings

_BASE_URL: str | None = None
DEFAULT: str = Settings.model_fields["base_url"].default


def install_base_url(url: str) -> None:
    global _BASE_URL
    _BASE_URL = url.rstrip("/")


def absolute(path: str) -> str:
    """`path` ("/incidents/7") under the installed base URL."""
    return f"{_BASE_URL or DEFAULT}/{path.lstrip('/')}"
