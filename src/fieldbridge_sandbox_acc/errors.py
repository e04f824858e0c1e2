"""APS / ACC error bodies as one exception type the app turns into responses.

Issues.yaml documents its 4xx answers without a body, so the shapes are the sandbox's
assumptions (docs/sandbox.md, "ACC error bodies"):
- ACC APIs (Issues, Forms): `{"code", "title", "detail", "errors": [{"field", "message"}]}`;
- Data Management (JSON:API): `{"jsonapi": {"version": "1.0"}, "errors": [{"status", "code", "detail"}]}`;
- gateway answers (401 token, 403 scope, 429, injected 5xx): APS's
  `{"developerMessage", "errorCode", "moreInfo"}`;
- Webhooks API: `{"id", "status", "code", "detail": [...]}`;
- OAuth token/revoke: RFC 6749 `{"error", "error_description"}`.
"""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Any

from fieldbridge_sandbox.errors import HttpError

MORE_INFO = "https://aps.autodesk.com/en/docs/oauth/v2/developers_guide/error_handling/"


class AccError(HttpError):
    """An HTTP error with an APS / ACC body."""


def gateway_body(status: int, message: str, reason: str) -> dict[str, Any]:
    return {"developerMessage": message, "errorCode": reason, "moreInfo": MORE_INFO}


def gateway_error(status: int, message: str, reason: str) -> AccError:
    return AccError(status, gateway_body(status, message, reason))


def unauthorized(message: str = "The token is invalid or has expired.") -> AccError:
    err = gateway_error(401, message, "AUTH-001")
    err.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return err


def insufficient_scope(needed: str) -> AccError:
    return gateway_error(403, f"The token does not carry the scope {needed}.", "AUTH-012")


def acc_error(status: int, detail: str, errors: list[dict[str, str]] | None = None) -> AccError:
    phrase = HTTPStatus(status).phrase
    code = phrase.upper().replace(" ", "_")
    body: dict[str, Any] = {"code": code, "title": phrase, "detail": detail}
    if errors:
        body["errors"] = errors
    return AccError(status, body)


def bad_input(detail: str, errors: list[dict[str, str]] | None = None) -> AccError:
    return acc_error(400, detail, errors)


def not_found(detail: str = "Not found") -> AccError:
    return acc_error(404, detail)


def forbidden(detail: str) -> AccError:
    return acc_error(403, detail)


def dm_error(status: int, detail: str) -> AccError:
    code = HTTPStatus(status).phrase.upper().replace(" ", "_")
    return AccError(
        status,
        {"jsonapi": {"version": "1.0"}, "errors": [{"status": str(status), "code": code, "detail": detail}]},
    )


def webhooks_error(status: int, message: str) -> AccError:
    """The Webhooks API's error body (webhooks.yaml documents an `id` string)."""
    return AccError(status, {"id": str(uuid.uuid4()), "status": status, "code": "ERROR", "detail": [message]})


def oauth_error(status: int, error: str, description: str) -> AccError:
    return AccError(status, {"error": error, "error_description": description})
