"""Publish: atomic per-unit publication, feedback workbooks, and what shared outputs may carry."""

import shutil

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
    assert workbook.sheetnames == ["Tổng hợp", "Hồ sơ cần sửa"]
    rows = list(workbook["Hồ sơ cần sửa"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Mã hồ sơ", "Tệp nguồn", "Dòng")
    flags = pipeline.scalar("select count(*) from quality.record_flags where unit_code = ?", [unit])
    assert len(rows) - 1 == flags
    assert all(row[1].startswith(f"landing/{unit}/") for row in rows[1:])
    summary = [row[0] for row in workbook["Tổng hợp"].iter_rows(values_only=True)]
    assert {"Đúng", "Đủ", "Sạch", "Sống"} <= set(summary)


def test_every_unit_with_an_extract_gets_a_workbook(pipeline: PipelineData):
    units = {u for (u,) in pipeline.query("select distinct unit_code from raw.extracts")}
    with_workbook = {p.parent.name for p in (pipeline.data_dir / "reports" / "feedback").glob("*/*.xlsx")}
    assert units == with_workbook


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
