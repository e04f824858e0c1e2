"""Validation of requests and responses against Autodesk's OpenAPI documents with openapi-core.

`data/Issues.yaml`, `data/webhooks.yaml` and `data/authentication.yaml` are Autodesk's documents,
unchanged (see data/NOTICE.md). `DOCUMENTS` says which paths each one governs. When a document
is loaded the sandbox applies a short, listed set of errata (`ERRATA`, also in docs/sandbox.md)
where it contradicts its own descriptions so that no client could satisfy it; everything else
is enforced as published, including `IssuePayload`'s required `title`, `issueSubtypeId` and
`status` on PATCH.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
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
WEBHOOKS_PREFIX = "/webhooks/v1/"
# the token and revoke operations only: authorize is a browser page whose errors are redirects
AUTH_PATHS = ("/authentication/v2/token", "/authentication/v2/revoke")

# Where the published document cannot be met, what the sandbox enforces instead.
_VALUE_ANY = {
    "anyOf": [{"type": "string", "nullable": True}, {"type": "number", "nullable": True}],
    "description": "Custom attribute value. Possible value types: string, number, null.",
}
ERRATA = [
    "all documents, servers: they name the production host; the sandbox validates paths on any host.",
    "Issues.yaml, customAttributes[].value (Issue, IssuePayload) is `type: object` while its"
    " description says 'Possible value types: string, number, null'; the sandbox accepts string,"
    " number or null.",
    "authentication.yaml, revoke: the 200 answer declares a JSON object while its description says"
    " 'This operation has no response body'; the sandbox answers without a body.",
]


def _issues_errata(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for name in ("Issue", "IssuePayload"):
        item = schemas[name]["properties"]["customAttributes"]["items"]
        item["properties"]["value"] = dict(_VALUE_ANY)


def _authentication_errata(doc: dict[str, Any]) -> None:
    doc["paths"]["/authentication/v2/revoke"]["post"]["responses"]["200"].pop("content", None)


@dataclass(frozen=True)
class Document:
    """One of Autodesk's documents and the request paths it governs."""

    file: str
    prefixes: tuple[str, ...]
    bearer_first: bool  # a caller without a valid token gets the route's 401 before validation
    errata: Callable[[dict[str, Any]], None] = lambda doc: None

    def governs(self, path: str) -> bool:
        return path.startswith(self.prefixes)


ISSUES = Document("Issues.yaml", (ISSUES_PREFIX,), True, _issues_errata)
WEBHOOKS = Document("webhooks.yaml", (WEBHOOKS_PREFIX,), True)
AUTHENTICATION = Document("authentication.yaml", AUTH_PATHS, False, _authentication_errata)
DOCUMENTS = (ISSUES, WEBHOOKS, AUTHENTICATION)


def document_for(path: str) -> Document | None:
    return next((d for d in DOCUMENTS if d.governs(path)), None)


@cache
def load_document(file: str) -> dict[str, Any]:
    text = resources.files("fieldbridge_sandbox_acc").joinpath(f"data/{file}").read_text()
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


def issues_document() -> dict[str, Any]:
    return load_document(ISSUES.file)


@cache
def openapi(document: Document) -> OpenAPI:
    doc = copy.deepcopy(load_document(document.file))
    doc["servers"] = [{"url": "/"}]
    document.errata(doc)
    return OpenAPI.from_dict(doc)


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


def validate_request(document: Document, request: SpecRequest) -> list[dict[str, str]]:
    """[] when the request meets the document; else what is wrong, field by field."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openapi-core warns that oauth2 schemes are unchecked
        try:
            openapi(document).validate_request(request)
        except PathNotFound:
            return []  # not an operation of the document (the routes' own 404 answers it)
        except ValidationError as exc:
            return _messages(exc)
    return []


def validate_response(
    document: Document, request: SpecRequest, response: SpecResponse
) -> list[dict[str, str]] | None:
    """[] when valid; None when the status is not documented for the operation (not checkable);
    else the problems."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            openapi(document).validate_response(request, response)
        except (PathNotFound, ResponseNotFound):
            return None
        except ValidationError as exc:
            return _messages(exc)
    return []
