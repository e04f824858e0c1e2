"""Request-body validation against Procore's published request schemas.

`data/procore-operations.json` is a verbatim copy of the shared reference (request schemas
extracted from Procore's OpenAPI document). At start-up every write operation the sandbox
serves is compiled into a validator closure; a route that has no schema makes `create_app`
fail. Rules: a missing required field is 400, a wrong type / enum / date format is 422, both
with Rails-style `{"errors": {"<path>": ["..."]}}`. JSON bodies are checked strictly; form and
multipart bodies are strings, so they are coerced first (Rails does the same).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

from fieldbridge_sandbox.errors import ProcoreError, field_errors
from fieldbridge_sandbox.supplements import INVALID_AS_400, OVERRIDES, SUPPLEMENTS

Errors = dict[str, list[str]]
Check = Callable[[Any, str, Errors, Errors, bool], Any]
OperationKey = tuple[str, str]

_CUSTOM_FIELD = re.compile(r"^custom_field_\d+$")


@cache
def load_operations() -> dict[OperationKey, dict[str, Any]]:
    """(METHOD, path template) -> operation, from the bundled procore-operations.json."""
    text = resources.files("fieldbridge_sandbox").joinpath("data/procore-operations.json")
    doc = json.loads(text.read_text())
    return {(op["method"], op["path"]): op for op in doc["operations"]}


def _is_placeholder(schema: dict[str, Any]) -> bool:
    return schema.get("description") == "(nested object)" or not schema


def _type_name(value: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _coerce(kind: str, value: Any) -> Any:
    """Form values arrive as strings; convert them the way Rails params would be read."""
    if not isinstance(value, str):
        return value
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean" and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


def compile_schema(
    schema: dict[str, Any], drop_required: frozenset[str] = frozenset(), path: str = ""
) -> Check:
    """Build a checker: (value, path, missing, invalid, coerce) -> coerced value."""
    if _is_placeholder(schema):
        return lambda v, p, m, i, c: v
    kind = schema.get("type")
    enum = [e for e in schema.get("enum", []) if e is not None]
    fmt = schema.get("format")
    if kind == "object" or "properties" in schema:
        required = [r for r in schema.get("required", []) if f"{path}.{r}".lstrip(".") not in drop_required]
        props = {
            k: compile_schema(v, drop_required, f"{path}.{k}")
            for k, v in (schema.get("properties") or {}).items()
            if not k.startswith("custom_field_%")
        }

        def check_object(v: Any, p: str, missing: Errors, invalid: Errors, coerce: bool) -> Any:
            if not isinstance(v, dict):
                invalid.setdefault(p or "body", []).append(f"must be an object, got {_type_name(v)}")
                return v
            for name in required:
                if v.get(name) is None or v.get(name) == "":
                    missing.setdefault(f"{p}.{name}".lstrip("."), []).append("is missing")
            for name, sub in props.items():
                if name in v and v[name] is not None:
                    v[name] = sub(v[name], f"{p}.{name}".lstrip("."), missing, invalid, coerce)
            return v

        return check_object
    if kind == "array":
        item = compile_schema(schema.get("items") or {}, drop_required, f"{path}[]")

        def check_array(v: Any, p: str, missing: Errors, invalid: Errors, coerce: bool) -> Any:
            if not isinstance(v, list):
                invalid.setdefault(p, []).append(f"must be an array, got {_type_name(v)}")
                return v
            return [item(x, f"{p}[{n}]", missing, invalid, coerce) for n, x in enumerate(v)]

        return check_array
    return _scalar_check(kind, enum, fmt)


def _scalar_check(kind: str | None, enum: list[Any], fmt: str | None) -> Check:
    def check(v: Any, p: str, missing: Errors, invalid: Errors, coerce: bool) -> Any:
        if coerce and kind:
            v = _coerce(kind, v)
        ok = (
            kind is None
            or (kind == "string" and isinstance(v, str))
            or (kind == "integer" and isinstance(v, int) and not isinstance(v, bool))
            or (kind == "number" and isinstance(v, int | float) and not isinstance(v, bool))
            or (kind == "boolean" and isinstance(v, bool))
        )
        if not ok:
            invalid.setdefault(p, []).append(f"must be of type {kind}, got {_type_name(v)}")
            return v
        if enum and v not in enum and not _placeholder_enum(enum):
            invalid.setdefault(p, []).append(f"must be one of {', '.join(map(str, enum))}")
        if isinstance(v, str) and fmt in ("date", "date-time") and not _valid_date(v, fmt):
            invalid.setdefault(p, []).append(f"is not a valid ISO 8601 {fmt}")
        return v

    return check


def _placeholder_enum(enum: list[Any]) -> bool:
    return len(enum) == 1 and isinstance(enum[0], str) and " " in enum[0]


def _valid_date(value: str, fmt: str) -> bool:
    try:
        if fmt == "date":
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


class Validators:
    """Compiled request-body validators keyed by (METHOD, path template)."""

    def __init__(self) -> None:
        self.schemas: dict[OperationKey, dict[str, Any]] = {}
        self.sources: dict[OperationKey, str] = {}
        self.checks: dict[OperationKey, Check] = {}
        operations = load_operations()
        # Operations documenting 400 but no 422 answer every body or business-rule error 400.
        self.invalid_as_400: set[OperationKey] = INVALID_AS_400 | {
            key
            for key, op in operations.items()
            if "400" in op.get("responses", {}) and "422" not in op.get("responses", {})
        }
        for key, op in operations.items():
            body = op.get("requestBody")
            if body is not None:
                self._add(key, body.get("schema") or {}, "procore-operations.json")
        for key, schema in SUPPLEMENTS.items():
            base = self.schemas.get(key, {})
            merged = _merge(base, schema)
            self._add(
                key,
                merged,
                "procore-operations.json + supplement"
                if key in self.schemas
                else "supplement (procore-api-endpoints.md)",
            )

    def _add(self, key: OperationKey, schema: dict[str, Any], source: str) -> None:
        self.schemas[key] = schema
        self.sources[key] = source
        self.checks[key] = compile_schema(schema, frozenset(OVERRIDES.get(key, ())))

    def has(self, method: str, path: str) -> bool:
        return (method, path) in self.checks

    def validate(self, method: str, path: str, body: Any, *, coerce: bool) -> Any:
        check = self.checks[(method, path)]
        missing: Errors = {}
        invalid: Errors = {}
        value = check(body, "", missing, invalid, coerce)
        if missing:
            raise field_errors(400, missing)
        if invalid:
            raise field_errors(422, invalid)
        return value


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    if not base:
        return extra
    merged = dict(base)
    merged["required"] = sorted(set(base.get("required", [])) | set(extra.get("required", [])))
    props = dict(base.get("properties") or {})
    for name, sub in (extra.get("properties") or {}).items():
        props[name] = _merge(props.get(name, {}), sub) if name in props else sub
    merged["properties"] = props
    return merged


def nest_form(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """Rack-style nesting of form keys: `a[b][c]=1`, `a[list][]=x` -> nested dicts/lists."""
    out: dict[str, Any] = {}
    for key, value in items:
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node: Any = out
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            nxt = parts[n + 1] if not last else None
            if part == "[]":
                break
            if last:
                node[part] = value
            elif nxt == "[]":
                node.setdefault(part, []).append(value)
                break
            else:
                node = node.setdefault(part, {})
    return out


__all__ = ["ProcoreError", "Validators", "load_operations", "nest_form"]
