"""Every file shape the generator writes is read back by the pipeline's own reader, as the truth says.

Uses the session's generated data set (scale 0.002, seed 11, as of 2026-11-15; see conftest.py).
"""

import csv
import unicodedata
from datetime import date, datetime
from pathlib import Path

import duckdb
import openpyxl
import pyarrow.parquet as pq
import pytest

from orchestration.columns import canonical_column
from orchestration.ingest.encodings import decode_bytes
from orchestration.ingest.extracts import load_unit
from orchestration.ingest.readers import ExtractReadError, RawExtract, read_extract
from orchestration.warehouse import ensure_warehouse
from synthetic.bad_files import FORMULAS, HOSTILE_HEADERS
from synthetic.shapes import BAD_FILE_KINDS, CATALOGUE, PLAIN, TRUTH_FIELDS

READABLE = {"current", "older", "stale_current", "formula_injection", "hostile_headers", "duplicate", "undated",
            "unknown_unit", "missing_required_column"}
REJECTED = {"duplicate": "duplicate_file", "header_only": "empty_extract", "truncated": "truncated_file"}
# Latin-1 characters that Vietnamese does not use but TCVN3/VNI text shows (such as "¨", "§", "ø").
LEGACY_CHARACTERS = {chr(c) for c in range(0xA1, 0x100)} - set("ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúý")


