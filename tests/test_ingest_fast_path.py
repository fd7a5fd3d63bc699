"""The ingest fast path (DuckDB's own CSV reader) loads exactly what the Python readers load.

Every file shape the generator writes is loaded twice on real DuckDB, once forcing the Python readers, and
``raw.extracts``, ``raw.extract_loads`` and ``quarantine.files`` must hold the same rows (load times aside).
Hand-written files then check which files take which path, and the cases where the two readers could part.
"""

import csv
import unicodedata
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook

from orchestration.ingest.encodings import encode_cp1258, to_tcvn3
from orchestration.ingest.extracts import load_unit
from orchestration.ingest.fast_path import duckdb_cells
from orchestration.limits import DEFAULT_LIMITS
from orchestration.units import unit_codes
from orchestration.warehouse import ensure_warehouse

HEADER = ["ma_ho_so", "ho_va_ten", "ngay_sinh", "gioi_tinh", "loai", "co_quan", "ma_ngach", "trang_thai", "Ghi chú"]
ROW = ["HS-1", "Nguyễn Văn An", "05/03/1985", "Nam", "cong_chuc", "Sở Nội vụ", "01.003", "Đang công tác", ""]


def loaded_tables(landing: Path, units: list[str], force_python_path: bool) -> dict[str, set[tuple]]:
    """What a load of every unit leaves in the ingest tables, load and detection times left out."""
    with duckdb.connect() as con:
        ensure_warehouse(con)
        for unit in units:
            load_unit(con, landing, unit, "run-1", force_python_path=force_python_path)
        return {
            "extracts": set(con.execute("SELECT * EXCLUDE (loaded_at) FROM raw.extracts").fetchall()),
            "loads": set(con.execute("SELECT * EXCLUDE (loaded_at, unknown_columns), "
                                     "unknown_columns::VARCHAR FROM raw.extract_loads").fetchall()),
            "rejections": set(con.execute("SELECT * EXCLUDE (detected_at) FROM quarantine.files").fetchall()),
        }


def assert_same_load(landing: Path, units: list[str]) -> dict[str, set[tuple]]:
    fast = loaded_tables(landing, units, force_python_path=False)
    python = loaded_tables(landing, units, force_python_path=True)
    for table in fast:
        assert fast[table] == python[table], (table, sorted(fast[table] ^ python[table], key=str)[:4])
    return fast


def takes_fast_path(path: Path) -> bool:
    with duckdb.connect() as con, duckdb_cells(con, path, DEFAULT_LIMITS) as cells:
        return cells is not None


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",", line_end: str = "\n",
              encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator=line_end).writerows(rows)
    return path


# ---------------------------------------------------------------- every generated shape


