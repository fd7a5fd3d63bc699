"""Choosing and loading a unit's current extract into ``raw.extracts``, with lineage columns."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.columns import EXTRACT_COLUMNS, REQUIRED_COLUMNS, canonical_column
from orchestration.ingest.fast_path import WHITESPACE, DuckDBCells, duckdb_cells, extract_rows_sql
from orchestration.ingest.landing import LandingFile, has_unsafe_name, unit_files
from orchestration.ingest.readers import ExtractReadError, RawExtract, read_extract
from orchestration.limits import DEFAULT_LIMITS, ExtractLimits
from orchestration.warehouse import registered, transaction

_KIND_SENTENCES = {
    "symlink": "a symbolic link, not a file",
    "special_file": "not a regular file (a pipe, socket or device)",
    "outside_data_dir": "a file outside the data directory",
}


@dataclass(frozen=True)
class FileRejection:
    file: LandingFile
    reason_code: str
    reason: str


@dataclass
class UnitLoad:
    """What happened to one unit's landing folder in one load."""

    unit_code: str
    loaded: LandingFile | None = None
    row_count: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    rejections: list[FileRejection] = field(default_factory=list)


def _rejections_for_names_and_copies(files: list[LandingFile]) -> tuple[list[LandingFile], list[FileRejection]]:
    """Split files into dated candidates and rejections (what is not a regular file, unsafe or undated
    names, copies of an earlier file)."""
    rejections: list[FileRejection] = []
    candidates: list[LandingFile] = []
    seen_hashes: dict[str, LandingFile] = {}
    readable: list[LandingFile] = []
    for file in files:
        if file.kind != "file":
            rejections.append(FileRejection(
                file, "not_regular_file", f"{file.display_name}: {_KIND_SENTENCES[file.kind]}; it was not opened"))
        elif has_unsafe_name(file.path):
            rejections.append(FileRejection(
                file, "unsafe_file_name",
                f"{file.display_name}: the name holds a control character (such as a line break) or bytes "
                "that are not UTF-8"))
        else:
            readable.append(file)
    files = readable
    dated = sorted((f for f in files if f.extract_date), key=lambda f: (f.extract_date, f.relative_path))
    for file in files:
        if file.extract_date is None:
            rejections.append(
                FileRejection(
                    file, "undated_file", f"{file.path.name}: the file name does not start with a date YYYY-MM-DD"
                )
            )
    for file in dated:
        earlier = seen_hashes.get(file.sha256)
        if earlier is not None:
            rejections.append(
                FileRejection(
                    file, "duplicate_file", f"{file.path.name}: same content as the earlier file {earlier.path.name}"
                )
            )
            continue
        seen_hashes[file.sha256] = file
        candidates.append(file)
    return candidates, rejections


def _column_mapping(headers: list[str], file: LandingFile) -> tuple[dict[str, int], dict[str, int]]:
    """Positions of canonical columns and of unknown (kept, reported) columns."""
    canonical: dict[str, int] = {}
    unknown: dict[str, int] = {}
    for position, header in enumerate(headers):
        column = canonical_column(header) if header else None
        if column and column not in canonical:
            canonical[column] = position
            continue
        name = header or f"column_{position + 1}"
        if column or name in unknown:  # a repeated header keeps its own values under a numbered name
            name = f"{name} ({position + 1})"
        unknown[name] = position
    missing = [column for column in REQUIRED_COLUMNS if column not in canonical]
    if missing:
        raise ExtractReadError(
            "missing_required_column",
            f"{file.path.name}: required column(s) missing: {', '.join(missing)}",
        )
    return canonical, unknown


def _arrow_rows(
    extract: RawExtract, file: LandingFile, canonical: dict[str, int], unknown: dict[str, int],
    load_id: str, loaded_at: datetime,
) -> pa.Table:
    width = len(extract.headers)

    def cell(row: list[str | None], position: int) -> str | None:
        value = row[position] if position < len(row) else None
        return value.strip() if isinstance(value, str) and value.strip() else None

    columns: dict[str, list] = {column: [] for column in EXTRACT_COLUMNS}
    extras: list[str | None] = []
    for row in extract.rows:
        for column in EXTRACT_COLUMNS:
            columns[column].append(cell(row, canonical[column]) if column in canonical else None)
        extra = {name: row[pos] for name, pos in unknown.items() if pos < len(row) and row[pos]}
        # Cells past the header's width are kept too, never dropped.
        extra.update({f"column_{i + 1}": row[i] for i in range(width, len(row)) if row[i]})
        extras.append(json.dumps(extra, ensure_ascii=False) if extra else None)
    count = len(extract.rows)
    return pa.table({
        "unit_code": [file.unit_folder] * count,
        "source_file": [file.relative_path] * count,
        "file_sha256": [file.sha256] * count,
        "extract_date": pa.array([file.extract_date] * count, pa.date32()),
        "source_row": pa.array(range(1, count + 1), pa.int32()),
        "load_id": [load_id] * count,
        "loaded_at": pa.array([loaded_at] * count, pa.timestamp("us")),
        **{column: pa.array(values, pa.string()) for column, values in columns.items()},
        "extra_columns": pa.array(extras, pa.string()),
    })


