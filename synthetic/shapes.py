"""The file shape of each unit: format, encoding, delimiter, header spelling and text form.

A unit keeps its shape month after month (its software does not change), so the shape is decided once
per unit, from the seed, when the units are planned. The catalogue below lists every shape the input
contract names at least once; the remaining units send the plain shape (UTF-8 CSV, canonical headers).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Printed-form labels of the standard template (the way most units head their spreadsheets).
PRINTED_LABELS = {
    "ma_ho_so": "Mã hồ sơ", "ho_va_ten": "Họ và tên", "ngay_sinh": "Ngày sinh", "gioi_tinh": "Giới tính",
    "so_dinh_danh": "Số định danh cá nhân", "que_quan": "Quê quán", "noi_thuong_tru": "Nơi đăng ký thường trú",
    "dan_toc": "Dân tộc", "loai": "Đối tượng", "co_quan": "Cơ quan, đơn vị", "chuc_vu": "Chức vụ",
    "ma_ngach": "Mã ngạch/chức danh nghề nghiệp", "bac_luong": "Bậc lương", "he_so_luong": "Hệ số lương",
    "ngay_tuyen_dung": "Ngày tuyển dụng", "trinh_do_chuyen_mon": "Trình độ chuyên môn",
    "trang_thai": "Trạng thái", "ngay_cap_nhat": "Ngày cập nhật",
}
ENGLISH_LABELS = {
    "ma_ho_so": "Record ID", "ho_va_ten": "Full name", "ngay_sinh": "Date of birth", "gioi_tinh": "Sex",
    "so_dinh_danh": "Personal ID", "que_quan": "Place of origin", "noi_thuong_tru": "Permanent residence",
    "dan_toc": "Ethnicity", "loai": "Category", "co_quan": "Agency", "chuc_vu": "Position",
    "ma_ngach": "Rank code", "bac_luong": "Salary step", "he_so_luong": "Salary coefficient",
    "ngay_tuyen_dung": "Recruitment date", "trinh_do_chuyen_mon": "Education", "trang_thai": "Status",
    "ngay_cap_nhat": "Last updated",
}
# Columns outside the template that units add: a row number first, a remarks column last.
EXTRA_LABELS = {
    "canonical": ("stt", "ghi_chu"), "printed": ("STT", "Ghi chú"), "upper_ascii": ("STT", "GHI CHU"),
    "english": ("No.", "Note"),
}
HEADER_STYLES = ("canonical", "printed", "upper_ascii", "english")
# Whole-file defects a few units send (see bad_files.py), in the order units are picked for them.
BAD_FILE_KINDS = ("duplicate", "header_only", "truncated", "formula_injection", "hostile_headers", "shifted_columns")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "": ""}


def upper_ascii(text: str) -> str:
    """'Mã hồ sơ' -> 'MA HO SO': the label typed without diacritics, in capitals."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


@dataclass(frozen=True)
class FileShape:
    """How one unit writes its files.

    ``encoding`` is the byte encoding of text files (``cp1252`` holds TCVN3/VNI font text, as those
    files really are); ``text_form`` is ``nfc``, ``nfd``, ``tcvn3``, ``vni`` (every text cell in that
    font encoding) or ``tcvn3_names`` (a Unicode file whose names were pasted from a TCVN3 list).
    """

    file_format: str = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","
    header_style: str = "canonical"
    text_form: str = "nfc"
    title_rows: int = 0
    extra_columns: bool = False

    @property
    def is_text(self) -> bool:
        return self.file_format in ("csv", "txt")

    @property
    def decimal_comma(self) -> bool:
        """Semicolon files come from locales where the decimal separator is a comma."""
        return self.delimiter == ";"

    @property
    def iso_dates(self) -> bool:
        """English-keyed JSON comes from an API and carries ISO dates; everything else dd/mm/yyyy."""
        return self.file_format in ("json", "jsonl") and self.header_style == "english"

    @property
    def line_end(self) -> str:
        """Plain UTF-8 files come from servers (LF); the rest from Windows desktop software (CRLF)."""
        return "\n" if self.encoding == "utf-8" or not self.is_text else "\r\n"

    def label(self, column: str) -> str:
        """The header a unit of this shape writes for a template column."""
        if self.header_style == "printed":
            return PRINTED_LABELS.get(column, column)
        if self.header_style == "upper_ascii":
            return upper_ascii(PRINTED_LABELS.get(column, column))
        if self.header_style == "english":
            return ENGLISH_LABELS.get(column, column)
        return column

    def labels(self, columns: Sequence[str]) -> list[str]:
        return [self.label(column) for column in columns]

    def truth_fields(self) -> tuple[str, ...]:
        """The shape as written to ``truth/files.csv`` (see ``TRUTH_FIELDS``)."""
        encoding = {"xlsx": ""}.get(self.file_format, "utf-16-le" if self.encoding == "utf-16" else self.encoding)
        extras = "|".join(EXTRA_LABELS[self.header_style]) if self.extra_columns else ""
        return (self.file_format, encoding, DELIMITER_NAMES[self.delimiter], self.header_style, self.text_form,
                str(self.title_rows), extras)


