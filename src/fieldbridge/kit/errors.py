"""Errors a person can act on, rendered as one JSON shape everywhere.

    FieldBridgeError                 status + code + message + details
     ├── BadRequest        400
     ├── NotAuthenticated  401
     ├── Forbidden         403
     ├── NotFound          404       (also what another company's ids look like)
     ├── Conflict          409
     ├── Unprocessable     422
     ├── PayloadTooLarge   413
     └── TooManyRequests   429

Every API error body is `{"error": {"code": ..., "message": ..., "details": ...}}`.
"""

from typing import Any


class FieldBridgeError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details
        self.headers = headers

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


class BadRequest(FieldBridgeError):
    status_code = 400
    code = "bad_request"


class NotAuthenticated(FieldBridgeError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(FieldBridgeError):
    status_code = 403
    code = "forbidden"


class NotFound(FieldBridgeError):
    status_code = 404
    code = "not_found"


class Conflict(FieldBridgeError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(FieldBridgeError):
    status_code = 413
    code = "payload_too_large"


class Unprocessable(FieldBridgeError):
    status_code = 422
    code = "invalid"


class TooManyRequests(FieldBridgeError):
    status_code = 429
    code = "too_many_requests"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}
