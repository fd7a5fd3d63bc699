"""Readers for the file shapes units send; each returns the header row and the data rows as text.

CSV/TXT (any of the encodings in ``encodings``; ``,`` ``;`` or tab; quoted fields with delimiters and
newlines), XLSX (first non-empty sheet, title rows above the header) and JSON (an array of objects or
JSON Lines; the keys are the headers). Cells come back as the unit wrote them: dates in spreadsheet
cells become ISO ``yyyy-mm-dd`` text, numbers become text, decimal commas and formula-like text
(``=HYPERLINK(...)``) are kept as they are. Text in a legacy font encoding (TCVN3, VNI) is converted to
Unicode NFC; NFD text is left as sent (the dbt layer normalises it and reports it).

A reader raises ``ExtractReadError`` with a sentence naming the file when it cannot be read as a whole:
the unit then keeps its last good extract. Reason codes: ``empty_file``, ``empty_extract`` (a header
but no data rows), ``truncated_file``, ``no_header``, ``unreadable_encoding``, ``unreadable_csv``,
``unreadable_xlsx``, ``unreadable_json``, ``unsupported_format``; and for what exceeds the configured
limits (``limits``), before or while it is parsed: ``file_too_large``, ``too_many_rows``,
``workbook_too_large``, ``too_deeply_nested``.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from orchestration.columns import canonical_column
from orchestration.ingest.encodings import DecodeError, convert_legacy_rows, decode_bytes
from orchestration.limits import DEFAULT_LIMITS, MIB, ExtractLimits

# A header row is the first row where at least this many cells name template columns.
_MIN_HEADER_MATCHES = 3
MAX_TITLE_ROWS = 10
_DELIMITERS = (",", ";", "\t")
# Long free-text cells (and hostile files) must not stop the reader at csv's default 128 KiB limit.
_MAX_FIELD_CHARS = 16 * 1024 * 1024


class ExtractReadError(Exception):
    """The file cannot be read as an extract; ``reason_code`` is machine-readable.

    For a truncated file, ``partial`` holds the complete rows before the cut when they could be read
    (for audit and tests; the pipeline never loads them).
    """

    def __init__(self, reason_code: str, reason: str):
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason
        self.partial: RawExtract | None = None


@dataclass
class RawExtract:
    headers: list[str]
    rows: list[list[str | None]]


# ---------------------------------------------------------------- shared steps


def _cell_text(value: object) -> str | None:
    """Text form of a spreadsheet cell; dates become ISO dates, whole numbers lose their '.0'."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def is_header_row(cells: list[str | None]) -> bool:
    return sum(1 for cell in cells if cell and canonical_column(cell)) >= _MIN_HEADER_MATCHES


def _has_data(row: list[str | None]) -> bool:
    return any(cell is not None and cell != "" for cell in row)


def _split_header(rows: list[list[str | None]], path: Path) -> RawExtract:
    """Find the header below any title rows and return it with the data rows under it."""
    for index, row in enumerate(rows[:MAX_TITLE_ROWS]):
        if is_header_row(row):
            headers = [(cell or "").strip() for cell in row]
            return RawExtract(headers=headers, rows=[r for r in rows[index + 1:] if _has_data(r)])
    raise ExtractReadError(
        "no_header", f"{path.name}: no header row naming the template columns was found in the first rows"
    )


def _bounded_rows(rows: Iterable[list[str | None]], path: Path, limits: ExtractLimits) -> list[list[str | None]]:
    """The rows, read no further than the row limit (with room for title and header rows)."""
    kept: list[list[str | None]] = []
    ceiling = limits.max_rows + MAX_TITLE_ROWS + 1
    for row in rows:
        kept.append(row)
        if len(kept) > ceiling:
            raise _too_many_rows(path, limits)
    return kept


def _too_many_rows(path: Path, limits: ExtractLimits) -> ExtractReadError:
    return ExtractReadError(
        "too_many_rows", f"{path.name}: more than {limits.max_rows:,} data rows, the limit for one extract"
    )