TRUTH_FIELDS = ("format", "encoding", "delimiter", "header_style", "text_form", "title_rows", "extra_columns")
PLAIN = FileShape()

# Every shape at least once, most common first; the other units send PLAIN.
CATALOGUE: tuple[tuple[int, FileShape], ...] = (
    (3, FileShape(encoding="utf-8-sig", header_style="printed", extra_columns=True)),
    (2, FileShape(encoding="utf-8-sig", delimiter=";", header_style="printed")),
    (1, FileShape(delimiter=";", header_style="upper_ascii")),
    (2, FileShape("txt", "utf-16", "\t", "printed")),  # Excel's "Unicode text"
    (1, FileShape("csv", "utf-16", ",", "upper_ascii")),
    (2, FileShape("csv", "cp1258", ";", "printed", extra_columns=True)),
    (1, FileShape("csv", "cp1258", ",", "upper_ascii")),
    (1, FileShape("txt", "cp1258", "\t", "printed")),
    (2, FileShape("txt", "utf-8", "\t")),
    (2, FileShape(header_style="english")),
    (2, FileShape(header_style="printed", text_form="nfd")),
    (1, FileShape("csv", "cp1252", ",", "upper_ascii", "tcvn3")),
    (1, FileShape("txt", "cp1252", "\t", "printed", "tcvn3")),
    (1, FileShape("csv", "cp1252", ";", "upper_ascii", "vni")),
    (1, FileShape(text_form="tcvn3_names")),
    (1, FileShape("xlsx", "", "", "canonical", title_rows=1)),
    (1, FileShape("xlsx", "", "", "printed", title_rows=2, extra_columns=True)),
    (2, FileShape("xlsx", "", "", "printed", title_rows=3)),
    (1, FileShape("xlsx", "", "", "upper_ascii", title_rows=4)),
    (1, FileShape("xlsx", "", "", "printed", title_rows=5, extra_columns=True)),
    (1, FileShape("xlsx", "", "", "english", title_rows=3)),
    (1, FileShape("xlsx", "", "", "canonical", title_rows=2)),
    (1, FileShape("xlsx", "", "", "printed", title_rows=4)),
    (1, FileShape("xlsx", "", "", "printed", "nfd", title_rows=3)),
    (2, FileShape("json", "utf-8", "", "english")),
    (1, FileShape("json", "utf-8", "", "canonical")),
    (1, FileShape("jsonl", "utf-8", "", "canonical")),
    (1, FileShape("jsonl", "utf-8", "", "english")),
)


def plan_shapes(rng: np.random.Generator, n_units: int) -> tuple[FileShape, ...]:
    """One shape per unit: the catalogue dealt to the units in a random order, PLAIN for the rest."""
    deck = [shape for count, shape in CATALOGUE for _ in range(count)][:n_units]
    deck += [PLAIN] * (n_units - len(deck))
    order = rng.permutation(n_units)
    shapes: list[FileShape] = [PLAIN] * n_units
    for unit, shape in zip(order.tolist(), deck, strict=True):
        shapes[unit] = shape
    return tuple(shapes)


def plan_bad_files(rng: np.random.Generator, shapes: Sequence[FileShape], excluded: set[int],
                   with_older: set[int]) -> dict[int, str]:
    """One unit per bad-file kind, none of them already special (``excluded``). A duplicate needs a
    previous month to copy; a header-only file needs a shape that has a header (not JSON); a file cut
    mid-row needs rows in its bytes (not a compressed XLSX); swapped columns are written as text (not XLSX)."""
    order = [int(i) for i in rng.permutation(len(shapes)) if int(i) not in excluded]
    chosen: dict[int, str] = {}
    for kind in BAD_FILE_KINDS:
        for unit in order:
            fits = {"duplicate": unit in with_older,
                    "header_only": shapes[unit].file_format not in ("json", "jsonl"),
                    "truncated": shapes[unit].file_format != "xlsx",
                    # text cells only: an XLSX writes dates as date cells
                    "shifted_columns": shapes[unit].file_format not in ("xlsx",)}.get(kind, True)
            if unit not in chosen and fits:
                chosen[unit] = kind
                break
    return chosen
