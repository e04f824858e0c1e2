"""What can go wrong talking to Autodesk, classified by what the caller does next.

    AccError                     base (a `ConnectorError`); `.message` is written for a person
     ├── ReconnectRequired       the connection is marked `needs_reconnect` (401, refresh lost)
     ├── Retriable               later; `.retry_after` when APS said (429 Retry-After)
     │    ├── RateLimited        429
     │    ├── AccUnavailable     5xx, unreachable
     │    └── OutcomeUnknown     a write left and its answer was lost: look it up first
     └── Rejected                permanent until a person acts
          ├── NotPermitted       403 (no permission, tool not enabled)
          └── RemoteNotFound     404 (gone, or no access)

`classify(response)` maps a response (None for success); `map_error` maps these onto
delivery's taxonomy; `AUTH_ERRORS` hands them to the shared OAuth client and token manager.
"""

from typing import Any

import httpx

from fieldbridge.connections import oauth as auth
from fieldbridge.connections.outcomes import (
    NO_PERMISSION,
    DeliveryFailure,
    ParkConnection,
    Transient,
    plain_reason,
    refusal,
)
from fieldbridge.connections.outcomes import OutcomeUnknown as UnknownOutcome
from fieldbridge.connections.outcomes import Rejected as RejectedOutcome
from fieldbridge.connectors.acc.provider import RATE_LIMIT


class AccError(auth.ProviderError):
    pass


class ReconnectRequired(AccError, auth.ReconnectRequired):
    pass


class Retriable(AccError, auth.Unavailable):
    pass


class RateLimited(Retriable):
    pass


class AccUnavailable(Retriable):
    pass


class OutcomeUnknown(Retriable):
    pass


class Rejected(AccError):
    pass


class NotPermitted(Rejected):
    pass


class RemoteNotFound(Rejected):
    pass


class TokenRejected(AccError, auth.TokenRejected):
    pass


class TokenResponseLost(AccError, auth.TokenResponseLost):
    pass


AUTH_ERRORS = auth.AuthErrors(
    rejected=TokenRejected, lost=TokenResponseLost, unavailable=AccUnavailable, reconnect=ReconnectRequired
)


def body_message(response: httpx.Response) -> str:
    """The readable part of an APS error body (`detail`, `title`, `developerMessage`, ...)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        for key in (
            "detail",
            "developerMessage",
            "title",
            "message",
            "error_description",
            "reason",
            "errors",
        ):
            value = body.get(key)
            if isinstance(value, list) and value:
                value = "; ".join(str(v.get("detail") or v.get("title") or v) for v in value if v)
            if value:
                return str(value)[:300]
    return str(body)[:200]


def classify(response: httpx.Response) -> AccError | None:
    status = response.status_code
    if status < 400:
        return None
    message = body_message(response)
    kw: dict[str, Any] = {"status": status, "body": message}
    if status == 429:
        return RateLimited(
            f"Autodesk rate limit reached: {message}",
            retry_after=RATE_LIMIT.retry_after(response.headers),
            **kw,
        )
    if status >= 500 or status == 408:
        return AccUnavailable(
            f"Autodesk answered {status}; it will be retried.",
            retry_after=RATE_LIMIT.retry_after(response.headers),
            **kw,
        )
    if status == 401:
        return ReconnectRequired("Autodesk no longer accepts this connection's token. Reconnect ACC.", **kw)
    if status == 403:
        return NotPermitted(f"Autodesk refused: {message}", **kw)
    if status == 404:
        return RemoteNotFound(f"Autodesk has no such record (or no access): {message}", **kw)
    return Rejected(f"Autodesk rejected the request ({status}): {message}", **kw)


def raise_for(response: httpx.Response) -> None:
    error = classify(response)
    if error is not None:
        raise error


def map_error(exc: BaseException) -> DeliveryFailure | None:
    """An `AccError` (or the shared OAuth errors raised for ACC) as a delivery failure."""
    if isinstance(exc, auth.ReconnectRequired):
        return ParkConnection(exc.message, status=exc.status)
    if isinstance(exc, OutcomeUnknown):
        return UnknownOutcome(exc.message, status=exc.status)
    if isinstance(exc, Retriable):
        return Transient(exc.message, retry_after=exc.retry_after, status=exc.status)
    if isinstance(exc, NotPermitted) and not plain_reason(exc.message):
        return refusal(NO_PERMISSION, exc.message, status=exc.status)
    if isinstance(exc, Rejected):
        return RejectedOutcome(exc.message, status=exc.status)
    if isinstance(exc, AccError):
        return Transient(exc.message, status=exc.status)
    return None