def _require_rows(extract: RawExtract, path: Path, limits: ExtractLimits = DEFAULT_LIMITS) -> RawExtract:
    if len(extract.rows) > limits.max_rows:
        raise _too_many_rows(path, limits)
    if not extract.rows:
        raise ExtractReadError("empty_extract", f"{path.name}: the file has a header but no data rows")
    return extract


def _read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if not data.strip():
        raise ExtractReadError("empty_file", f"{path.name}: the file is empty")
    return data


def _decode(path: Path, data: bytes) -> str:
    try:
        return decode_bytes(data).text
    except DecodeError as error:
        code = "truncated_file" if error.truncated else "unreadable_encoding"
        raise ExtractReadError(code, f"{path.name}: {error.message}") from error


# ---------------------------------------------------------------- CSV / TXT


def _logical_lines(text: str, limit: int) -> list[str]:
    """The first lines of a CSV text, a quoted newline not ending a line."""
    lines: list[str] = []
    start, quoted = 0, False
    for position, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == "\n" and not quoted:
            lines.append(text[start:position])
            start = position + 1
            if len(lines) >= limit:
                return lines
    lines.append(text[start:])
    return lines


def first_logical_line(text: str) -> str:
    return _logical_lines(text, 1)[0]


def sniff_delimiter(text: str) -> str:
    """The delimiter used most on any of the first lines, counting only outside quotes."""
    best, best_count = ",", 0
    for line in _logical_lines(text, MAX_TITLE_ROWS):
        outside = "".join(part for i, part in enumerate(line.split('"')) if i % 2 == 0)
        for delimiter in _DELIMITERS:
            count = outside.count(delimiter)
            if count > best_count:
                best, best_count = delimiter, count
    return best


def _ends_inside_quotes(text: str) -> bool:
    return text.count('"') % 2 == 1


def _check_truncation(text: str, extract: RawExtract, path: Path) -> None:
    """A file cut mid-row: its last row is shorter than the header and the text stops without a line
    end (or inside a quoted field)."""
    if not extract.rows:
        return
    last = extract.rows[-1]
    cut = not text.endswith(("\n", "\r")) or _ends_inside_quotes(text)
    # Rows are normally as wide as the header; a writer that leaves out trailing blanks is not a cut.
    full_width = len(extract.rows) == 1 or len(extract.rows[-2]) >= len(extract.headers)
    if cut and full_width and len(last) < len(extract.headers):
        error = ExtractReadError(
            "truncated_file",
            f"{path.name}: the file is cut off in the middle of data row {len(extract.rows)} "
            f"({len(last)} of {len(extract.headers)} columns)",
        )
        error.partial = RawExtract(extract.headers, extract.rows[:-1])
        raise error


def read_csv(path: Path, limits: ExtractLimits = DEFAULT_LIMITS) -> RawExtract:
    text = _decode(path, _read_bytes(path))
    delimiter = sniff_delimiter(text)
    previous_limit = csv.field_size_limit(_MAX_FIELD_CHARS)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = _bounded_rows(([cell if cell != "" else None for cell in row] for row in reader), path, limits)
    except csv.Error as error:
        raise ExtractReadError("unreadable_csv", f"{path.name}: not a readable CSV file ({error})") from error
    finally:
        csv.field_size_limit(previous_limit)
    extract = _split_header(convert_legacy_rows(rows, text), path)
    _check_truncation(text, extract, path)
    return _require_rows(extract, path, limits)


# ---------------------------------------------------------------- XLSX


def _zip_is_cut(path: Path) -> bool:
    """A zip archive (XLSX) whose end-of-archive record is missing was cut off."""
    with path.open("rb") as handle:
        if handle.read(4) != b"PK\x03\x04":
            return False
        size = handle.seek(0, io.SEEK_END)
        handle.seek(max(0, size - 65_600))
        return b"PK\x05\x06" not in handle.read()


