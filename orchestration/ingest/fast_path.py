"""The ingest fast path: plain UTF-8 CSV/TSV read by DuckDB's own ``read_csv``, straight into the rows of
``raw.extracts``.

The Python readers (``readers``) read every shape units send, one cell at a time in Python. Most files are
plain UTF-8 text with the header on the first line, which DuckDB reads far faster. Such a file takes this
path only when DuckDB's reader is known to give exactly what the Python reader gives: the rule is
``duckdb_reads_it_as_python_does`` (cheap checks on the text), and the read itself must then succeed in
strict mode with the header on the first row, data rows and no more rows than the limit. Anything else
(another encoding, a whole file in a legacy font, XLSX, JSON, title rows, ragged rows, a read error, a file
to reject) gives ``None`` and the caller reads the file with the Python reader, so rows and rejection
reasons stay those of the Python path. Values stay text exactly as sent (NFD text too); legacy font cells
in a Unicode file are converted by the Python reader's own rule; lineage and header mapping are the caller's.
JSON stays on the Python path for now: DuckDB's JSON functions re-spell numbers (``1.50`` as ``1.5``) where
the Python reader keeps the digits as sent, and only 5 of 62 units send JSON."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.ingest.encodings import SUSPICIOUS_CHARACTERS, column_converter, file_legacy_form
from orchestration.ingest.readers import MAX_TITLE_ROWS, first_logical_line, is_header_row, sniff_delimiter
from orchestration.limits import ExtractLimits
from orchestration.warehouse import registered

CSV_SUFFIXES = frozenset({".csv", ".txt"})
# What Python's str.strip() removes, for DuckDB's trim(): the two paths must trim the same characters.
WHITESPACE = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())
# Control characters other than tab and line ends: DuckDB writes some of them into JSON with upper-case hex
# digits where Python writes lower case, and Python's csv module treats a few as line ends.
_CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x85\u2028\u2029]")
_CELLS_TABLE = "fast_path_cells"


@dataclass(frozen=True)
class DuckDBCells:
    """A file read by DuckDB into a temporary table, one column per header cell (named by DuckDB), rows in
    file order (``rowid``), the header row first. Data rows are the rows after it holding a non-empty cell."""

    table: str
    columns: list[str]
    headers: list[str]
    data_rows: int


def _utf8_text(data: bytes) -> str | None:
    """The text of UTF-8 bytes (a UTF-8 BOM dropped, as both readers do), or None."""
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        return None


def _space_beside_a_quote(text: str, delimiter: str) -> bool:
    """White space between a quote and the edge of its field: DuckDB drops it, Python's csv keeps it."""
    if not any(pair in text for pair in (' "', '\t"', '" ', '"\t')):
        return False  # the usual case, without a scan by pattern
    edge = re.escape(delimiter) + r"\r\n"
    return re.search(rf'(?:^|[{edge}])[ \t]+"|"[ \t]+(?:[{edge}]|$)', text) is not None


def _one_kind_of_line_end(text: str) -> bool:
    """All LF or all CRLF: Python's csv takes a lone CR (or a mix) as a line end, DuckDB takes one kind."""
    carriage_returns = text.count("\r")
    return carriage_returns == 0 or carriage_returns == text.count("\r\n") == text.count("\n")