@pytest.fixture(scope="module")
def files(generated_data: Path) -> list[dict]:
    with (generated_data / "truth" / "files.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def truth(generated_data: Path) -> dict[str, list[dict]]:
    """Truth records by file, in row order."""
    by_file: dict[str, list[dict]] = {}
    for record in pq.read_table(generated_data / "truth" / "records.parquet").to_pylist():
        by_file.setdefault(record["source_file"], []).append(record)
    return {name: sorted(rows, key=lambda r: r["source_row"]) for name, rows in by_file.items()}


@pytest.fixture(scope="module")
def registry_names(generated_data: Path) -> dict[str, str]:
    table = pq.read_table(generated_data / "registry", columns=["so_dinh_danh", "ho_va_ten"])
    return dict(zip(table["so_dinh_danh"].to_pylist(), table["ho_va_ten"].to_pylist(), strict=True))


def column(extract: RawExtract, name: str) -> list[str | None]:
    """Values of the first column that maps to a template column (the pipeline's rule)."""
    position = next(i for i, header in enumerate(extract.headers) if header and canonical_column(header) == name)
    return [row[position] if position < len(row) else None for row in extract.rows]


def has_column(extract: RawExtract, name: str) -> bool:
    return any(header and canonical_column(header) == name for header in extract.headers)


# ---------------------------------------------------------------- what was generated


def test_every_shape_and_every_bad_file_kind_is_present(files: list[dict]) -> None:
    shapes = {tuple(f[field] for field in TRUTH_FIELDS) for f in files}
    assert {shape.truth_fields() for _, shape in CATALOGUE} | {PLAIN.truth_fields()} <= shapes
    seen = {field: {f[field] for f in files} for field in TRUTH_FIELDS}
    assert {"csv", "txt", "xlsx", "json", "jsonl"} <= seen["format"]
    assert {"utf-8", "utf-8-sig", "utf-16-le", "cp1258", "cp1252"} <= seen["encoding"]
    assert {"comma", "semicolon", "tab"} <= seen["delimiter"]
    assert {"canonical", "printed", "upper_ascii", "english"} <= seen["header_style"]
    assert {"nfc", "nfd", "tcvn3", "vni", "tcvn3_names"} <= seen["text_form"]
    assert {"1", "2", "3", "4", "5"} <= seen["title_rows"]
    assert {"STT|Ghi chú"} <= seen["extra_columns"]
    kinds = [f["kind"] for f in files]
    for kind in (*BAD_FILE_KINDS, "undated", "unknown_unit", "missing_required_column"):
        assert kinds.count(kind) == 1, kind


def test_each_unit_keeps_one_shape_across_its_files(files: list[dict]) -> None:
    by_unit: dict[str, set[tuple]] = {}
    for f in files:
        by_unit.setdefault(f["unit_code"], set()).add(tuple(f[field] for field in TRUTH_FIELDS))
    assert all(len(shapes) == 1 for shapes in by_unit.values())


def test_text_files_are_decoded_with_the_encoding_they_were_written_in(generated_data: Path, files: list[dict]):
    for f in files:
        if f["format"] in ("csv", "txt", "json", "jsonl") and f["kind"] not in REJECTED:
            data = (generated_data / f["source_file"]).read_bytes()
            assert decode_bytes(data).encoding == f["encoding"], f["source_file"]


# ---------------------------------------------------------------- read back as the truth says


def test_every_data_file_is_read_back_with_the_truth_rows_in_order(generated_data: Path, files: list[dict],
                                                                   truth: dict[str, list[dict]]) -> None:
    checked = 0
    for f in files:
        if f["kind"] not in READABLE:
            continue
        extract = read_extract(generated_data / f["source_file"])
        expected = truth.get(f["source_file"], [])
        assert len(extract.rows) == int(f["rows"]) == len(expected), f["source_file"]
        assert column(extract, "ma_ho_so") == [t["ma_ho_so"] for t in expected], f["source_file"]
        checked += 1
    assert checked >= 62


def test_names_decode_to_the_registry_names_in_every_text_form(generated_data: Path, files: list[dict],
                                                               truth: dict[str, list[dict]],
                                                               registry_names: dict[str, str]) -> None:
    compared: dict[str, int] = {}
    for f in files:
        if f["kind"] not in READABLE or f["kind"] == "missing_required_column":
            continue
        names = column(read_extract(generated_data / f["source_file"]), "ho_va_ten")
        for name, record in zip(names, truth[f["source_file"]], strict=True):
            if name and f["text_form"] in ("tcvn3", "vni", "tcvn3_names"):
                assert unicodedata.is_normalized("NFC", name) and not set(name) & LEGACY_CHARACTERS, name
            if record["defects"] or not record["true_so_dinh_danh"]:
                continue  # a name with a labelled defect differs from the registry on purpose
            assert unicodedata.normalize("NFC", name or "") == registry_names[record["true_so_dinh_danh"]]
            compared[f["text_form"]] = compared.get(f["text_form"], 0) + 1
    assert {"nfc", "nfd", "tcvn3", "vni", "tcvn3_names"} <= set(compared)


def test_semicolon_files_carry_decimal_commas(generated_data: Path, files: list[dict]) -> None:
    for f in files:
        if f["delimiter"] == "semicolon" and f["kind"] in READABLE:
            values = [v for v in column(read_extract(generated_data / f["source_file"]), "he_so_luong") if v]
            assert values and all("," in v and "." not in v for v in values), f["source_file"]


def test_spreadsheets_have_their_title_rows_and_real_date_cells(generated_data: Path, files: list[dict]) -> None:
    for f in files:
        if f["format"] != "xlsx" or f["kind"] not in READABLE:
            continue
        sheet = openpyxl.load_workbook(generated_data / f["source_file"], read_only=True).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        header_row = int(f["title_rows"])
        assert rows[0][0] == "DANH SÁCH CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC"
        header = [h for h in rows[header_row] if h is not None]
        assert sum(1 for h in header if canonical_column(str(h))) >= 17
        birth = next(i for i, h in enumerate(rows[header_row]) if h and canonical_column(str(h)) == "ngay_sinh")
        assert any(isinstance(row[birth], datetime) for row in rows[header_row + 1:])


# ---------------------------------------------------------------- bad files


def _file(files: list[dict], kind: str) -> dict:
    return next(f for f in files if f["kind"] == kind)


def test_formula_text_and_hostile_headers_are_read_as_sent(generated_data: Path, files: list[dict]) -> None:
    formulas = read_extract(generated_data / _file(files, "formula_injection")["source_file"])
    assert set(FORMULAS) <= set(column(formulas, "chuc_vu"))
    hostile = read_extract(generated_data / _file(files, "hostile_headers")["source_file"])
    headers = [unicodedata.normalize("NFC", h) for h in hostile.headers]
    assert all(h.strip() in headers for h in HOSTILE_HEADERS)
    names = [h for h in hostile.headers if h and canonical_column(h) == "ho_va_ten"]
    assert len(names) == 2 and names[0] == names[1]


def test_bad_files_are_rejected_for_the_right_reason(generated_data: Path, files: list[dict],
                                                     truth: dict[str, list[dict]]) -> None:
    header_only = generated_data / _file(files, "header_only")["source_file"]
    with pytest.raises(ExtractReadError) as error:
        read_extract(header_only)
    assert error.value.reason_code == "empty_extract"
    cut = _file(files, "truncated")
    with pytest.raises(ExtractReadError) as error:
        read_extract(generated_data / cut["source_file"])
    assert error.value.reason_code == "truncated_file"
    assert column(error.value.partial, "ma_ho_so") == [t["ma_ho_so"] for t in truth[cut["source_file"]]]
    copy = _file(files, "duplicate")
    older = next(f for f in files if f["unit_code"] == copy["unit_code"] and f["kind"] == "older")
    current = next(f for f in files if f["unit_code"] == copy["unit_code"] and f["kind"] == "current")
    assert (generated_data / copy["source_file"]).read_bytes() == (generated_data / older["source_file"]).read_bytes()
    assert Path(copy["source_file"]).name[:10] >= Path(current["source_file"]).name[:10]


def test_a_unit_with_a_rejected_resent_file_keeps_its_good_current_file(generated_data: Path,
                                                                        files: list[dict]) -> None:
    with duckdb.connect() as con:
        ensure_warehouse(con)
        for kind, reason in REJECTED.items():
            unit = _file(files, kind)["unit_code"]
            good = next(f for f in files if f["unit_code"] == unit and f["kind"] in ("current", "stale_current"))
            load = load_unit(con, generated_data / "landing", unit, f"run-{kind}")
            assert load.loaded.relative_path == good["source_file"]
            assert load.row_count == int(good["rows"])
            assert [r.reason_code for r in load.rejections] == [reason]
            assert date.fromisoformat(Path(good["source_file"]).name[:10]) <= date(2026, 11, 15)