def _check_uncompressed_size(path: Path, limits: ExtractLimits) -> None:
    """Refuse a workbook whose parts expand beyond the limit, from the sizes in its zip directory.

    Python's zip reader never inflates a part beyond the size its directory declares, so the declared
    total bounds what parsing can read.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ExtractReadError(
            "unreadable_xlsx", f"{path.name}: not a readable XLSX workbook ({type(error).__name__})"
        ) from error
    if expanded > limits.max_workbook_bytes:
        raise ExtractReadError(
            "workbook_too_large",
            f"{path.name}: the workbook expands to {expanded / MIB:,.0f} MiB when opened, over the "
            f"{limits.max_workbook_bytes / MIB:,.0f} MiB limit",
        )


def read_xlsx(path: Path, limits: ExtractLimits = DEFAULT_LIMITS) -> RawExtract:
    from openpyxl import load_workbook

    if path.stat().st_size == 0:
        raise ExtractReadError("empty_file", f"{path.name}: the file is empty")
    if _zip_is_cut(path):
        raise ExtractReadError("truncated_file", f"{path.name}: the workbook is cut off (the zip archive has no end)")
    _check_uncompressed_size(path, limits)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for damaged files
        raise ExtractReadError(
            "unreadable_xlsx", f"{path.name}: not a readable XLSX workbook ({type(error).__name__})"
        ) from error
    try:
        for sheet in workbook.worksheets:
            cells = ([_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True))
            rows = _bounded_rows(cells, path, limits)
            if any(_has_data(row) for row in rows):
                return _require_rows(_split_header(convert_legacy_rows(rows), path), path, limits)
    except ExtractReadError:
        raise
    except Exception as error:  # a damaged sheet fails while it is read, with as many types
        raise ExtractReadError(
            "unreadable_xlsx", f"{path.name}: a sheet of the workbook cannot be read ({type(error).__name__})"
        ) from error
    finally:
        workbook.close()
    raise ExtractReadError("empty_file", f"{path.name}: every sheet is empty")


# ---------------------------------------------------------------- JSON / JSON Lines

_JSON = json.JSONDecoder(parse_float=str, parse_int=str, object_pairs_hook=list)


def _json_text(value: object) -> str | None:
    """A JSON value as cell text; numbers keep the digits the unit wrote."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(_plain(value), ensure_ascii=False)


def _plain(value: object) -> object:
    """Nested objects (kept as key/value pairs while parsing) back to dictionaries, for dumping."""
    if isinstance(value, list) and all(isinstance(p, tuple) and len(p) == 2 for p in value) and value:
        return {str(k): _plain(v) for k, v in value}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _is_object(item: object) -> bool:
    return isinstance(item, list) and all(isinstance(p, tuple) and len(p) == 2 for p in item)


def _records_to_extract(records: list[object], path: Path) -> RawExtract:
    """Objects to rows: the keys, in order of first appearance, are the headers. A key repeated
    within one object becomes a second column of the same name (kept, reported as unknown)."""
    if records and all(isinstance(r, list) and not _is_object(r) for r in records):
        rows = [[_json_text(v) for v in r] for r in records]  # an array of arrays: a table
        return _split_header(convert_legacy_rows(rows), path)
    positions: dict[tuple[str, int], int] = {}
    headers: list[str] = []
    rows: list[list[str | None]] = []
    for record in records:
        if not _is_object(record):
            raise ExtractReadError("unreadable_json", f"{path.name}: the records are not all JSON objects")
        row: dict[int, str | None] = {}
        seen: dict[str, int] = {}
        for key, value in record:
            nth = seen[key] = seen.get(key, 0) + 1
            position = positions.setdefault((key, nth), len(headers))
            if position == len(headers):
                headers.append(key)
            row[position] = _json_text(value)
        rows.append([row.get(i) for i in range(len(headers))])
    rows = [r + [None] * (len(headers) - len(r)) for r in rows]
    converted = convert_legacy_rows([headers, *rows])
    return RawExtract([h or "" for h in converted[0]], converted[1:])


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _json_array(text: str, path: Path) -> list[object]:
    """The elements of a top-level array, read one by one so a cut-off file keeps what precedes the cut."""
    items: list[object] = []
    position = _skip_space(text, text.index("[") + 1)
    try:
        while position < len(text) and text[position] != "]":
            item, position = _JSON.raw_decode(text, position)
            items.append(item)
            position = _skip_space(text, position)
            if position < len(text) and text[position] == ",":
                position = _skip_space(text, position + 1)
            elif position < len(text) and text[position] != "]":
                raise json.JSONDecodeError("expected ',' or ']'", text, position)
    except json.JSONDecodeError as error:
        _raise_json_error(error, text.rstrip().endswith("]"), items, path)
    if position >= len(text):
        _raise_json_error(json.JSONDecodeError("unterminated array", text, position), False, items, path)
    return items


