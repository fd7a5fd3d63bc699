"""Conform: the dbt models on tricky real-world strings, dates, IDs, codes and addresses (real dbt, real DuckDB)."""

import os
import subprocess
import sys
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.columns import EXTRACT_COLUMNS
from orchestration.warehouse import ensure_warehouse
from tests.conftest import PipelineData

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT = str(Path(sys.executable).parent / "dbt")

BASE = {
    "ma_ho_so": "HS", "ho_va_ten": "Nguyễn Văn An", "ngay_sinh": "25/12/1990", "gioi_tinh": "Nam",
    "so_dinh_danh": "001090000001", "loai": "cong_chuc", "co_quan": "Sở Nội vụ", "ma_ngach": "01.003",
    "trang_thai": "Đang công tác", "he_so_luong": "2.34", "bac_luong": "1",
}

# Each case: (values that differ from BASE). Row numbers follow this order.
CASES = [
    {"ho_va_ten": unicodedata.normalize("NFD", "Nguyễn Thị Hoà")},
    {"ho_va_ten": "NGUYỄN VĂN AN"},
    {"ho_va_ten": "\u00d0ặng   Thuý"},
    {"ho_va_ten": "trần quý khoẻ"},
    {"ho_va_ten": "Siu H'Nga"},
    {"ngay_sinh": "05/03/1985"},
    {"ngay_sinh": "1990"},
    {"ngay_sinh": "01/01/1980"},
    {"ngay_sinh": "12/25/1990"},
    {"ngay_sinh": "31/02/1990"},
    {"ngay_sinh": "1990-07-09"},
    {"ngay_sinh": "33000"},
    {"ngay_sinh": None},
    {"so_dinh_danh": "001 090 000 001"},
    {"so_dinh_danh": "123456789"},
    {"so_dinh_danh": "00109000000"},
    {"so_dinh_danh": "999090000001"},
    {"so_dinh_danh": "001190000001"},
    {"gioi_tinh": "NU"},
    {"gioi_tinh": "F"},
    {"gioi_tinh": "Nữ"},
    {"gioi_tinh": "x"},
    {"noi_thuong_tru": "Phường Trúc Bạch, Quận Ba Đình, Thành phố Hà Nội"},
    {"noi_thuong_tru": "Phường Ngọc Hà, Quận Ba Đình, Thành phố Hà Nội"},
    {"noi_thuong_tru": "Phường Ba Đình, Thành phố Hà Nội"},
    {"noi_thuong_tru": "Xóm Núi, Thành phố Hà Nội"},
    {"dan_toc": "Kinh"},
    {"dan_toc": "2"},
    {"dan_toc": "TÀY"},
    {"dan_toc": "Người Sao Hỏa"},
    {"he_so_luong": "2,67", "bac_luong": "2"},
    {"he_so_luong": "2.35"},
    {"ma_ngach": "01.999"},
    {"ma_ngach": "chuyên viên"},
    {"loai": "Công chức"},
    {"trang_thai": "NGHỈ HƯU"},
]


