"""Workers from a CSV file: create new ones, update existing ones by employee id.

What a spreadsheet saves is read as a person meant it:

- the encoding: UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8"), or UTF-16 with one;
- the separator: `,`, `;` (Excel in most of Europe), tab or `|`, whichever makes a `name` column
  of the header (header names ignore case and spaces: `Employee ID` is `employee_id`);
- line numbers as an editor shows them (the header is line 1), in every problem reported.

A bad line (an unclosed quote, a NUL character, a wrong email, a PIN another worker holds) is
reported and skipped; every other line is imported. The work is done in bulk: one query for the
company's employee ids and PINs, then batched inserts and updates.
"""

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.repository import WorkerRepository
from fieldbridge.accounts.schemas import CsvImportResult, WorkerIn
from fieldbridge.accounts.service import pin_digest
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.errors import Conflict, Unprocessable
from fieldbridge.settings import Settings

CSV_COLUMNS = ("name", "title", "trade", "employee_id", "email", "phone", "pin", "is_foreman")
SEPARATORS = (",", ";", "\t", "|")
TRUE_WORDS = frozenset({"1", "yes", "y", "true", "x", "si", "sí"})
MAX_LISTED = 200  # problems listed one by one; the rest are counted
FORMAT = (
    "A CSV file (UTF-8, with or without BOM; `,` or `;` separated) whose first line names the "
    "columns: `name` (required), " + ", ".join(f"`{c}`" for c in CSV_COLUMNS[1:]) + ". "
    "A line with an existing `employee_id` updates that worker (empty cells change nothing); "
    "any other line creates one. Bad lines come back in `errors` with their line number."
)
LINE = re.compile(r".*?(?:\r\n|\r|\n)|.+", re.DOTALL)  # what editors count as a line, with its end


@dataclass
class Line:
    number: int
    fields: dict[str, Any]


@dataclass
class Parsed:
    lines: list[Line] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    def problem(self, number: int, text: str) -> None:
        self.problems.append((number, text))


def decode(data: bytes) -> str:
    """The file's text; a clear 422 when it is not text FieldBridge can read."""
    encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Unprocessable(
            "The file is not UTF-8 text. In Excel choose Save As → 'CSV UTF-8 (Comma delimited)'.",
            code="csv_not_utf8",
            details={"byte_offset": exc.start},
        ) from None


def _column(header: str) -> str:
    return "_".join(header.strip().lower().split())


def _dialect(first_line: str) -> tuple[str, list[str]]:
    """The separator that gives the header the most known columns, and those columns."""
    best: tuple[int, str, list[str]] | None = None
    for separator in SEPARATORS:
        columns = [_column(c) for c in next(csv.reader([first_line], delimiter=separator), [])]
        known = sum(c in CSV_COLUMNS for c in columns)
        if "name" in columns and (best is None or known > best[0]):
            best = (known, separator, columns)
    if best is None:
        raise Unprocessable(
            "The first line must be a header with at least a 'name' column, separated by commas or "
            "semicolons. Known columns: " + ", ".join(CSV_COLUMNS) + ".",
            code="csv_no_name_column",
        )
    return best[1], best[2]


class _Lines:
    """The file's lines, read by `csv.reader` from any line number on (to resume after a bad one)."""

    def __init__(self, text: str) -> None:
        self.lines: list[str] = LINE.findall(text)
        self.next = 0

    def __iter__(self) -> Iterator[str]:
        while self.next < len(self.lines):
            self.next += 1
            yield self.lines[self.next - 1]


