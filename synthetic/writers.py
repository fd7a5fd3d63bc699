"""Byte-reproducible writers: landing extracts in every shape units send, and the CSV/Parquet outputs.

A landing file is built in three steps: ``extract_grid`` turns rows into a header and cells in the
unit's shape (header spelling, extra columns, decimal commas, NFD or legacy font text);
``extract_pieces`` serialises the cells of a text file (CSV/TXT, JSON, JSON Lines) one data row per
piece, so a bad-file writer can cut the file inside a row; ``encode_text`` and ``xlsx_bytes`` make the
bytes. ``extract_bytes`` does all of it.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.writer.excel import ExcelWriter

from orchestration.ingest.encodings import encode_cp1258, to_tcvn3, to_vni

from .records import DATE_COLUMNS
from .shapes import EXTRA_LABELS, FileShape
from .table import Table, to_dates

XLSX_TITLE = "DANH SÁCH CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC"
XLSX_DATE_FORMAT = "DD/MM/YYYY"
PARQUET_ROW_GROUP = 100_000
NOTE_EVERY = 23  # one row in this many carries a remark in the "Ghi chú" column
NOTE = "Đã đối chiếu với hồ sơ gốc"

Cell = str | int | date | None


def _text_cells(values: np.ndarray) -> list[str]:
    return ["" if value is None else str(value) for value in values.tolist()]


def _date_cells(values: np.ndarray) -> list[date | str | None]:
    """Dates of a column as Python dates; a column may also hold text (a year alone) or blanks."""
    if values.dtype.kind == "M":
        return to_dates(values)
    cells: list[date | str | None] = []
    for value in values.tolist():
        if isinstance(value, np.datetime64):
            value = None if np.isnat(value) else value.astype("datetime64[D]").item()
        cells.append(value if isinstance(value, date | str) else None)
    return cells


def _format_date(value: date | str | None, iso: bool) -> str:
    if value is None:
        return ""
    return value.isoformat() if iso else value.strftime("%d/%m/%Y")


def csv_rows(rows: Table, columns: Sequence[str]) -> list[list[str]]:
    """Rows as text, dates as dd/mm/yyyy."""
    cells = []
    for column in columns:
        if column in DATE_COLUMNS:
            cells.append([_format_date(d, iso=False) for d in _date_cells(rows[column])])
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


# ---------------------------------------------------------------- landing extracts in a unit's shape


def _text_form(shape: FileShape) -> Callable[[str], str]:
    forms: dict[str, Callable[[str], str]] = {
        "nfd": lambda text: unicodedata.normalize("NFD", text), "tcvn3": to_tcvn3, "vni": to_vni,
    }
    return forms.get(shape.text_form, lambda text: text)


def _column_cells(rows: Table, column: str, shape: FileShape) -> list[Cell]:
    if column in DATE_COLUMNS:
        return list(_date_cells(rows[column]))
    cells: list[Cell] = [text or None for text in _text_cells(rows[column])]
    if column == "he_so_luong" and shape.decimal_comma:
        cells = [text.replace(".", ",") if isinstance(text, str) else text for text in cells]
    if column == "ho_va_ten" and shape.text_form == "tcvn3_names":
        cells = [to_tcvn3(text) if isinstance(text, str) else text for text in cells]
    return cells


def extract_grid(rows: Table, columns: Sequence[str], shape: FileShape,
                 appended: Sequence[tuple[str, Sequence[str | None]]] = ()) -> tuple[list[str], list[list[Cell]]]:
    """The header and the cells of a file in the unit's shape; ``appended`` adds columns at the end."""
    header = shape.labels(columns)
    cells = [_column_cells(rows, column, shape) for column in columns]
    if shape.extra_columns:
        number, remark = EXTRA_LABELS[shape.header_style]
        header = [number, *header, remark]
        n = len(rows)
        cells = [[str(i) for i in range(1, n + 1)], *cells,
                 [NOTE if i % NOTE_EVERY == NOTE_EVERY - 1 else None for i in range(n)]]
    for label, values in appended:
        header.append(label)
        cells.append(list(values))
    rows_of_cells = [list(row) for row in zip(*cells, strict=True)]
    if shape.text_form not in ("nfd", "tcvn3", "vni"):
        return header, rows_of_cells
    convert = _text_form(shape)
    body = [[convert(c) if isinstance(c, str) and not c.isascii() else c for c in row] for row in rows_of_cells]
    return [convert(label) for label in header], body


def _csv_piece(writer: Any, buffer: io.StringIO, values: Sequence[object]) -> str:
    """One CSV line, written through ``writer`` into an emptied ``buffer``."""
    buffer.seek(0)
    buffer.truncate()
    writer.writerow(values)
    return buffer.getvalue()


def _csv_cells(row: Sequence[Cell]) -> list[str]:
    return [_format_date(c, False) if isinstance(c, date) else c or "" for c in row]


def _json_value(cell: Cell, iso: bool, column: str) -> object:
    if isinstance(cell, date):
        return _format_date(cell, iso)
    if isinstance(cell, str) and cell.isdigit() and column == "bac_luong":
        return int(cell)  # steps are numbers in an API export; everything else is text
    return cell


