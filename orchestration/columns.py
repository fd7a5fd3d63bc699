"""The standard extract template and the header aliases units use for it.

Headers are matched after a normalisation that removes diacritics, case and punctuation, so
"Mã hồ sơ", "MA HO SO" and "ma_ho_so" all become ``ma_ho_so``. Other spellings (English, printed form
labels) come from one alias table, ``ref_header_aliases.csv``, shared by every unit.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import cache

from orchestration.resources import SEEDS_DIR

EXTRACT_COLUMNS: tuple[str, ...] = (
    "ma_ho_so",
    "ho_va_ten",
    "ngay_sinh",
    "gioi_tinh",
    "so_dinh_danh",
    "que_quan",
    "noi_thuong_tru",
    "dan_toc",
    "loai",
    "co_quan",
    "chuc_vu",
    "ma_ngach",
    "bac_luong",
    "he_so_luong",
    "ngay_tuyen_dung",
    "trinh_do_chuyen_mon",
    "trang_thai",
    "ngay_cap_nhat",
)

REQUIRED_COLUMNS: tuple[str, ...] = (
    "ma_ho_so",
    "ho_va_ten",
    "ngay_sinh",
    "gioi_tinh",
    "loai",
    "co_quan",
    "ma_ngach",
    "trang_thai",
)


def header_slug(header: str) -> str:
    """Lower-case ASCII snake_case form of a header: 'Mã hồ sơ ' -> 'ma_ho_so'."""
    text = unicodedata.normalize("NFD", header.replace("đ", "d").replace("Đ", "D").replace("Ð", "D"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


@cache
def header_aliases() -> dict[str, str]:
    """Alias slug -> canonical column, from the project's alias table plus the canonical names."""
    aliases = {column: column for column in EXTRACT_COLUMNS}
    with (SEEDS_DIR / "ref_header_aliases.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            aliases[header_slug(row["alias"])] = row["column_name"]
    return aliases


def canonical_column(header: str) -> str | None:
    """The canonical column a header stands for, or None if it is not part of the template."""
    return header_aliases().get(header_slug(header))
