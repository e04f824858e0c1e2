"""Ids of other platforms: always strings in FieldBridge.

Procore's ids are big integers, Autodesk's look like "b.1234-...": FieldBridge stores, compares
and shows every one as text (`String(64)` columns). `RemoteId` is the Pydantic type for them
in FieldBridge's own API: it answers a string and accepts a string or a JSON integer (a
client copying a Procore id), so `"562949953421312"` and `562949953421312` are the same id.
"""

from typing import Annotated, Any

from pydantic import BeforeValidator, StringConstraints, WithJsonSchema

MAX_LENGTH = 64


def as_remote_id(value: Any) -> Any:
    """An integer becomes its decimal text; text is trimmed; anything else is left for
    Pydantic to refuse with a clear message (a bool is not an id)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return value


RemoteId = Annotated[
    str,
    BeforeValidator(as_remote_id),
    StringConstraints(min_length=1, max_length=MAX_LENGTH),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "minLength": 1, "maxLength": MAX_LENGTH}, {"type": "integer"}]},
        mode="validation",
    ),
]


def as_numeric_id(value: Any) -> Any:
    """`as_remote_id`, and digits in canonical form ("0042" is "42")."""
    value = as_remote_id(value)
    if isinstance(value, str) and value.isdigit() and len(value) <= 19:
        return str(int(value))
    return value


NUMERIC_PATTERN = r"^[1-9][0-9]{0,18}$"
# A platform whose ids are numbers (Procore): the same string, refused unless it is one.
NumericRemoteId = Annotated[
    str,
    BeforeValidator(as_numeric_id),
    StringConstraints(pattern=NUMERIC_PATTERN),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "pattern": NUMERIC_PATTERN}, {"type": "integer", "minimum": 1}]},
        mode="validation",
    ),
]


def numeric_order(remote_id: str) -> tuple[int, int | str]:
    """A sort key that keeps numeric ids (Procore's) in numeric order and puts other
    platforms' ids after them in text order: "9" < "10" < "b.1"."""
    if remote_id.isdigit():
        return (0, int(remote_id))
    return (1, remote_id)