def duckdb_reads_it_as_python_does(text: str, delimiter: str) -> bool:
    """Whether DuckDB's strict CSV reader gives the cells ``readers.read_csv`` gives for this text.

    Both read RFC 4180 quoting alike; they part on white space around quotes, lone CRs, empty lines (Python
    counts them towards its title-row window and row limit) and control characters. A file in a legacy font
    encoding as a whole (TCVN3, VNI) is the Python reader's; legacy cells in a Unicode file are converted
    after the read by the Python reader's own rule (``convert_legacy_columns``). NFD text is left as sent.
    """
    return (
        not text.startswith(("\r", "\n"))
        and "\n\n" not in text
        and "\r\n\r\n" not in text
        and _one_kind_of_line_end(text)
        and not _CONTROL_CHARACTER.search(text)
        and not _space_beside_a_quote(text, delimiter)
        and file_legacy_form(text) is None
    )


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _read_csv_sql(path: Path, delimiter: str, width: int) -> str:
    """DuckDB's own read_csv with every choice spelled out and nothing sniffed: all columns text, the header
    row read as a row (its cells are needed as sent, repeats and blanks too), strict quoting and widths.
    The line end is left to DuckDB, which reads LF and CRLF (naming CRLF makes it fail at the last line)."""
    columns = "{" + ", ".join(f"'column{position:05d}': 'VARCHAR'" for position in range(width)) + "}"
    return (
        f"SELECT * FROM read_csv({_sql_text(str(path))}, auto_detect=false, columns={columns}, "
        f"delim={_sql_text(delimiter)}, quote='\"', escape='\"', header=false, skip=0, comment='', "
        "strict_mode=true, null_padding=false, ignore_errors=false)"
    )


def _header_width(text: str, delimiter: str) -> int:
    """Cells on the first line, as Python's csv splits it (a wrong width makes DuckDB's strict read fail)."""
    return len(next(csv.reader([first_logical_line(text)], delimiter=delimiter), []))


def _has_data(columns: list[str]) -> str:
    """SQL: the row holds a cell that is neither missing nor empty (readers._has_data)."""
    return "(" + " OR ".join(f"coalesce({column}, '') <> ''" for column in columns) + ")"


def _count_rows(con: duckdb.DuckDBPyConnection, columns: list[str]) -> tuple[int, int]:
    """All rows of the cells table, and the data rows after the header."""
    total, data = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE rowid > 0 AND {_has_data(columns)}) FROM {_CELLS_TABLE}"
    ).fetchall()[0]
    return total, data


def _read_into_table(con: duckdb.DuckDBPyConnection, path: Path, text: str, limits: ExtractLimits,
                     delimiter: str) -> DuckDBCells | None:
    read = _read_csv_sql(path, delimiter, _header_width(text, delimiter))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_CELLS_TABLE} AS {read}")
    except duckdb.Error:
        return None  # ragged rows, an unterminated quote, an over-long line: the Python reader says why
    columns = con.table(_CELLS_TABLE).columns
    convert_legacy_columns(con, _CELLS_TABLE, columns)
    first = con.execute(f"SELECT * FROM {_CELLS_TABLE} WHERE rowid = 0").fetchall()
    if not first or not is_header_row(list(first[0])):
        return None  # title rows above the header, or no header at all
    total, data_rows = _count_rows(con, columns)
    # An empty or over-long extract is the Python reader's to reject (it counts title rows towards its limit).
    if data_rows == 0 or data_rows > limits.max_rows or total > limits.max_rows + MAX_TITLE_ROWS + 1:
        return None
    return DuckDBCells(_CELLS_TABLE, columns, [(cell or "").strip() for cell in first[0]], data_rows)