def _json_lines(text: str, path: Path) -> list[object]:
    items: list[object] = []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            items.append(_JSON.decode(line))
        except json.JSONDecodeError as error:
            last = number == len(lines) and not text.endswith(("\n", "\r"))
            _raise_json_error(error, not last, items, path, line=number)
    return items


def _raise_json_error(error: json.JSONDecodeError, complete: bool, items: list[object], path: Path,
                      line: int | None = None) -> None:
    where = f"line {line}" if line else f"character {error.pos}"
    if complete:
        raise ExtractReadError("unreadable_json", f"{path.name}: not valid JSON at {where} ({error.msg})") from error
    failure = ExtractReadError("truncated_file", f"{path.name}: the JSON is cut off after {len(items)} records")
    if items and all(_is_object(item) for item in items):
        failure.partial = _records_to_extract(items, path)
    raise failure from error


def _nesting_depth(value: object) -> int:
    """How deep a parsed JSON value nests (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list):  # an array, or an object parsed as its (key, value) pairs
            children = [v for _, v in item] if _is_object(item) else item
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in children if isinstance(child, list))
    return deepest


def _too_deep(path: Path, limits: ExtractLimits) -> ExtractReadError:
    return ExtractReadError(
        "too_deeply_nested",
        f"{path.name}: values nest deeper than {limits.max_nesting_depth} levels, the limit for an extract",
    )


def _bounded_json_records(text: str, path: Path, limits: ExtractLimits) -> list[object]:
    try:
        records = _json_records(text, path)
    except RecursionError as error:  # the parser itself gave up: far deeper than any limit
        raise _too_deep(path, limits) from error
    if any(_nesting_depth(record) > limits.max_nesting_depth for record in records):
        raise _too_deep(path, limits)
    return records


def _json_records(text: str, path: Path) -> list[object]:
    """Records of a JSON array, of an object holding one array, or of JSON Lines."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        return _json_array(stripped, path)
    if not stripped.startswith("{"):
        raise ExtractReadError("unreadable_json", f"{path.name}: neither a JSON array nor JSON Lines")
    try:
        document = _JSON.decode(stripped)
    except json.JSONDecodeError:
        return _json_lines(text, path)  # several objects: JSON Lines
    arrays = [value for _, value in document if isinstance(value, list) and not _is_object(value)]
    return arrays[0] if len(arrays) == 1 else [document]


def read_json(path: Path, limits: ExtractLimits = DEFAULT_LIMITS) -> RawExtract:
    text = _decode(path, _read_bytes(path))
    records = _bounded_json_records(text, path, limits)
    if not records:
        raise ExtractReadError("empty_extract", f"{path.name}: the file holds no records")
    if len(records) > limits.max_rows:
        raise _too_many_rows(path, limits)
    return _require_rows(_records_to_extract(records, path), path, limits)


READERS: dict[str, Callable[[Path, ExtractLimits], RawExtract]] = {
    ".csv": read_csv,
    ".txt": read_csv,
    ".xlsx": read_xlsx,
    ".json": read_json,
    ".jsonl": read_json,
}


def read_extract(path: Path, limits: ExtractLimits = DEFAULT_LIMITS) -> RawExtract:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ExtractReadError("unsupported_format", f"{path.name}: file type {path.suffix!r} is not read yet")
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise ExtractReadError(
            "file_too_large",
            f"{path.name}: {size / MIB:,.0f} MiB, over the {limits.max_file_bytes / MIB:,.0f} MiB limit for one file",
        )
    return reader(path, limits)
