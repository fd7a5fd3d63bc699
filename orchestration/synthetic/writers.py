"""Byte-reproducible writers for the CSV, XLSX and Parquet outputs."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from io import BytesIO
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.writer.excel import ExcelWriter

from .records import DATE_COLUMNS
from .table import Table, to_dates

XLSX_TITLE = "DANH SÁCH CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC"
XLSX_DATE_FORMAT = "DD/MM/YYYY"
PARQUET_ROW_GROUP = 100_000


def _text_cells(values: np.ndarray) -> list[str]:
    return ["" if value is None else str(value) for value in values.tolist()]


def csv_rows(rows: Table, columns: Sequence[str]) -> list[list[str]]:
    """Rows as text, dates as dd/mm/yyyy."""
    cells = []
    for column in columns:
        if column in DATE_COLUMNS:
            cells.append(["" if d is None else d.strftime("%d/%m/%Y") for d in to_dates(rows[column])])
        else:
            cells.append(_text_cells(rows[column]))
    return [list(row) for row in zip(*cells, strict=True)] if cells else []


def write_csv(path: Path, header: Sequence[str], rows: list[list[str]]) -> None:
    """UTF-8 CSV, comma-delimited, minimal quoting, LF line endings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _xlsx_values(rows: Table, columns: Sequence[str]) -> list[list[object]]:
    """Rows for a spreadsheet: real dates for date columns, None for blank text."""
    cells: list[list[object]] = []
    for column in columns:
        if column in DATE_COLUMNS:
            cells.append(list(to_dates(rows[column])))
        else:
            cells.append([text or None for text in _text_cells(rows[column])])
    return [list(row) for row in zip(*cells, strict=True)] if cells else []


def _reproducible_zip(data: bytes, stamp: datetime) -> bytes:
    """Rewrite a zip archive with a fixed timestamp on every member."""
    source = zipfile.ZipFile(BytesIO(data))
    target = BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, source.read(member.filename))
    return target.getvalue()


def write_xlsx(path: Path, header: Sequence[str], rows: Table, columns: Sequence[str], stamp: datetime) -> None:
    """First sheet: a title row, a blank row, the header, then the data with real date cells."""
    workbook = Workbook(write_only=True)
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.creator = "cbccvc-synthetic"
    sheet = workbook.create_sheet("DanhSach")
    sheet.append([XLSX_TITLE])
    sheet.append([])
    sheet.append(list(header))
    for values in _xlsx_values(rows, columns):
        sheet.append([_date_cell(sheet, v) if isinstance(v, date) else v for v in values])
    buffer = BytesIO()
    ExcelWriter(workbook, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_reproducible_zip(buffer.getvalue(), stamp))


def _date_cell(sheet: object, value: date) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = XLSX_DATE_FORMAT
    return cell


def write_parquet(path: Path, table: pa.Table) -> None:
    """Parquet with a fixed row-group size and no writer-dependent metadata beyond the data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=PARQUET_ROW_GROUP, compression="zstd")


def date_array(values: np.ndarray) -> pa.Array:
    """A nullable date32 column from a datetime64[D] array (NaT becomes null)."""
    values = values.astype("datetime64[D]")
    return pa.array(values, type=pa.date32(), mask=np.isnat(values))


def text_array(values: np.ndarray) -> pa.Array:
    """A nullable string column from an object array (None becomes null)."""
    return pa.array(values.tolist(), type=pa.string())
