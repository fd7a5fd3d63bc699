"""Readers for the file shapes units send; each returns the header row and the data rows as text.

A reader raises ``ExtractReadError`` with a sentence a unit can act on when a file cannot be read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from orchestration.ingest.columns import canonical_column

# A header row is the first row where at least this many cells name template columns.
_MIN_HEADER_MATCHES = 3
_MAX_TITLE_ROWS = 10


class ExtractReadError(Exception):
    """The file cannot be read as an extract; ``reason_code`` is machine-readable."""

    def __init__(self, reason_code: str, reason: str):
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason


@dataclass
class RawExtract:
    headers: list[str]
    rows: list[list[str | None]]


def _cell_text(value: object) -> str | None:
    """Text form of a spreadsheet cell; dates become ISO dates, whole numbers lose their '.0'."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def _is_header_row(cells: list[str | None]) -> bool:
    return sum(1 for cell in cells if cell and canonical_column(cell)) >= _MIN_HEADER_MATCHES


def _split_header(rows: list[list[str | None]], path: Path) -> RawExtract:
    """Find the header below any title rows and return it with the data rows under it."""
    for index, row in enumerate(rows[:_MAX_TITLE_ROWS]):
        if _is_header_row(row):
            headers = [(cell or "").strip() for cell in row]
            data = [r for r in rows[index + 1 :] if any(cell is not None and cell != "" for cell in r)]
            return RawExtract(headers=headers, rows=data)
    raise ExtractReadError(
        "no_header", f"{path.name}: no header row naming the template columns was found in the first rows"
    )


def read_csv(path: Path) -> RawExtract:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ExtractReadError(
            "unreadable_encoding", f"{path.name}: not valid UTF-8 text ({error.reason})"
        ) from error
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample.splitlines()[0] if sample else ",", delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = [[cell if cell != "" else None for cell in row] for row in reader]
    if not rows:
        raise ExtractReadError("empty_file", f"{path.name}: the file is empty")
    return _split_header(rows, path)


def read_xlsx(path: Path) -> RawExtract:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for damaged files
        raise ExtractReadError(
            "unreadable_xlsx", f"{path.name}: not a readable XLSX workbook ({type(error).__name__})"
        ) from error
    try:
        for sheet in workbook.worksheets:
            rows = [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
            if any(any(cell is not None for cell in row) for row in rows):
                return _split_header(rows, path)
    finally:
        workbook.close()
    raise ExtractReadError("empty_file", f"{path.name}: every sheet is empty")


READERS: dict[str, Callable[[Path], RawExtract]] = {
    ".csv": read_csv,
    ".txt": read_csv,
    ".xlsx": read_xlsx,
}


def read_extract(path: Path) -> RawExtract:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ExtractReadError("unsupported_format", f"{path.name}: file type {path.suffix!r} is not read yet")
    return reader(path)