@pytest.fixture(scope="module")
def truth_files(generated_data: Path) -> list[dict]:
    with (generated_data / "truth" / "files.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_generated_shape_loads_the_same_rows_and_rejections_on_both_paths(generated_data: Path):
    loaded = assert_same_load(generated_data / "landing", unit_codes())
    assert len(loaded["extracts"]) > 2500
    assert {reason for _, _, _, reason, *_ in loaded["rejections"]} >= {
        "duplicate_file", "empty_extract", "truncated_file", "undated_file", "missing_required_column"}


def test_plain_utf8_text_files_take_the_fast_path_and_the_others_do_not(generated_data: Path,
                                                                       truth_files: list[dict]):
    taken: dict[tuple[str, str, str], set[bool]] = {}
    for f in truth_files:
        if f["kind"] in ("current", "older", "stale_current"):
            shape = (f["format"], f["encoding"], f["text_form"])
            taken.setdefault(shape, set()).add(takes_fast_path(generated_data / f["source_file"]))
    assert taken[("csv", "utf-8", "nfc")] == {True}
    assert taken[("csv", "utf-8", "nfd")] == {True}  # NFD text is read as sent, by both readers
    assert taken[("csv", "utf-8-sig", "nfc")] == {True}
    assert taken[("txt", "utf-8", "nfc")] == {True}
    assert taken[("csv", "utf-8", "tcvn3_names")] == {True}  # names converted by the Python reader's rule
    for shape, paths in taken.items():
        if shape[0] in ("xlsx", "json", "jsonl") or shape[1] not in ("utf-8", "utf-8-sig"):
            assert paths == {False}, shape


# ---------------------------------------------------------------- which path a file takes


def test_a_windows_1258_file_takes_the_python_path(tmp_path: Path):
    text = "\n".join(",".join(row) for row in (HEADER, ROW)) + "\n"
    path = tmp_path / "landing" / "ha-noi" / "2026-11-01.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(encode_cp1258(text))
    assert not takes_fast_path(path)
    assert len(assert_same_load(tmp_path / "landing", ["ha-noi"])["extracts"]) == 1


def test_a_tcvn3_file_takes_the_python_path_which_converts_it(tmp_path: Path):
    rows = [HEADER, *([f"HS-{i}", "Nguyễn Thị Hương", "05/03/1985", "Nữ", "cong_chuc", "Sở Nội vụ tỉnh Lạng Sơn",
                       "01.003", "Đang công tác", "Đã đối chiếu"] for i in range(20))]
    path = tmp_path / "landing" / "ha-noi" / "2026-11-01.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes("\n".join(",".join(to_tcvn3(c) for c in row) for row in rows).encode("cp1252") + b"\n")
    assert not takes_fast_path(path)
    loaded = assert_same_load(tmp_path / "landing", ["ha-noi"])
    assert {row[7] for row in loaded["extracts"]} == {"Nguyễn Thị Hương"}


def test_an_xlsx_workbook_takes_the_python_path(tmp_path: Path):
    workbook = Workbook()
    workbook.active.append(HEADER)
    workbook.active.append(ROW)
    path = tmp_path / "landing" / "ha-noi" / "2026-11-01.xlsx"
    path.parent.mkdir(parents=True)
    workbook.save(path)
    assert not takes_fast_path(path)
    assert len(assert_same_load(tmp_path / "landing", ["ha-noi"])["extracts"]) == 1


def test_a_title_row_above_the_header_takes_the_python_path(tmp_path: Path):
    path = write_csv(tmp_path / "landing" / "ha-noi" / "2026-11-01.csv",
                     [["DANH SÁCH CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC"], HEADER, ROW])
    assert not takes_fast_path(path)
    loaded = assert_same_load(tmp_path / "landing", ["ha-noi"])
    assert [row[6] for row in loaded["extracts"]] == ["HS-1"]


# ---------------------------------------------------------------- where the two readers could part


def test_quoted_fields_with_newlines_and_delimiters_read_the_same(tmp_path: Path):
    rows = [HEADER,
            [*ROW[:5], "Sở Nội vụ, Tỉnh A\ntầng 2; phòng \"Tổ chức\"", *ROW[6:8], "dòng 1\n\ndòng 3"],
            [*ROW[:5], "Sở Tư pháp\ttỉnh B", *ROW[6:8], "  có khoảng trắng  "]]
    for delimiter, name in ((",", "comma"), (";", "semicolon"), ("\t", "tab")):
        path = write_csv(tmp_path / name / "landing" / "ha-noi" / "2026-11-01.csv", rows, delimiter)
        assert takes_fast_path(path) == ("\n\n" not in path.read_text(encoding="utf-8")), name
        loaded = assert_same_load(tmp_path / name / "landing", ["ha-noi"])
        assert "Sở Nội vụ, Tỉnh A\ntầng 2; phòng \"Tổ chức\"" in {row[15] for row in loaded["extracts"]}


def test_quoted_newlines_without_an_empty_line_take_the_fast_path(tmp_path: Path):
    rows = [HEADER, [*ROW[:5], "Sở Nội vụ, Tỉnh A\ntầng 2", *ROW[6:8], 'ghi "chú", một']]
    path = write_csv(tmp_path / "landing" / "ha-noi" / "2026-11-01.csv", rows)
    assert takes_fast_path(path)
    loaded = assert_same_load(tmp_path / "landing", ["ha-noi"])
    (row,) = loaded["extracts"]
    assert row[15] == "Sở Nội vụ, Tỉnh A\ntầng 2"
    assert row[-1] == '{"Ghi chú": "ghi \\"chú\\", một"}'


def test_crlf_files_blank_rows_and_white_space_read_the_same(tmp_path: Path):
    rows = [HEADER, ROW, [""] * len(HEADER), [*ROW[:1], "  Trần\u00a0Bình\u3000", *ROW[2:8], " x "], ROW]
    path = write_csv(tmp_path / "landing" / "ha-noi" / "2026-11-01.csv", rows, line_end="\r\n")
    assert takes_fast_path(path)
    loaded = assert_same_load(tmp_path / "landing", ["ha-noi"])
    assert sorted(row[4] for row in loaded["extracts"]) == [1, 2, 3]  # the blank row is not numbered
    assert "Trần\u00a0Bình" in {row[7] for row in loaded["extracts"]}


def test_nfd_text_stays_as_sent(tmp_path: Path):
    name = unicodedata.normalize("NFD", "Nguyễn Thị Hoà")
    path = write_csv(tmp_path / "landing" / "ha-noi" / "2026-11-01.csv", [HEADER, [ROW[0], name, *ROW[2:]]])
    assert takes_fast_path(path)
    loaded = assert_same_load(tmp_path / "landing", ["ha-noi"])
    assert {row[7] for row in loaded["extracts"]} == {name}


@pytest.mark.parametrize("body", [
    'HS-1,"Nguyễn Văn An" ,05/03/1985,Nam,cong_chuc,Sở,01.003,Đang công tác,\n',  # space after a quote
    'HS-1, "Nguyễn Văn An",05/03/1985,Nam,cong_chuc,Sở,01.003,Đang công tác,\n',  # space before a quote
    "HS-1,Nguyễn Văn An,05/03/1985,Nam,cong_chuc,Sở,01.003\n",  # a short (ragged) row
    "HS-1,Nguyễn Văn An,05/03/1985,Nam,cong_chuc,Sở,01.003,Đang công tác,,x\n",  # a long one
    "HS-1,Nguyễn Văn An,05/03/1985,Nam,cong_chuc,Sở,01.003,Đang công tác,\r\nHS-2,B,1,Nữ,x,y,z,w,\n",  # mixed ends
    "HS-1,Nguyễn Văn\rAn,05/03/1985,Nam,cong_chuc,Sở,01.003,Đang công tác,\n",  # a lone CR
    "HS-1,Nguyễn Văn An,05/03/1985,Nam,cong_chuc,Sở,01.003,Đang công tác,\n\nHS-2,B,1,Nữ,x,y,z,w,\n",  # empty line
    'HS-1,"Nguyễn Văn An,05/03/1985,Nam,cong_chuc,Sở,01.003,Đang công tác,\n',  # unterminated quote
    "HS-1,Nguyễn Văn An,05/03/1985,Nam,cong_chuc,Sở,01.003,Đang công tác,\x1f\n",  # a control character
])
def test_files_the_fast_path_cannot_read_cleanly_fall_back_to_the_python_path(tmp_path: Path, body: str):
    path = tmp_path / "landing" / "ha-noi" / "2026-11-01.csv"
    path.parent.mkdir(parents=True)
    path.write_text(",".join(HEADER) + "\n" + body, encoding="utf-8", newline="")
    assert not takes_fast_path(path)
    assert_same_load(tmp_path / "landing", ["ha-noi"])


@pytest.mark.parametrize("content", [b"", b"\n\n", ",".join(HEADER).encode() + b"\n", b"a,b\n1,2\n",
                                     ",".join(HEADER).encode() + b"\n" + ",".join(ROW[:4]).encode()])
def test_rejected_files_get_the_python_paths_reason(tmp_path: Path, content: bytes):
    landing = tmp_path / "landing"
    write_csv(landing / "ha-noi" / "2026-10-01.csv", [HEADER, ROW])
    (landing / "ha-noi" / "2026-11-01.csv").write_bytes(content)
    loaded = assert_same_load(landing, ["ha-noi"])
    assert len(loaded["rejections"]) == 1


def test_a_file_over_the_row_limit_is_rejected_the_same_way(tmp_path: Path):
    landing = tmp_path / "landing"
    write_csv(landing / "ha-noi" / "2026-11-01.csv", [HEADER, *([f"HS-{i}", *ROW[1:]] for i in range(30))])
    limits = DEFAULT_LIMITS.__class__(**{**DEFAULT_LIMITS.__dict__, "max_rows": 10})
    results = []
    for force in (False, True):
        with duckdb.connect() as con:
            ensure_warehouse(con)
            load = load_unit(con, landing, "ha-noi", "run-1", limits, force_python_path=force)
            results.append([(r.reason_code, r.reason) for r in load.rejections])
    assert results[0] == results[1] and results[0][0][0] == "too_many_rows"
