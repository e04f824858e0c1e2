"""Checks every text input passes before any route sees it: no NUL characters, no deep JSON.

PostgreSQL cannot store a NUL character in text (`invalid byte sequence for encoding "UTF8": 0x00`),
and Python's JSON parser recurses once per nesting level (`RecursionError` at about 1,000). Both
used to end in a 500; here they end in a 4xx that names the field.

The checks are cheap on ordinary input: a body is parsed here only when a plain byte search finds
an escaped NUL or more brackets than the depth limit allows.
"""

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from fieldbridge.kit.errors import BadRequest, Unprocessable

MAX_JSON_DEPTH = 64
NUL = "\x00"


def nul_refused(fields: list[str]) -> Unprocessable:
    more = f" (and {len(fields) - 1} more)" if len(fields) > 1 else ""
    return Unprocessable(
        f"{fields[0]}: text may not contain a NUL character (\\u0000){more}; remove it and send again.",
        code="nul_character",
        details=[{"field": f, "problem": "contains a NUL character"} for f in fields],
    )


def too_deep() -> BadRequest:
    return BadRequest(
        f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep; "
        "FieldBridge requests need only a few.",
        code="json_too_deep",
    )


def _printable(name: str) -> str:
    return name.replace(NUL, "\\u0000")


def nul_in_pairs(pairs: Iterable[tuple[str, str]], where: str) -> list[str]:
    """Field names (`query.q`, `form.name`) whose name or value holds a NUL character."""
    return [f"{where}.{_printable(k)}" for k, v in pairs if NUL in k or NUL in v]


def nul_in_urlencoded(raw: bytes, where: str) -> list[str]:
    """The same for `a=1&b=2` text (a query string or a form body)."""
    if b"%00" not in raw and b"\x00" not in raw:
        return []
    pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return nul_in_pairs(pairs, where)


def _walk(value: Any) -> tuple[bool, list[str]]:
    """(deeper than the limit, paths of strings holding a NUL), without recursion."""
    found: list[str] = []
    stack: list[tuple[Any, str, int]] = [(value, "body", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                found.append(path)
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                return True, found
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                name = f"{path}.{_printable(str(key))}"
                if isinstance(key, str) and NUL in key:
                    found.append(name)
                stack.append((child, name, depth + 1))
    return False, found


# A JSON string (escapes included), and every byte that is not a bracket.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_INNERMOST = re.compile(rb"\[\]|\{\}")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _within_depth(body: bytes) -> bool:
    """True when the body's brackets nest at most MAX_JSON_DEPTH deep. Wide bodies (a batch of
    1,000 objects) are checked without parsing them: strings are cut out, the brackets that
    remain are collapsed innermost pair by innermost pair, one level per round, in C."""
    skeleton = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(MAX_JSON_DEPTH):
        if not skeleton:
            return True
        shorter = _INNERMOST.sub(b"", skeleton)  # one pass: one level, whichever the brackets
        if shorter == skeleton:
            return False  # unbalanced: let the parser below judge it
        skeleton = shorter
    return not skeleton


def check_json(body: bytes) -> None:
    """Refuses JSON nested too deep (400) or holding a NUL in a key or string (422). Invalid JSON
    is left to the parser that follows, which says so in its own words. A body in UTF-16 or
    UTF-32 (which the parsers read too) has NUL bytes, and is read whole to look for NULs."""
    if (
        b"\\u0000" not in body
        and b"\x00" not in body
        and (body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH or _within_depth(body))
    ):
        return
    try:
        value = json.loads(body)
    except RecursionError:
        raise too_deep() from None
    except ValueError:
        return
    deep, nul_paths = _walk(value)
    if deep:
        raise too_deep()
    if nul_paths:
        raise nul_refused(sorted(nul_paths))


def load_json(body: bytes) -> Any:
    """`json.loads` with the same limits, for routes that read their raw body (webhooks)."""
    check_json(body)
    return json.loads(body)
