"""Whole-file defects, and the one function that writes a landing file of any kind.

Besides the files the generator has always made (an undated name, an unknown unit folder, a missing
required column), a few units send one more bad file each, in their own shape:

* ``header_only``: a re-sent file with the header and no rows (rejected: ``empty_extract``);
* ``truncated``: a re-sent file cut off in the middle of a row (rejected: ``truncated_file``);
* ``duplicate``: a byte copy of the unit's previous month under a newer name (``duplicate_file``);
* ``formula_injection``: the current file, with spreadsheet-formula text in a few cells, which must be
  read as text;
* ``hostile_headers``: the current file, with extra columns whose headers are very long, hold quotes,
  semicolons or a newline, are blank, repeat a template column, or name a lineage column;
* ``shifted_columns``: the current file from a broken export, the date of birth and sex values swapped
  under their headers on every row (the pipeline holds the unit as a whole: ``columns_shifted``).

The re-sent and copied files are dated on or after the unit's good current file, so the pipeline
rejects them and keeps that current file: no unit's current data or quality gates change because of
them. Only the formula, hostile-header and shifted-column units send different current data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from .shapes import PLAIN, FileShape, upper_ascii
from .table import Table
from .writers import cell_columns, encode_text, extract_bytes, extract_grid, extract_pieces, xlsx_bytes

RESENT_KINDS = frozenset({"duplicate", "header_only", "truncated"})  # extra files next to the current one
FILE_NAME_SUFFIX = {"duplicate": "extract_ban_sao", "header_only": "extract_gui_lai", "truncated": "extract_gui_lai"}
FORMULAS = ('=HYPERLINK("http://x","y")', "+SUM(1)", "@cmd", "=1+2", "-2+3")
LONG_HEADER = "Ghi chú " + "rất dài " * 120
HOSTILE_HEADERS = (LONG_HEADER, 'Ghi chú "nội bộ"; DROP TABLE raw.extracts; --', "Nơi làm việc\n(cũ)", "",
                   "source_file")
SWAPPED_COLUMNS = ("ngay_sinh", "gioi_tinh")  # what a shifted_columns file exchanges
BAD_FILE_STREAM = 21  # random stream id (see generate.py) for the dates of re-sent files


@dataclass(frozen=True)
class FileLayout:
    """How a landing file is written: the unit's shape, the name in its title rows, and for a
    duplicate the file it copies."""

    shape: FileShape = PLAIN
    unit_name: str = ""
    copy_of: str = ""


def inject_formulas(rows: Table) -> Table:
    """A copy of the rows with formula-like text in the position of a few rows, spread over the file."""
    n = len(rows)
    positions = sorted({int(p) for p in np.linspace(0, n - 1, len(FORMULAS))}) if n else []
    titles = rows["chuc_vu"].copy()
    for position, formula in zip(positions, FORMULAS, strict=False):
        titles[position] = formula
    return Table({**rows.columns, "chuc_vu": titles})


def hostile_columns(rows: Table, shape: FileShape) -> list[tuple[str, list[str | None]]]:
    """Extra columns with hostile headers; the last one repeats the name column's header."""
    n = len(rows)
    sparse = ["x" if i % 5 == 0 else None for i in range(n)]
    names = [upper_ascii(name) if isinstance(name, str) else None for name in rows["ho_va_ten"].tolist()]
    return [
        (LONG_HEADER, [None] * n),
        (HOSTILE_HEADERS[1], sparse),
        (HOSTILE_HEADERS[2], ["Phòng cũ" if i % 7 == 0 else None for i in range(n)]),
        (HOSTILE_HEADERS[3], sparse),
        (HOSTILE_HEADERS[4], ["../../etc/passwd"] * n),
        (shape.label("ho_va_ten"), names),
    ]


def swap_cells(body: Sequence[Sequence], first: int, second: int) -> list[list]:
    """The rows with the cells at two positions exchanged on every row."""
    swapped = []
    for row in body:
        row = list(row)
        row[first], row[second] = row[second], row[first]
        swapped.append(row)
    return swapped


def swap_columns(header: list[str], body: list[list], columns: Sequence[str], shape: FileShape) -> list[list]:
    """The body with the values of SWAPPED_COLUMNS exchanged on every row, headers left in place."""
    first, second = (header.index(shape.label(column)) for column in SWAPPED_COLUMNS)
    return swap_cells(body, first, second)


def _truncated(shape: FileShape, header: list[str], body: list[list], stamp: datetime, titles: Sequence[str],
               columns: list[str]) -> tuple[bytes, int]:
    """The file cut a third of the way into the row two thirds down; returns the complete rows kept."""
    if shape.file_format == "xlsx":
        whole = xlsx_bytes(header, body, titles, stamp, columns)
        return whole[: len(whole) * 2 // 3], 0  # the archive loses its directory: nothing is readable
    pieces = extract_pieces(shape, header, body, columns)
    cut_row = max(1, 2 * len(body) // 3)
    row = pieces[cut_row]
    text = "".join(pieces[:cut_row]) + row[: max(1, len(row) // 3)]
    return encode_text(shape, text), cut_row - 1


def render_extract(kind: str, layout: FileLayout, columns: Sequence[str], rows: Table, stamp: datetime,
                   titles: Sequence[str]) -> tuple[bytes, int]:
    """The bytes of a landing file of the given kind, and how many of ``rows`` it holds in full."""
    shape = layout.shape
    appended = hostile_columns(rows, shape) if kind == "hostile_headers" else []
    if kind == "formula_injection":
        rows = inject_formulas(rows)
    header, body = extract_grid(rows, columns, shape, appended)
    if kind == "shifted_columns":
        body = swap_columns(header, body, columns, shape)
    cells = cell_columns(columns, shape, len(appended))
    if kind == "header_only":
        return extract_bytes(shape, header, [], stamp, titles, cells), 0
    if kind == "truncated" and body:
        return _truncated(shape, header, body, stamp, titles, cells)
    return extract_bytes(shape, header, body, stamp, titles, cells), len(body)