def _columns_with_suspicious_characters(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> list[str]:
    flags = con.execute(
        "SELECT " + ", ".join(f"coalesce(bool_or(regexp_matches({column}, $1)), false)" for column in columns)
        + f" FROM {table}", [SUSPICIOUS_CHARACTERS]).fetchall()[0]
    return [column for column, flagged in zip(columns, flags, strict=True) if flagged]


def convert_legacy_columns(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> None:
    """Convert legacy font cells (names pasted from a TCVN3 list) as ``encodings.convert_legacy_rows`` does:
    only the columns holding a character such text shows are read into Python, the header row included."""
    for column in _columns_with_suspicious_characters(con, table, columns):
        cells = con.execute(
            f"SELECT rowid, {column} FROM {table} WHERE coalesce({column}, '') <> '' ORDER BY rowid").fetchall()
        convert = column_converter("\n".join(value for _, value in cells))
        if convert is None:
            continue
        changed = [(row, new) for row, value in cells if (new := convert(value)) != value]
        if changed:
            rows = pa.table({"row_id": [row for row, _ in changed], "value": [new for _, new in changed]})
            with registered(con, "converted_cells", rows):
                con.execute(f"UPDATE {table} SET {column} = converted_cells.value FROM converted_cells "
                            f"WHERE {table}.rowid = converted_cells.row_id")


def _preserves_insertion_order(con: duckdb.DuckDBPyConnection) -> bool:
    """Row numbers come from the order rows were stored; DuckDB keeps file order only with this setting."""
    return bool(con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0])


def _plain_csv_cells(con: duckdb.DuckDBPyConnection, path: Path, limits: ExtractLimits) -> DuckDBCells | None:
    if path.suffix.lower() not in CSV_SUFFIXES or path.stat().st_size > limits.max_file_bytes:
        return None
    text = _utf8_text(path.read_bytes())
    if text is None or not text.strip() or not _preserves_insertion_order(con):
        return None
    delimiter = sniff_delimiter(text)
    if not duckdb_reads_it_as_python_does(text, delimiter):
        return None
    return _read_into_table(con, path, text, limits, delimiter)


@contextmanager
def duckdb_cells(con: duckdb.DuckDBPyConnection, path: Path, limits: ExtractLimits) -> Iterator[DuckDBCells | None]:
    """The file's cells in a temporary table when the fast path reads it as the Python path would, else None;
    the table is dropped when the block ends."""
    try:
        yield _plain_csv_cells(con, path, limits)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_CELLS_TABLE}")


def extract_rows_sql(cells: DuckDBCells, canonical: dict[str, int], unknown: dict[str, int],
                     extract_columns: tuple[str, ...]) -> str:
    """SQL selecting the rows of ``raw.extracts`` from the cells, as ``extracts._arrow_rows`` builds them.

    Parameters, in order: unit code, source file, SHA-256, extract date, load id, load time, white space.
    Template cells are trimmed and blank ones missing; unknown columns go to ``extra_columns`` as the JSON
    text Python's ``json.dumps`` writes (same separators, non-ASCII kept).
    """
    cell = cells.columns

    def template_cell(column: str) -> str:
        if column not in canonical:
            return f"NULL::VARCHAR AS {column}"
        return f"nullif({_stripped(cell[canonical[column]])}, '') AS {column}"

    pairs = [
        f"CASE WHEN coalesce({cell[position]}, '') <> '' THEN "
        f"{_sql_text(_json_key(name))} || to_json({cell[position]})::VARCHAR END"
        for name, position in unknown.items()
    ]
    # No unknown cell in the row: nullif makes the whole text missing, as Python stores None.
    extras = f"'{{' || nullif(concat_ws(', ', {', '.join(pairs)}), '') || '}}'" if pairs else "NULL::VARCHAR"
    return f"""
        SELECT $1 AS unit_code, $2 AS source_file, $3 AS file_sha256, $4::DATE AS extract_date,
               CAST(row_number() OVER (ORDER BY rowid) AS INTEGER) AS source_row,
               $5 AS load_id, $6::TIMESTAMP AS loaded_at,
               {', '.join(template_cell(column) for column in extract_columns)},
               {extras} AS extra_columns
        FROM {cells.table}
        WHERE rowid > 0 AND {_has_data(cells.columns)}
        ORDER BY rowid
    """


def _stripped(column: str) -> str:
    """SQL for Python's str.strip() of a cell ($7 holds WHITESPACE); trimming only cells that start or end
    with white space is several times faster than trimming every cell."""
    return f"CASE WHEN contains($7, left({column}, 1)) OR contains($7, right({column}, 1)) THEN trim({column}, $7) " \
           f"ELSE {column} END"


def _json_key(name: str) -> str:
    return json.dumps(name, ensure_ascii=False) + ": "