@pytest.fixture(scope="module")
def conformed_warehouse(tmp_path_factory) -> Path:
    """A warehouse with one raw row per case, conformed by a real `dbt build`."""
    warehouse = tmp_path_factory.mktemp("conform") / "warehouse.duckdb"
    rows = [{**BASE, "ma_ho_so": f"HS-{i}", **case} for i, case in enumerate(CASES, start=1)]
    with duckdb.connect(str(warehouse)) as con:
        ensure_warehouse(con)
        for row_number, row in enumerate(rows, start=1):
            con.execute(
                f"insert into raw.extracts (unit_code, source_file, file_sha256, extract_date, source_row, load_id, "
                f"loaded_at, {', '.join(EXTRACT_COLUMNS)}) values ('ha-noi', 'landing/ha-noi/2026-11-01.csv', "
                f"'0', date '2026-11-01', ?, 'test', now(), {', '.join('?' for _ in EXTRACT_COLUMNS)})",
                [row_number, *(row.get(column) for column in EXTRACT_COLUMNS)],
            )
        con.execute("create table raw.registry as select * from (values ('001090000001', null, 'Nguyễn Văn An', "
                    "date '1990-12-25', 'Nam', '001', '01', '00004', '01', 'song', null::date, date '2025-01-01')) "
                    "t(so_dinh_danh, cmnd_cu, ho_va_ten, ngay_sinh, gioi_tinh, ma_tinh_khai_sinh, "
                    "ma_tinh_thuong_tru, ma_xa_thuong_tru, dan_toc, trang_thai, ngay_mat, ngay_cap_nhat)")
    env = {**os.environ, "CBCCVC_WAREHOUSE": str(warehouse), "DO_NOT_TRACK": "1"}
    build = subprocess.run(
        [DBT, "build", "--select", "+fct_civil_servant_records", "--profiles-dir", ".",
         "--target-path", str(warehouse.parent / "target")],
        cwd=PROJECT_ROOT / "dbt_project", env=env, capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stdout[-4000:]
    return warehouse


@pytest.fixture
def conformed(conformed_warehouse) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(conformed_warehouse), read_only=True)
    yield con
    con.close()


def row(con: duckdb.DuckDBPyConnection, case_index: int, *columns: str) -> tuple:
    """Columns of the conformed record made from CASES[case_index]."""
    return con.execute(
        f"select {', '.join(columns)} from marts.fct_civil_servant_records where source_row = ?", [case_index + 1]
    ).fetchall()[0]


def test_names_are_nfc_with_one_tone_convention_and_proper_case(conformed):
    assert row(conformed, 0, "ho_va_ten", "name_was_nfd", "name_tone_respelled") == ("Nguyễn Thị Hòa", True, True)
    assert row(conformed, 1, "ho_va_ten", "name_key") == ("Nguyễn Văn An", "nguyen van an")
    assert row(conformed, 2, "ho_va_ten") == ("Đặng Thúy",)
    assert row(conformed, 3, "ho_va_ten") == ("Trần Quý Khỏe",)
    assert row(conformed, 4, "ho_va_ten") == ("Siu H'Nga",)


def test_names_split_into_surname_middle_and_given(conformed):
    assert row(conformed, 0, "surname", "middle_name", "given_name") == ("Nguyễn", "Thị", "Hòa")
    assert row(conformed, 4, "surname", "middle_name", "given_name") == ("Siu", None, "H'Nga")


def test_dates_are_parsed_with_precision_and_flags_never_fixed(conformed):
    columns = ("ngay_sinh", "ngay_sinh_precision", "ngay_sinh_placeholder", "ngay_sinh_day_month_ambiguous",
               "ngay_sinh_month_first")
    assert row(conformed, 5, *columns) == (date(1985, 3, 5), "day", False, True, False)
    assert row(conformed, 6, *columns) == (date(1990, 1, 1), "year", False, False, False)
    assert row(conformed, 7, *columns) == (date(1980, 1, 1), "day", True, False, False)
    assert row(conformed, 8, *columns) == (None, "invalid", False, False, True)
    assert row(conformed, 9, *columns) == (None, "invalid", False, False, False)
    assert row(conformed, 10, *columns)[:2] == (date(1990, 7, 9), "day")
    assert row(conformed, 11, *columns)[:2] == (date(1990, 5, 7), "day")  # Excel serial 33000
    assert row(conformed, 12, *columns)[:2] == (None, None)


def test_ids_are_classified_and_checked_structurally(conformed):
    columns = ("so_dinh_danh", "id_kind", "id_prefix_valid", "id_century_sex_matches", "id_birth_year_matches")
    assert row(conformed, 13, *columns) == ("001090000001", "cccd", True, True, True)
    assert row(conformed, 14, *columns)[1] == "cmnd"
    assert row(conformed, 15, *columns)[1] == "invalid"
    assert row(conformed, 16, *columns)[2] is False  # prefix 999 is no province
    assert row(conformed, 17, *columns)[3] is False  # digit 1 means female; the record says Nam


