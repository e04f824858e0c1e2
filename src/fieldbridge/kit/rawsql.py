"""Plain SQL for the few hot paths that run on the PostgreSQL driver itself (`Database.raw`),
derived from the same `Table` objects the ORM maps, so a column added to a model is added here.

    sql = insert_json(ClockShift.__table__, returning="id, client_id")
    await conn.fetch(sql, rows_json(ClockShift.__table__, values))

Rows travel as one JSON parameter (`jsonb_to_recordset`): one prepared statement for any
number of rows. Columns a row leaves out get the model's Python default, as a Core INSERT
gives them; `id` comes from its sequence.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

import pydantic_core
from sqlalchemy import JSON, Column, Table
from sqlalchemy.dialects import postgresql

T = TypeVar("T")
_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


@cache
def _columns(table: Table) -> tuple[Column[Any], ...]:
    return tuple(c for c in table.columns if not (c.primary_key and c.autoincrement))


def _sql_type(column: Column[Any]) -> str:
    return str(column.type.compile(dialect=_DIALECT))


def record_type(table: Table, names: Iterable[str] | None = None) -> str:
    """`x(col type, ...)` for `jsonb_to_recordset(...) AS x(...)`: every inserted column, or `names`."""
    wanted = None if names is None else list(names)
    columns = _columns(table) if wanted is None else tuple(table.columns[n] for n in wanted)
    return "x(" + ", ".join(f'"{c.name}" {_sql_type(c)}' for c in columns) + ")"


@cache
def insert_json(table: Table, *, returning: str, param: int = 1, where: str = "") -> str:
    """`INSERT INTO <table> (...) SELECT ... FROM jsonb_to_recordset($param) [WHERE ...]`, for
    `rows_json`."""
    names = ", ".join(f'"{c.name}"' for c in _columns(table))
    return (
        f'INSERT INTO "{table.name}" ({names}) SELECT {names} '
        f"FROM jsonb_to_recordset(${param}::jsonb) AS {record_type(table)}"
        + (f" WHERE {where}" if where else "")
        + f" RETURNING {returning}"
    )


@cache
def columns_of(table: Table, alias: str) -> str:
    """Every column of `table` under `alias`, in `load`'s order."""
    return ", ".join(f'{alias}."{c.name}"' for c in table.columns)


@cache
def _keys(table: Table) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The attribute name of each column, in `columns_of`'s order, and where the JSON ones are."""
    columns = list(table.columns)
    return tuple(c.key for c in columns), tuple(n for n, c in enumerate(columns) if isinstance(c.type, JSON))


def load(model: type[T], record: Sequence[Any]) -> T:
    """A row read with `columns_of` as an instance of its model, not attached to any session
    (JSON columns decoded as the ORM decodes them)."""
    keys, json_at = _keys(model.__table__)  # type: ignore[attr-defined]
    values = dict(zip(keys, record, strict=False))
    for n in json_at:
        value = record[n]
        if isinstance(value, str):
            values[keys[n]] = json.loads(value)
    return instance(model, values)


def instance(model: type[T], values: Mapping[str, Any]) -> T:
    """An instance of a mapped class holding `values` as if loaded, for a hot path that reads
    and writes through the driver: the ORM's constructor sets each attribute through its
    instrumentation (about 2 microseconds apiece); this fills the instance's dict at once.
    Never add it to a session."""
    made: T = model.__mapper__.class_manager.new_instance()  # type: ignore[attr-defined]
    made.__dict__.update(values)
    return made


@cache
def defaults(table: Table) -> tuple[tuple[str, Any, bool], ...]:
    """(name, default, whether to call it) of each inserted column, once per table."""
    out = []
    for column in _columns(table):
        default = column.default
        arg = getattr(default, "arg", None)
        out.append((column.name, arg, bool(getattr(default, "is_callable", False))))
    return tuple(out)


def row(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every inserted column of `table` for one row: `values`, else the column's Python default
    (SQLAlchemy wraps a callable one to take the execution context)."""
    out = {}
    for name, default, call in defaults(table):
        if name in values:
            out[name] = values[name]
        else:
            out[name] = default(None) if call else default
    return out


def rows_json(table: Table, rows: Sequence[Mapping[str, Any]]) -> str:
    """`rows` (complete or not: see `row`) as the JSON parameter of `insert_json`."""
    return to_json([row(table, r) for r in rows])


def to_json(items: Sequence[Mapping[str, Any]]) -> str:
    """Any list of column values (an UPDATE's `jsonb_to_recordset`) as one JSON parameter:
    instants and dates in ISO 8601, enums as their values (pydantic's encoder, in Rust: a
    third of the standard library's time with a `default` hook, on every phone call)."""
    return pydantic_core.to_json(items).decode()
