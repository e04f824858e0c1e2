"""Reading and validating request bodies (JSON, form-encoded or multipart) per operation."""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from fieldbridge_sandbox.auth import principal, sandbox
from fieldbridge_sandbox.errors import bad_request
from fieldbridge_sandbox.validation import nest_form

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


async def read_body(request: Request) -> tuple[Any, bool]:
    """The body as Python data, and whether it came from a form (strings to coerce)."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(FORM_TYPES):
        form = await request.form()
        items = [(k, v.filename if isinstance(v, UploadFile) else v) for k, v in form.multi_items()]
        return nest_form(items), True
    raw = await request.body()
    if not raw.strip():
        return {}, False
    try:
        return json.loads(raw), False
    except ValueError:
        raise bad_request("The request body is not valid JSON") from None


async def validated_body(request: Request) -> dict[str, Any]:
    """Check the token (401 comes first, as in Procore), then parse the body and validate it
    against the schema of this route's operation."""
    principal(request)
    state = sandbox(request)
    body, is_form = await read_body(request)
    if state.config.validate_requests:
        template: str = request.scope["route"].path
        body = state.validators.validate(request.method, template, body, coerce=is_form)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    return body
