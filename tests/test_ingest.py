"""Ingest: readers, header aliases, file rejections and idempotent loads, on real DuckDB."""

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook

from orchestration.columns import EXTRACT_COLUMNS, canonical_column, header_slug
from orchestration.ingest.extracts import load_unit
from orchestration.ingest.landing import extract_date_from_name
from orchestration.ingest.readers import ExtractReadError, read_extract
from orchestration.warehouse import ensure_warehouse

ROW = {
    "ma_ho_so": "HS-1", "ho_va_ten": "Nguyễn Văn An", "ngay_sinh": "05/03/1985", "gioi_tinh": "Nam",
    "so_dinh_danh": "001085000001", "loai": "cong_chuc", "co_quan": "Sở Nội vụ", "ma_ngach": "01.003",
    "trang_thai": "Đang công tác",
}


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None, delimiter: str = ",") -> Path:
    header = header or list(EXTRACT_COLUMNS)
    lines = [delimiter.join(header)]
    for row in rows:
        lines.append(delimiter.join(f'"{row.get(c, "")}"' for c in header))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_header_slugs_map_printed_and_english_labels():
    assert header_slug("  Mã hồ sơ ") == "ma_ho_so"
    assert canonical_column("HỌ VÀ TÊN") == "ho_va_ten"
    assert canonical_column("Ngày sinh") == "ngay_sinh"
    assert canonical_column("Date of birth") == "ngay_sinh"
    assert canonical_column("Ghi chú nội bộ") is None


def test_extract_date_comes_from_the_file_name():
    assert extract_date_from_name(Path("2026-10-31_extract.csv")) == date(2026, 10, 31)
    assert extract_date_from_name(Path("2026-10-31.xlsx")) == date(2026, 10, 31)
    assert extract_date_from_name(Path("extract_latest.csv")) is None
    assert extract_date_from_name(Path("2026-02-30_x.csv")) is None


def test_csv_with_embedded_delimiters_and_newlines(tmp_path):
    row = dict(ROW, co_quan="Sở Nội vụ, Tỉnh A\ntầng 2")
    extract = read_extract(write_csv(tmp_path / "2026-11-01.csv", [row]))
    assert extract.rows[0][EXTRACT_COLUMNS.index("co_quan")] == "Sở Nội vụ, Tỉnh A\ntầng 2"


def test_xlsx_header_is_found_under_title_rows_and_dates_become_iso(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["DANH SÁCH CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC"])
    sheet.append([])
    sheet.append(["Mã hồ sơ", "Họ và tên", "Ngày sinh", "Giới tính", "Loại", "Cơ quan", "Mã ngạch", "Trạng thái"])
    sheet.append(["HS-1", "Trần Thị Bình", datetime(1990, 7, 9), "Nữ", "vien_chuc", "Bệnh viện A", "V.08.01.03",
                  "Đang công tác"])
    path = tmp_path / "2026-11-01.xlsx"
    workbook.save(path)
    extract = read_extract(path)
    assert extract.headers[0] == "Mã hồ sơ"
    assert extract.rows == [["HS-1", "Trần Thị Bình", "1990-07-09", "Nữ", "vien_chuc", "Bệnh viện A", "V.08.01.03",
                             "Đang công tác"]]


def test_file_without_a_header_row_is_a_clear_error(tmp_path):
    path = tmp_path / "2026-11-01.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ExtractReadError) as error:
        read_extract(path)
    assert error.value.reason_code == "no_header"


@pytest.fixture
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_warehouse(con)
    yield con
    con.close()


def test_same_extract_loaded_twice_keeps_one_copy(tmp_path, warehouse):
    landing = tmp_path / "landing"
    write_csv(landing / "ha-noi" / "2026-11-01_extract.csv", [ROW, dict(ROW, ma_ho_so="HS-2")])
    load_unit(warehouse, landing, "ha-noi", "run-1")
    load_unit(warehouse, landing, "ha-noi", "run-2")
    rows = warehouse.execute("select source_row, load_id from raw.extracts order by 1").fetchall()
    assert rows == [(1, "run-2"), (2, "run-2")]
    assert warehouse.execute("select count(*) from raw.extract_loads").fetchall()[0][0] == 2


def test_lineage_columns_name_the_file_its_hash_and_row(tmp_path, warehouse):
    landing = tmp_path / "landing"
    write_csv(landing / "ha-noi" / "2026-11-01_extract.csv", [ROW])
    load = load_unit(warehouse, landing, "ha-noi", "run-1")
    source_file, sha, source_row, extract_day = warehouse.execute(
        "select source_file, file_sha256, source_row, extract_date from raw.extracts"
    ).fetchall()[0]
    assert source_file == "landing/ha-noi/2026-11-01_extract.csv"
    assert sha == load.loaded.sha256 and len(sha) == 64
    assert (source_row, extract_day) == (1, date(2026, 11, 1))


def test_newest_file_missing_a_required_column_is_rejected_and_last_good_file_kept(tmp_path, warehouse):
    landing = tmp_path / "landing"
    write_csv(landing / "ha-noi" / "2026-10-01_extract.csv", [ROW])
    header = [c for c in EXTRACT_COLUMNS if c != "ho_va_ten"]
    write_csv(landing / "ha-noi" / "2026-11-01_extract.csv", [ROW, ROW], header=header)
    (landing / "ha-noi" / "extract_latest.csv").write_text("x", encoding="utf-8")
    load = load_unit(warehouse, landing, "ha-noi", "run-1")
    assert load.loaded.relative_path.endswith("2026-10-01_extract.csv")
    rejected = dict(warehouse.execute("select reason_code, source_file from quarantine.files").fetchall())
    assert rejected == {
        "missing_required_column": "landing/ha-noi/2026-11-01_extract.csv",
        "undated_file": "landing/ha-noi/extract_latest.csv",
    }
    reason = warehouse.execute(
        "select reason from quarantine.files where reason_code = 'missing_required_column'"
    ).fetchall()[0][0]
    assert "ho_va_ten" in reason


def test_copy_of_an_earlier_file_under_a_new_name_is_rejected(tmp_path, warehouse):
    landing = tmp_path / "landing"
    first = write_csv(landing / "ha-noi" / "2026-10-01_extract.csv", [ROW])
    (landing / "ha-noi" / "2026-11-01_extract.csv").write_bytes(first.read_bytes())
    load_unit(warehouse, landing, "ha-noi", "run-1")
    assert warehouse.execute("select reason_code, source_file from quarantine.files").fetchall() == [
        ("duplicate_file", "landing/ha-noi/2026-11-01_extract.csv")
    ]
    assert warehouse.execute("select count(*) from raw.extracts").fetchall()[0][0] == 1


def test_unknown_columns_are_kept_not_dropped(tmp_path, warehouse):
    landing = tmp_path / "landing"
    header = [*EXTRACT_COLUMNS, "Ghi chú"]
    write_csv(landing / "ha-noi" / "2026-11-01_extract.csv", [dict(ROW, **{"Ghi chú": "chuyển từ Sở cũ"})], header)
    load = load_unit(warehouse, landing, "ha-noi", "run-1")
    assert load.unknown_columns == ["Ghi chú"]
    extra = warehouse.execute("select extra_columns->>'Ghi chú' from raw.extracts").fetchall()[0][0]
    assert extra == "chuyển từ Sở cũ"
