"""structlog setup: JSON outside dev, and a processor that redacts secrets wherever they appear."""

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

SENSITIVE_KEYS = re.compile(
    r"(pass(word)?|pin|token|secret|authorization|api[_-]?key|cookie|code_verifier|client_secret)",
    re.IGNORECASE,
)
BEARER = re.compile(r"(Bearer\s+|fb[kds]_)[A-Za-z0-9._~+/=-]+")
REDACTED = "[redacted]"


def redact_text(text: str) -> str:
    return BEARER.sub(lambda m: m.group(1) + REDACTED, text)


def redact(value: Any, key: str = "") -> Any:
    """Redact a value for logs or stored request summaries: secret-looking keys and bearer tokens."""
    if key and SENSITIVE_KEYS.search(key):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def _redact_processor(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key != "event":
            event[key] = redact(event[key], key)
    event["event"] = redact_text(str(event.get("event", "")))
    return event


def configure_logging(*, json: bool, level: int = logging.INFO) -> None:
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
