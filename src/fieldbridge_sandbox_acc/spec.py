"""Validation of requests and responses against Autodesk's Issues.yaml with openapi-core.

`data/Issues.yaml` is Autodesk's document, unchanged (see data/NOTICE.md). When it is loaded
the sandbox applies a short, listed set of errata (`ERRATA`, also in docs/sandbox.md) where the
document contradicts its own descriptions so that no client could satisfy it; everything else
is enforced as published, including `IssuePayload`'s required `title`, `issueSubtypeId` and
`status` on PATCH.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.exceptions import ValidationError
from werkzeug.datastructures import Headers, ImmutableMultiDict

ISSUES_PREFIX = "/construction/issues/v1/"

# Where the published document cannot be met, what the sandbox enforces instead.
_VALUE_ANY = {
    "anyOf": [{"type": "string", "nullable": True}, {"type": "number", "nullable": True}],
    "description": "Custom attribute value. Possible value types: string, number, null.",
}
ERRATA = [
    "servers: the document names the production host; the sandbox validates paths on any host.",
    "customAttributes[].value (Issue, IssuePayload) is `type: object` while its description says"
    " 'Possible value types: string, number, null'; the sandbox accepts string, number or null.",
]


def _apply_errata(doc: dict[str, Any]) -> dict[str, Any]:
    doc["servers"] = [{"url": "/"}]
    schemas = doc["components"]["schemas"]
    for name in ("Issue", "IssuePayload"):
        item = schemas[name]["properties"]["customAttributes"]["items"]
        item["properties"]["value"] = dict(_VALUE_ANY)
    return doc


@cache
def issues_document() -> dict[str, Any]:
    text = resources.files("fieldbridge_sandbox_acc").joinpath("data/Issues.yaml").read_text()
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


@cache
def issues_api() -> OpenAPI:
    import copy

    return OpenAPI.from_dict(_apply_errata(copy.deepcopy(issues_document())))


@dataclass
class SpecRequest:
    """openapi-core's Request protocol over the parts of an ASGI request."""

    host_url: str
    path: str
    method: str
    body: bytes
    content_type: str
    parameters: RequestParameters


@dataclass
class SpecResponse:
    data: bytes
    status_code: int
    content_type: str
    headers: Headers = field(default_factory=Headers)


def spec_request(
    host_url: str, method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> SpecRequest:
    decoded = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
    hdrs = Headers(decoded)
    ctype = (hdrs.get("content-type") or "application/json").split(";")[0].strip()
    return SpecRequest(
        host_url=host_url,
        path=path,
        method=method.lower(),
        body=body,
        content_type=ctype,
        parameters=RequestParameters(
            path={},
            query=ImmutableMultiDict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)),
            header=hdrs,
            cookie=ImmutableMultiDict(),
        ),
    )


def _messages(exc: BaseException) -> list[dict[str, str]]:
    """Flatten openapi-core's exception chain into `[{field, message}]`."""
    out: list[dict[str, str]] = []
    seen: set[int] = set()
    node: BaseException | None = exc
    param: str | None = None  # set while walking a parameter's error chain
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        param = getattr(node, "name", None) or param
        for err in getattr(node, "schema_errors", ()) or ():
            path = ".".join(str(p) for p in getattr(err, "absolute_path", ()))
            where = f"{param}.{path}" if param and path else (param or path or "body")
            out.append({"field": where, "message": str(getattr(err, "message", err))})
        node = node.__cause__ or node.__context__
    if not out and param:
        out.append({"field": param, "message": str(exc)})
    if not out:
        out.append({"field": "request", "message": str(exc)})
    return out


def validate_request(request: SpecRequest) -> list[dict[str, str]]:
    """[] when the request meets the document; else what is wrong, field by field."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openapi-core warns that oauth2 schemes are unchecked
        try:
            issues_api().validate_request(request)
        except PathNotFound:
            return []  # not an Issues operation (the routes' own 404 answers it)
        except ValidationError as exc:
            return _messages(exc)
    return []


def validate_response(request: SpecRequest, response: SpecResponse) -> list[dict[str, str]] | None:
    """[] when valid; None when the status is not documented for the operation (not checkable);
    else the problems."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            issues_api().validate_response(request, response)
        except (PathNotFound, ResponseNotFound):
            return None
        except ValidationError as exc:
            return _messages(exc)
    return []
