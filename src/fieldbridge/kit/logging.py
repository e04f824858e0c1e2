"""Logging: one format for every line of the process, secrets redacted wherever they appear.

structlog and the standard library (uvicorn, SQLAlchemy, Procrastinate, ...) share one handler
on stdout and one chain of processors, so a JSON process prints JSON lines only:

    event dict -> level, logger, timestamp -> exception as data -> redaction -> renderer

Exceptions become an `exception` field (type, message, frames: file, line, function) and pass
the redaction like any other field. Local variables are never rendered, in JSON or on the
console: a traceback would otherwise print passwords, PINs and session cookies held in locals.
"""

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from structlog.stdlib import ProcessorFormatter
from structlog.tracebacks import ExceptionDictTransformer

SENSITIVE_KEYS = re.compile(
    r"(pass(word)?|pin|token|secret|authorization|api[_-]?key|cookie|code_verifier|client_secret)",
    re.IGNORECASE,
)
BEARER = re.compile(r"(Bearer\s+|fb[kds]_)[A-Za-z0-9._~+/=-]+")
# Secrets in a URL's query (an OAuth callback's code/state in an access log line).
QUERY_SECRET = re.compile(
    r"([?&](?:code|state|token|access_token|refresh_token|client_secret|password|pin)=)[^&\s\"']+",
    re.IGNORECASE,
)
# SQLAlchemy error text carries the statement's bound values (hashes, sealed tokens, PINs).
SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*\]")
REDACTED = "[redacted]"
HANDLER_NAME = "fieldbridge"
QUIET = ("httpx", "httpcore")


def redact_text(text: str) -> str:
    text = BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    return SQL_PARAMETERS.sub(f"[parameters: {REDACTED}]", text)


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
        if key not in ("event", "exc_info") and not key.startswith("_"):
            event[key] = redact(event[key], key)
    event["event"] = redact_text(str(event.get("event", "")))
    return event


class _Stdout(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stdout` is now (test capture swaps it), under logging's lock."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)
        self.set_name(HANDLER_NAME)

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def _renderer(json: bool) -> list[Any]:
    if json:
        no_locals = ExceptionDictTransformer(show_locals=False)
        return [
            structlog.processors.ExceptionRenderer(no_locals),
            _redact_processor,
            structlog.processors.JSONRenderer(),
        ]
    # Plain text (rich's traceback would print every frame's locals), formatted before the
    # redaction so it passes it too.
    return [
        structlog.processors.format_exc_info,
        _redact_processor,
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
    ]


def configure_logging(*, json: bool, level: int = logging.INFO) -> None:
    """Route structlog and the standard library (uvicorn's loggers included) through one handler.

    Safe to call again (each app and command does): the handler is replaced, not added twice.
    """
    stamp: list[Any] = [
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = ProcessorFormatter(
        foreign_pre_chain=stamp,
        processors=[ProcessorFormatter.remove_processors_meta, *_renderer(json)],
    )
    handler = _Stdout()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:  # a line per outbound request (httpx) is noise, and URLs carry queries
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own config (when it ran first) gives these their own plain-text handlers.
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *stamp,
            ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
