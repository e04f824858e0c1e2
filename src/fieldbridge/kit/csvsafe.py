"""CSV that spreadsheets open as data, never as formulas (OWASP "CSV Injection").

Every CSV FieldBridge writes goes through `CsvWriter`: each cell is quoted, and a text cell that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with a single quote, so
Excel, LibreOffice and Google Sheets show `=HYPERLINK(...)` as the text it is. Numbers, dates and
booleans are our own values, not a person's text, and are written as they are (`-5` stays a number).
"""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int | float | Decimal | date | None  # bool is an int; datetime is a date


def safe_cell(value: Cell) -> str:
    """One cell's text: empty for None, a leading quote before anything a spreadsheet would run."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


class CsvWriter:
    """Rows into text, every cell quoted and made safe; `chunks` streams a large export."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")

    def row(self, cells: Iterable[Cell]) -> None:
        self._writer.writerow([safe_cell(c) for c in cells])

    def take(self) -> str:
        """What was written since the last call."""
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text

    def chunks(
        self, header: Iterable[str], rows: Iterable[Iterable[Cell]], size: int = 64_000
    ) -> Iterator[str]:
        """The header and rows as pieces of about `size` characters."""
        self.row(header)
        for cells in rows:
            self.row(cells)
            if self._buffer.tell() > size:
                yield self.take()
        yield self.take()
