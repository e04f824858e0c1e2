"""What can go wrong talking to Procore, classified by what the caller should do next.

    ProcoreError                        base; `.message` is written for a person
     ├── ReconnectRequired              credentials are gone (refresh lost, invalid_grant,
     │                                  token revoked, app uninstalled): the connection is
     │                                  already marked `needs_reconnect`; park work, do not retry
     ├── Retriable                      try again later; `.retry_after` seconds when known
     │    ├── RateLimited               429 (honour `.retry_after`)
     │    ├── ProcoreUnavailable        5xx, connect errors, timeouts before a response
     │    └── OutcomeUnknown            a write was sent but its response never arrived:
     │                                  look the record up before sending it again
     └── Rejected                       permanent for this request; `.status` and the body
          ├── NotPermitted              403 (tool permission, project outside app scope, ...)
          └── RemoteNotFound            404 (gone, or no read access)

`classify(response)` maps a Procore response to one of these (or None for success).
"""

from typing import Any

import httpx

from fieldbridge.connectors.base import ConnectorError, NeedsReconnect
from fieldbridge.connectors.procore.provider import RATE_LIMIT

APP_NOT_INSTALLED = "App is not connected to this company"


class ProcoreError(ConnectorError):
    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class ReconnectRequired(ProcoreError, NeedsReconnect):
    """The connection needs an admin to reconnect; it has been marked `needs_reconnect`."""

    def __init__(self, message: str, *, connection_id: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.connection_id = connection_id


class Retriable(ProcoreError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class RateLimited(Retriable):
    pass


class ProcoreUnavailable(Retriable):
    pass


class OutcomeUnknown(Retriable):
    pass


class Rejected(ProcoreError):
    pass


class NotPermitted(Rejected):
    pass


class RemoteNotFound(Rejected):
    pass


def body_message(response: httpx.Response) -> str:
    """The most readable message in a Procore error body, truncated (never the whole body)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "errors", "reason"):
            value = body.get(key)
            if isinstance(value, dict) and key == "error":
                value = value.get("message")
            if isinstance(value, dict):
                value = "; ".join(
                    f"{k} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in value.items()
                )
            if value:
                return str(value)[:300]
    return str(body)[:200]


def classify(response: httpx.Response) -> ProcoreError | None:
    """None for 2xx/3xx; otherwise the error the caller should raise."""
    status = response.status_code
    if status < 400:
        return None
    message = body_message(response)
    kw: dict[str, Any] = {"status": status, "body": message}
    if status == 429:
        return RateLimited(
            f"Procore rate limit reached: {message}",
            retry_after=RATE_LIMIT.retry_after(response.headers),
            **kw,
        )
    if status >= 500 or status == 408:
        return ProcoreUnavailable(
            f"Procore answered {status}; it will be retried.",
            retry_after=RATE_LIMIT.retry_after(response.headers),
            **kw,
        )
    if status == 401:
        return ReconnectRequired(
            "Procore no longer accepts this connection's token. Reconnect Procore.", **kw
        )
    if status == 403 and APP_NOT_INSTALLED.lower() in message.lower():
        return ReconnectRequired(
            "The FieldBridge app is no longer installed in this Procore company. "
            "Ask a Procore admin to install it in App Management, then reconnect.",
            **kw,
        )
    if status == 403:
        return NotPermitted(f"Procore refused: {message}", **kw)
    if status == 404:
        return RemoteNotFound(f"Procore has no such record (or no read access): {message}", **kw)
    return Rejected(f"Procore rejected the request ({status}): {message}", **kw)
