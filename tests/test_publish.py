"""Publish: atomic per-unit publication, feedback workbooks, and what shared outputs may carry."""

import re
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from openpyxl import load_workbook

from orchestration.publish import publication
from orchestration.publish.feedback import neutralise
from tests.conftest import PipelineData


def published_units(pipeline: PipelineData) -> list[str]:
    return [u for (u,) in pipeline.query(
        "select unit_code from published.snapshots where outcome = 'published' order by 1")]


def test_a_failure_mid_publication_leaves_the_previous_snapshot(pipeline: PipelineData, tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(pipeline.warehouse, warehouse)
    unit = published_units(pipeline)[0]

    def broken_tokens(accepted: pa.Table, token_key: str, published_at) -> pa.Table:
        # Rows without a person token violate published.civil_servants' NOT NULL: the insert fails
        # after the unit's previous rows were deleted inside the transaction.
        table = accepted.drop_columns(["registry_id"])
        table = table.append_column("person_token", pa.array([None] * table.num_rows, pa.string()))
        return table.append_column("published_at", pa.array([published_at] * table.num_rows, pa.timestamp("us")))

    monkeypatch.setattr(publication, "_with_tokens", broken_tokens)
    with duckdb.connect(str(warehouse)) as con:
        before = con.execute("select * from published.civil_servants where unit_code = ? order by source_row",
                             [unit]).fetchall()
        with pytest.raises(duckdb.Error):
            publication.publish_unit(con, unit, "key")
        after = con.execute("select * from published.civil_servants where unit_code = ? order by source_row",
                            [unit]).fetchall()
    assert before and after == before


def test_feedback_workbook_opens_and_lists_only_its_units_records(pipeline: PipelineData):
    unit = published_units(pipeline)[0]
    paths = sorted((pipeline.data_dir / "reports" / "feedback" / unit).glob("*_phan_hoi.xlsx"))
    assert paths
    workbook = load_workbook(paths[-1], read_only=True)
    assert workbook.sheetnames == ["Tổng hợp", "Hồ sơ cần sửa", "Kiểm tra tệp", "Xếp hạng", "Tệp không được nhận"]
    rows = list(workbook["Hồ sơ cần sửa"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Mã hồ sơ", "Tệp nguồn", "Dòng")
    flags = pipeline.scalar("select count(*) from quality.record_flags where unit_code = ?", [unit])
    assert len(rows) - 1 == flags
    assert all(row[1].startswith(f"landing/{unit}/") for row in rows[1:])
    summary = [row[0] for row in workbook["Tổng hợp"].iter_rows(values_only=True)]
    assert {"Đúng", "Đủ", "Sạch", "Sống"} <= set(summary)


def test_a_units_refused_files_are_in_its_workbook_with_the_vietnamese_reason(pipeline: PipelineData):
    unit, source_file = pipeline.query(
        "select unit_code, source_file from quarantine.files where reason_code = 'undated_file' order by 1 limit 1")[0]
    reason_vi = pipeline.scalar("select reason_vi from reference.ref_file_reasons where reason_code = 'undated_file'")
    paths = sorted((pipeline.data_dir / "reports" / "feedback" / unit).glob("*_phan_hoi.xlsx"))
    rows = list(load_workbook(paths[-1], read_only=True)["Tệp không được nhận"].iter_rows(values_only=True))
    assert rows[0] == ("Tệp", "Lý do", "Cách xử lý")
    assert (source_file, reason_vi) in {(row[0], row[1]) for row in rows[1:]}
    assert "NNNN-TT-NN" in reason_vi


def test_every_file_reason_code_has_its_vietnamese_sentence(pipeline: PipelineData):
    sources = "".join(p.read_text(encoding="utf-8") for p in (
        Path(__file__).resolve().parents[1] / "orchestration" / "ingest").glob("*.py"))
    codes = set(re.findall(r'(?:ExtractReadError|FileRejection)\(\s*(?:file,\s*)?"([a-z_]+)"', sources))
    codes |= set(re.findall(r'FileRejection\(\s*file,\s*"([a-z_]+)"', sources)) | {"unknown_unit"}
    assert len(codes) >= 15
    seeded = {code for (code,) in pipeline.query("select reason_code from reference.ref_file_reasons")}
    assert codes <= seeded, codes - seeded


def test_every_unit_with_an_extract_gets_a_workbook(pipeline: PipelineData):
    units = {u for (u,) in pipeline.query("select distinct unit_code from raw.extracts")}
    with_workbook = {p.parent.name for p in (pipeline.data_dir / "reports" / "feedback").glob("*/*.xlsx")}
    assert units == with_workbook


# English words a sentence of the workbook would show if it were not in Vietnamese, and rule codes.
ENGLISH_WORDS = {
    "the", "and", "of", "is", "are", "not", "to", "in", "for", "with", "on", "was", "were", "be", "by", "or",
    "this", "that", "please", "record", "records", "registry", "unit", "units", "held", "published", "blocking",
    "warning", "rule", "gate", "extract", "file", "date", "birth", "name", "sex", "rank", "missing", "invalid",
    "unknown", "duplicate", "person", "status", "category", "address", "hometown", "quality", "correct",
    "sufficient", "clean", "living", "pass", "rate", "none", "true", "false", "null", "nan", "outcome",
}
# Columns that echo what the unit or the registry holds (record ids, file names, values sent) are data.
DATA_HEADERS = {"Mã hồ sơ", "Tệp nguồn", "Giá trị đơn vị gửi", "Dữ liệu dân cư"}


def english_in_visible_cells(path) -> list[tuple[str, str, str]]:
    """(sheet, cell, text) of every visible cell holding an English word or a snake_case code."""
    found = []
    for sheet in load_workbook(path):
        hidden = {letter for letter, dimension in sheet.column_dimensions.items() if dimension.hidden}
        headers = {}
        for row in sheet.iter_rows():
            for cell in row:
                if cell.column_letter in hidden or not isinstance(cell.value, str):
                    continue
                if cell.value in DATA_HEADERS:
                    headers[cell.column_letter] = cell.value
                    continue
                if cell.column_letter in headers and cell.row > 1:
                    continue
                # Whole words: a Vietnamese word such as "Toàn" is not the English "to".
                words = {w.lower() for w in re.findall(r"\w+", cell.value)}
                if words & ENGLISH_WORDS or re.search(r"\b[a-z]+_[a-z0-9_]+\b", cell.value):
                    found.append((sheet.title, cell.coordinate, cell.value))
    return found


def test_workbooks_speak_vietnamese_in_every_visible_cell(pipeline: PipelineData):
    held = pipeline.scalar("select any_value(unit_code) from published.snapshots where outcome = 'held'")
    units = [held, *published_units(pipeline)[:3]]
    for unit in units:
        (path,) = sorted((pipeline.data_dir / "reports" / "feedback" / unit).glob("*_phan_hoi.xlsx"))[-1:]
        assert english_in_visible_cells(path) == [], unit
    # Every row says what happens to its record; the rule code stays, hidden, in the last column.
    workbook = load_workbook(sorted((pipeline.data_dir / "reports" / "feedback" / held).glob("*.xlsx"))[-1])
    summary = {row[0]: row[1] for row in workbook["Tổng hợp"].iter_rows(values_only=True) if row and row[0]}
    assert summary["Kết quả"] == "Tạm giữ cả tệp, chưa công bố" and "tạm giữ" in summary["Lý do tạm giữ"]
    problems = workbook["Hồ sơ cần sửa"]
    assert problems.column_dimensions["L"].hidden
    handled = {row[10] for row in problems.iter_rows(min_row=2, values_only=True)}
    assert handled == {"Chưa công bố: cả tệp đang bị tạm giữ"}
    published_unit = published_units(pipeline)[0]
    workbook = load_workbook(sorted((pipeline.data_dir / "reports" / "feedback" / published_unit).glob("*.xlsx"))[-1])
    handled = {row[10] for row in workbook["Hồ sơ cần sửa"].iter_rows(min_row=2, values_only=True)}
    assert handled <= {"Đã công bố, kèm cảnh báo", "Chưa công bố cho đến khi sửa"} and handled
    ranking = list(workbook["Xếp hạng"].iter_rows(min_row=3, values_only=True))
    assert [row[0] for row in ranking] == ["Đúng", "Đủ", "Sạch", "Sống", "Chung (trung bình bốn tiêu chí)"]
    assert all(1 <= row[2] <= row[3] == 62 for row in ranking)


def test_the_english_detector_finds_english(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["Tiêu chí", "The record was not linked to the population registry."])
    workbook.active.append(["Mã quy tắc", "correct.id_missing"])
    workbook.save(tmp_path / "w.xlsx")
    assert [cell for _, cell, _ in english_in_visible_cells(tmp_path / "w.xlsx")] == ["B1", "B2"]


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "+SUM(1)", "-2+3", "@cmd"])
def test_formula_like_text_is_neutralised(text, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append([neutralise(text)])
    workbook.save(tmp_path / "w.xlsx")
    cell = load_workbook(tmp_path / "w.xlsx").active["A1"]
    assert cell.data_type == "s" and cell.value == "'" + text
    assert neutralise("Nguyễn Văn An") == "Nguyễn Văn An"


def test_exports_match_publication_carry_no_raw_id_and_are_audited(pipeline: PipelineData):
    import hashlib
    import json

    folder = pipeline.data_dir / "exports"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["national"]["rows"] == pipeline.scalar("select count(*) from published.civil_servants")
    for unit, entry in manifest["units"].items():
        path = folder / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        assert entry["rows"] == pipeline.scalar(
            "select count(*) from published.civil_servants where unit_code = ?", [unit])
    columns = {name for (name,) in pipeline.query(
        f"select column_name from (describe select * from read_parquet('{folder / 'national.parquet'}'))")}
    assert "so_dinh_danh" not in columns and "person_token" in columns
    assert set(manifest["scorecard"]) >= set(manifest["units"])
    audited = {kind for (kind,) in pipeline.query("select distinct kind from published.audit_log")}
    assert audited == {"export_unit", "export_national", "manifest", "publish", "quarantine", "hold"}


def test_a_run_decides_a_units_publication_only_on_its_own_gates_about_the_load_they_saw():
    from orchestration.warehouse import ensure_warehouse

    with duckdb.connect() as con:
        ensure_warehouse(con)
        con.execute("create schema marts")
        con.execute("create table marts.fct_civil_servant_records as select 'ha-noi' as unit_code, 'load-2' as load_id")
        assert publication.not_decidable_by(con, "ha-noi", "run-1") == "its current load has no gate results"
        con.execute("insert into quality.gate_results (load_id, unit_code, criterion, expectation, blocking, success, "
                    "observed, evaluated_at, extract_load_id) values ('run-1', 'ha-noi', 'integrity', 'e', true, true, "
                    "'', now(), 'load-1')")
        # Run 1 evaluated load 1; load 2 arrived since (another run's ingest and dbt): that run decides.
        assert "newer load" in publication.not_decidable_by(con, "ha-noi", "run-1")
        con.execute("update marts.fct_civil_servant_records set load_id = 'load-1'")
        assert publication.not_decidable_by(con, "ha-noi", "run-1") is None
        # Another run has evaluated the unit's gates since: this run no longer decides.
        con.execute("insert into quality.gate_results (load_id, unit_code, criterion, expectation, blocking, success, "
                    "observed, evaluated_at, extract_load_id) values ('run-2', 'ha-noi', 'integrity', 'e', true, true, "
                    "'', now(), 'load-1')")
        assert "another run" in publication.not_decidable_by(con, "ha-noi", "run-1")
        assert publication.not_decidable_by(con, "lai-chau", "run-1") is None  # no extract: nothing to decide