def _duckdb_rows(
    con: duckdb.DuckDBPyConnection, cells: DuckDBCells, file: LandingFile, canonical: dict[str, int],
    unknown: dict[str, int], load_id: str, loaded_at: datetime,
) -> pa.Table:
    """The rows `_arrow_rows` would build, built by DuckDB from the cells it read (the fast path)."""
    sql = extract_rows_sql(cells, canonical, unknown, EXTRACT_COLUMNS)
    params = [file.unit_folder, file.relative_path, file.sha256, file.extract_date, load_id, loaded_at, WHITESPACE]
    return con.sql(sql, params=params).to_arrow_table()


def _file_rows(
    con: duckdb.DuckDBPyConnection, file: LandingFile, load_id: str, loaded_at: datetime, limits: ExtractLimits,
    force_python_path: bool,
) -> tuple[pa.Table, dict[str, int]]:
    """The file's rows for raw.extracts and its unknown columns: read by DuckDB when the fast path reads it
    as the Python readers would (fast_path.py), else by the Python readers."""
    if not force_python_path:
        with duckdb_cells(con, file.path, limits) as cells:
            if cells is not None:
                canonical, unknown = _column_mapping(cells.headers, file)
                return _duckdb_rows(con, cells, file, canonical, unknown, load_id, loaded_at), unknown
    extract = read_extract(file.path, limits)
    canonical, unknown = _column_mapping(extract.headers, file)
    return _arrow_rows(extract, file, canonical, unknown, load_id, loaded_at), unknown


def load_unit(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, unit_code: str, load_id: str,
    limits: ExtractLimits = DEFAULT_LIMITS, force_python_path: bool = False,
) -> UnitLoad:
    """Load the newest readable extract of a unit; reject every unusable file with a reason.

    The unit's rows are replaced in one transaction, so loading the same extract twice leaves one
    copy, and a unit whose newest file is rejected keeps the rows of its last good file. Whatever
    goes wrong while reading one file (any error, not only the readers' own) rejects that file only.
    Plain UTF-8 files are read by DuckDB (fast_path.py) unless ``force_python_path`` says otherwise;
    the rows and reasons are the same either way.
    """
    result = UnitLoad(unit_code)
    candidates, result.rejections = _rejections_for_names_and_copies(unit_files(landing_dir, unit_code))
    loaded_at = datetime.now()
    for file in sorted(candidates, key=lambda f: (f.extract_date, f.relative_path), reverse=True):
        try:
            rows, unknown = _file_rows(con, file, load_id, loaded_at, limits, force_python_path)
        except ExtractReadError as error:
            result.rejections.append(FileRejection(file, error.reason_code, error.reason))
            continue
        except Exception as error:  # noqa: BLE001 - a hostile file must not stop the unit's other files
            result.rejections.append(FileRejection(
                file, "unreadable_file", f"{file.display_name}: the file could not be read ({type(error).__name__})"))
            continue
        _replace_unit_rows(con, unit_code, rows)
        con.execute(
            "INSERT INTO raw.extract_loads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [load_id, unit_code, file.relative_path, file.sha256, file.extract_date, rows.num_rows,
             sorted(unknown), loaded_at],
        )
        result.loaded, result.row_count, result.unknown_columns = file, rows.num_rows, sorted(unknown)
        break
    record_file_rejections(con, unit_code, result.rejections, load_id)
    return result


def _replace_unit_rows(con: duckdb.DuckDBPyConnection, unit_code: str, rows: pa.Table) -> None:
    with registered(con, "incoming_rows", rows), transaction(con):
        con.execute("DELETE FROM raw.extracts WHERE unit_code = ?", [unit_code])
        con.execute("INSERT INTO raw.extracts BY NAME SELECT * FROM incoming_rows")


def record_file_rejections(
    con: duckdb.DuckDBPyConnection, unit_code: str, rejections: list[FileRejection], load_id: str
) -> None:
    """Replace the unit's list of rejected files with the ones found in this load."""
    con.execute("DELETE FROM quarantine.files WHERE unit_code = ?", [unit_code])
    now = datetime.now()
    for rejection in rejections:
        con.execute(
            "INSERT INTO quarantine.files VALUES (?, ?, ?, ?, ?, ?, ?)",
            [unit_code, rejection.file.relative_path, rejection.file.sha256, rejection.reason_code,
             rejection.reason, load_id, now],
        )