def _json_object(header: Sequence[str], row: Sequence[Cell], columns: Sequence[str], shape: FileShape,
                 omit_blank: bool) -> str:
    """One object; written by hand so repeated keys (hostile files) stay repeated."""
    parts = []
    for label, cell, column in zip(header, row, columns, strict=True):
        if cell is None and omit_blank:
            continue
        value = json.dumps(_json_value(cell, shape.iso_dates, column), ensure_ascii=False)
        parts.append(f"{json.dumps(label, ensure_ascii=False)}: {value}")
    return "{" + ", ".join(parts) + "}"


def extract_pieces(shape: FileShape, header: list[str], body: list[list[Cell]],
                   columns: Sequence[str] | None = None) -> list[str]:
    """A text file as pieces: what precedes the first data row, one piece per data row, what follows.
    ``columns`` names the template column of each cell (blank for extra columns), for JSON numbers."""
    columns = list(columns) if columns is not None else [""] * len(header)
    if shape.file_format == "json":
        objects = [_json_object(header, row, columns, shape, omit_blank=False) for row in body]
        return ["[\n", *(f"  {obj}{',' if i < len(objects) - 1 else ''}\n" for i, obj in enumerate(objects)), "]\n"]
    if shape.file_format == "jsonl":
        return ["", *(_json_object(header, row, columns, shape, omit_blank=True) + "\n" for row in body), ""]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=shape.delimiter, lineterminator=shape.line_end)
    head = _csv_piece(writer, buffer, header)
    lines = [_csv_piece(writer, buffer, _csv_cells(row)) for row in body]
    return [head, *lines, ""]


def encode_text(shape: FileShape, text: str) -> bytes:
    """Bytes of a text file in the unit's encoding (UTF-16 is little-endian with a BOM, as Excel writes)."""
    if shape.encoding == "utf-16":
        return b"\xff\xfe" + text.encode("utf-16-le")
    if shape.encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    if shape.encoding == "cp1258":
        return encode_cp1258(text)
    if shape.encoding == "cp1252":
        return text.encode("cp1252")  # TCVN3/VNI font text: every character is one Windows-1252 byte
    return text.encode("utf-8")


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


def title_lines(shape: FileShape, unit_name: str, as_of: date) -> list[str]:
    """The rows above the header of a spreadsheet: the title, then the unit, the date, a reference."""
    lines = [XLSX_TITLE, unit_name, f"Tính đến ngày {as_of.strftime('%d/%m/%Y')}", "(Kèm theo báo cáo định kỳ)"]
    if shape.title_rows <= 1:
        return lines[:shape.title_rows]
    return [*lines[:shape.title_rows - 1], ""]  # a blank row before the header


def _xlsx_cell(sheet: object, value: Cell, column: str) -> object:
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = XLSX_DATE_FORMAT
        return cell
    if isinstance(value, str) and value.isdigit() and column == "bac_luong":
        return int(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # text that looks like a formula stays text, as Excel keeps it when typed as text
        return cell
    return value


def xlsx_bytes(header: list[str], body: list[list[Cell]], titles: Sequence[str], stamp: datetime,
               columns: Sequence[str] | None = None) -> bytes:
    """First sheet: the title rows, the header, then the data with real date cells."""
    columns = list(columns) if columns is not None else [""] * len(header)
    workbook = Workbook(write_only=True)
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.creator = "cbccvc-synthetic"
    sheet = workbook.create_sheet("DanhSach")
    for line in titles:
        sheet.append([line] if line else [])
    sheet.append(header)
    for row in body:
        sheet.append([_xlsx_cell(sheet, value, column) for value, column in zip(row, columns, strict=True)])
    buffer = BytesIO()
    ExcelWriter(workbook, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    return _reproducible_zip(buffer.getvalue(), stamp)


def cell_columns(columns: Sequence[str], shape: FileShape, appended: int = 0) -> list[str]:
    """The template column of each cell of ``extract_grid``'s rows (blank for extra columns)."""
    extra = [""] if shape.extra_columns else []
    return [*extra, *columns, *extra, *([""] * appended)]


def extract_bytes(shape: FileShape, header: list[str], body: list[list[Cell]], stamp: datetime,
                  titles: Sequence[str] = (), columns: Sequence[str] | None = None) -> bytes:
    """The whole file in the unit's shape."""
    if shape.file_format == "xlsx":
        return xlsx_bytes(header, body, titles, stamp, columns)
    if shape.file_format in ("json", "jsonl"):
        return encode_text(shape, "".join(extract_pieces(shape, header, body, columns)))
    buffer = io.StringIO()  # CSV/TXT in one pass (pieces are only needed to cut a file)
    writer = csv.writer(buffer, delimiter=shape.delimiter, lineterminator=shape.line_end)
    writer.writerow(header)
    writer.writerows(_csv_cells(row) for row in body)
    return encode_text(shape, buffer.getvalue())


# ---------------------------------------------------------------- Parquet


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
