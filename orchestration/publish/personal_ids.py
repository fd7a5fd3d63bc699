"""Personal IDs never reach a shared output, whatever column a unit put them in.

Units do use the personal ID as their record id (`ma_ho_so`), and IDs get typed into text columns. Before
publication, a record id holding a run of 12 digits (a personal ID) or 9 digits (an old CMND) is replaced
by a keyed token of itself — stable from one publication to the next, so history still follows the record
— and such a run in a published text column by a placeholder. The record rule `personal_id_in_text`
(quality.record_flags) tells the unit; the run patterns are the same.
"""

from __future__ import annotations

import re

import pyarrow as pa

from orchestration.tokens import person_token

PERSONAL_ID_RUN = re.compile(r"(?<![0-9])(?:[0-9]{12}|[0-9]{9})(?![0-9])")
TEXT_COLUMNS = ("co_quan", "chuc_vu", "trinh_do_chuyen_mon")
RECORD_ID_PREFIX = "MHS-"
TEXT_PLACEHOLDER = "[số định danh đã ẩn]"


def masked_record_id(token_key: str, ma_ho_so: str | None) -> str | None:
    if ma_ho_so is None or not PERSONAL_ID_RUN.search(ma_ho_so):
        return ma_ho_so
    return RECORD_ID_PREFIX + person_token(token_key, ma_ho_so)[:24]


def masked_text(value: str | None) -> str | None:
    return value if value is None else PERSONAL_ID_RUN.sub(TEXT_PLACEHOLDER, value)


def without_personal_ids(table: pa.Table, token_key: str) -> pa.Table:
    """The accepted rows with every personal-ID-like run replaced in the record id and the text columns."""
    columns = {"ma_ho_so": [masked_record_id(token_key, v) for v in table.column("ma_ho_so").to_pylist()]}
    for name in TEXT_COLUMNS:
        if name in table.column_names:
            columns[name] = [masked_text(v) for v in table.column(name).to_pylist()]
    for name, values in columns.items():
        position = table.column_names.index(name)
        table = table.set_column(position, name, pa.array(values, table.schema.field(name).type))
    return table
