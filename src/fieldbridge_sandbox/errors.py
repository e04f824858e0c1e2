"""Procore's error bodies, as one exception type the app turns into responses.

Shapes (see docs/sandbox.md, "Error bodies"):
- validation (400 missing field, 422 wrong type/enum/format or business rule):
  Rails style `{"errors": {"<field path>": ["<message>", ...]}}`;
- everything else (401, 403, 404, 409, 429, 5xx): the generic v1 error schema of the OAS,
  `{"code": <status>, "message": "...", "error": "...", "reason": "..."}`, with
  `errors` also set to the message, as some Procore endpoints document `{"errors": "<string>"}`;
- OAuth token/revoke: RFC 6749 `{"error": "invalid_grant", "error_description": "..."}`.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any


class HttpError(Exception):
    """An HTTP error with an emulated platform's JSON body; raised anywhere in a handler."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    def encode(self) -> bytes:
        return json.dumps(self.body).encode()


class ProcoreError(HttpError):
    """An HTTP error with Procore's body."""


def api_error(status: int, message: str, reason: str | None = None) -> ProcoreError:
    phrase = HTTPStatus(status).phrase
    return ProcoreError(
        status,
        {
            "code": status,
            "message": message,
            "error": phrase,
            "reason": reason or phrase.lower().replace(" ", "_"),
            "errors": message,
        },
    )


def field_errors(status: int, errors: dict[str, list[str]]) -> ProcoreError:
    return ProcoreError(status, {"errors": errors})


def unauthorized(message: str = "The access token is invalid") -> ProcoreError:
    err = api_error(401, message, "invalid_token")
    err.headers["WWW-Authenticate"] = (
        f'Bearer realm="Procore", error="invalid_token", error_description="{message}"'
    )
    return err


def forbidden(message: str, reason: str = "forbidden") -> ProcoreError:
    return api_error(403, message, reason)


def not_found(message: str = "Not Found") -> ProcoreError:
    return api_error(404, message, "not_found")


def bad_request(message: str) -> ProcoreError:
    return api_error(400, message, "bad_request")


def oauth_error(status: int, error: str, description: str) -> ProcoreError:
    return ProcoreError(status, {"error": error, "error_description": description})