def test_sex_codes(conformed):
    assert [row(conformed, i, "gioi_tinh")[0] for i in (18, 19, 20, 21)] == ["nu", "nu", "nu", None]


def test_old_addresses_convert_to_2025_wards_and_split_wards_keep_every_candidate(conformed):
    columns = ("residence_form", "ma_xa_thuong_tru", "ma_tinh_thuong_tru", "ma_xa_thuong_tru_candidates")
    assert row(conformed, 22, *columns) == ("old", "00004", "01", None)
    form, ward, _, candidates = row(conformed, 23, *columns)
    assert form == "old_split" and ward is None and "00004" in candidates and len(candidates) >= 2
    assert row(conformed, 24, *columns) == ("new", "00004", "01", None)
    assert row(conformed, 25, *columns)[:2] == ("unresolved", None)


def test_ethnic_groups_by_name_or_code(conformed):
    assert [row(conformed, i, "dan_toc", "dan_toc_unknown") for i in (26, 27, 28, 29)] == [
        ("01", False), ("02", False), ("02", False), (None, True)]


def test_rank_and_pay_scale(conformed):
    assert row(conformed, 30, "he_so_luong", "coefficient_on_pay_scale") == (Decimal("2.67"), True)
    assert row(conformed, 31, "coefficient_on_pay_scale") == (False,)
    assert row(conformed, 32, "rank_code_well_formed", "rank_in_catalogue") == (True, False)
    assert row(conformed, 33, "rank_code_well_formed") == (False,)


def test_categories_and_statuses_from_vietnamese_words(conformed):
    assert row(conformed, 34, "loai") == ("cong_chuc",)
    assert row(conformed, 35, "trang_thai") == ("nghi_huu",)


def test_columns_say_who_owns_them():
    """Every conformed column is marked as registry (reference) or unit (master) data in the dbt YAML."""
    import yaml

    spec = yaml.safe_load((PROJECT_ROOT / "dbt_project/models/marts/_marts.yml").read_text(encoding="utf-8"))
    model = next(m for m in spec["models"] if m["name"] == "fct_civil_servant_records")
    owners = {c["name"]: c.get("meta", {}).get("owner") for c in model["columns"]}
    assert set(owners.values()) == {"registry", "unit"}


def test_every_raw_row_is_conformed_exactly_once(pipeline: PipelineData):
    missing, extra = pipeline.query("""
        select
            (select count(*) from raw.extracts r
             anti join marts.fct_civil_servant_records f using (source_file, source_row)),
            (select count(*) - (select count(*) from raw.extracts) from marts.fct_civil_servant_records)
    """)[0]
    assert (missing, extra) == (0, 0)


def test_conformed_columns_match_the_documented_columns(pipeline: PipelineData):
    import yaml

    spec = yaml.safe_load((PROJECT_ROOT / "dbt_project/models/marts/_marts.yml").read_text(encoding="utf-8"))
    model = next(m for m in spec["models"] if m["name"] == "fct_civil_servant_records")
    documented = {column["name"] for column in model["columns"]}
    actual = {name for (name,) in pipeline.query(
        "select column_name from information_schema.columns "
        "where table_schema = 'marts' and table_name = 'fct_civil_servant_records'")}
    assert actual == documented


def test_dbt_docs_generate_works(conformed_warehouse, tmp_path):
    env = {**os.environ, "CBCCVC_WAREHOUSE": str(conformed_warehouse), "DO_NOT_TRACK": "1"}
    docs = subprocess.run(
        [DBT, "docs", "generate", "--profiles-dir", ".", "--target-path", str(tmp_path / "target")],
        cwd=PROJECT_ROOT / "dbt_project", env=env, capture_output=True, text=True, timeout=600,
    )
    assert docs.returncode == 0, docs.stdout[-3000:]
    assert (tmp_path / "target" / "catalog.json").exists() and (tmp_path / "target" / "index.html").exists()