def parse(text: str) -> Parsed:
    """Every data line as fields (empty cells left out), or as a problem with its line number."""
    out = Parsed()
    source = _Lines(text)
    first = next(iter(source), "")
    separator, columns = _dialect(first)
    width = len(columns)
    while source.next < len(source.lines):
        start = source.next
        reader = csv.reader(source, delimiter=separator, strict=False)
        for values in reader:
            number = start + 1  # lines count from 1, and the header is line 1
            if source.next - start > 1 or any("\n" in v or "\r" in v for v in values):
                out.problem(number, "a quote opens a value that does not close on this line")
                source.next = start + 1  # read on from the next line
                break
            start = source.next
            if not any(v.strip() for v in values):
                continue
            if any("\x00" in v for v in values):
                out.problem(number, "contains a NUL character; remove it")
            elif len(values) > width:
                out.problem(number, f"has {len(values)} values but the header has {width} columns")
            else:
                cells = {c: v.strip() for c, v in zip(columns, values, strict=False) if c in CSV_COLUMNS}
                out.lines.append(Line(number, {c: v for c, v in cells.items() if v}))
    return out


def _validated(line: Line) -> WorkerIn:
    fields: dict[str, Any] = dict(line.fields)
    if "is_foreman" in fields:
        fields["is_foreman"] = fields["is_foreman"].lower() in TRUE_WORDS
    return WorkerIn.model_validate(fields)


@dataclass
class _Row:
    number: int
    data: WorkerIn
    digest: str | None


def _rows(settings: Settings, company_id: int, parsed: Parsed) -> list[_Row]:
    """Valid lines, each employee id and PIN at most once in the file."""
    rows: list[_Row] = []
    employee_lines: dict[str, int] = {}
    pin_lines: dict[str, int] = {}
    for line in parsed.lines:
        try:
            data = _validated(line)
        except ValidationError as exc:
            first = exc.errors()[0]
            parsed.problem(line.number, f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
            continue
        digest = pin_digest(settings, company_id, data.pin) if data.pin else None
        if data.employee_id and data.employee_id in employee_lines:
            where = employee_lines[data.employee_id]
            parsed.problem(line.number, f"employee id {data.employee_id} is already on line {where}")
            continue
        if digest and digest in pin_lines:
            parsed.problem(line.number, f"the PIN is already given to line {pin_lines[digest]}")
            continue
        if data.employee_id:
            employee_lines[data.employee_id] = line.number
        if digest:
            pin_lines[digest] = line.number
        rows.append(_Row(line.number, data, digest))
    return rows


async def import_workers_csv(
    session: AsyncSession, settings: Settings, company_id: int, data: bytes
) -> CsvImportResult:
    """Create or update workers from CSV (header row required; matched by employee_id)."""
    parsed = parse(decode(data))
    rows = _rows(settings, company_id, parsed)
    workers = WorkerRepository.from_session(session)
    existing, holders = await workers.import_keys(company_id)
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    new_pins: list[int] = []  # workers whose PIN the file changes: their phones sign in again
    for row in rows:
        target = existing.get(row.data.employee_id or "")
        holder = holders.get(row.digest or "")
        if holder is not None and holder != target:
            parsed.problem(row.number, "that PIN is already in use in this company; choose another")
            continue
        # A new worker gets every field; an existing one only what the line fills in.
        values = row.data.model_dump(exclude={"pin"}, exclude_unset=target is not None)
        if row.digest:
            values["pin_digest"] = row.digest
            if target is not None and holder is None:
                new_pins.append(target)
        if target is None:
            inserts.append({**values, "company_id": company_id, "created_at": now, "updated_at": now})
        else:
            updates.append({**values, "id": target, "updated_at": now})
    try:
        async with session.begin_nested():
            await workers.insert_many(inserts)
            await workers.update_many(company_id, updates)
            await workers.revoke_devices(company_id, new_pins, now)
    except IntegrityError as exc:  # a worker added meanwhile took one of these employee ids or PINs
        raise Conflict(
            "Workers changed while this file was imported; nothing was imported. Import it again.",
            code="import_conflict",
        ) from exc
    return CsvImportResult(created=len(inserts), updated=len(updates), errors=_listed(parsed.problems))


def _listed(problems: Sequence[tuple[int, str]]) -> list[str]:
    ordered = [f"line {number}: {text}" for number, text in sorted(problems)]
    if len(ordered) > MAX_LISTED:
        rest = len(ordered) - MAX_LISTED
        ordered = [*ordered[:MAX_LISTED], f"... and {rest} more lines with problems"]
    return ordered
