"""A unit that uses the personal ID as its record id, and types IDs into text: no published table, history
row or export carries a registry ID, and the unit is told (record rule personal_id_in_text)."""

import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.columns import canonical_column
from orchestration.publish.personal_ids import masked_record_id, masked_text
from tests.conftest import ordinary_units, pipeline_environment, resend_extract


def _ids_as_record_ids(headers: list[str], rows: list[list]) -> list[list]:
    """ma_ho_so := the 12-digit ID sent (when there is one); the first row's title holds an ID too."""
    columns = [canonical_column(h) for h in headers]
    record_id, person_id, title = (columns.index(c) for c in ("ma_ho_so", "so_dinh_danh", "chuc_vu"))
    changed = []
    for number, row in enumerate(rows):
        row = list(row)
        if row[person_id] and len(row[person_id]) == 12:
            row[record_id] = row[person_id]
            if number == 0:
                row[title] = f"Chuyên viên (CCCD {row[person_id]})"
        changed.append(row)
    return changed


@pytest.fixture(scope="module")
def published_with_ids(pipeline, generated_data, tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("personal_ids") / "data"
    (unit,) = ordinary_units(generated_data, 1)
    shutil.copytree(generated_data / "landing" / unit, data_dir / "landing" / unit)
    shutil.copytree(generated_data / "registry", data_dir / "registry")
    shutil.copytree(pipeline.data_dir / "models", data_dir / "models")  # the session's trained linkage model
    resend_extract(data_dir / "landing" / unit, _ids_as_record_ids)
    from orchestration.run import run_pipeline

    with pipeline_environment(data_dir) as instance:
        run_pipeline([unit], instance)
    return data_dir


def test_no_shared_output_carries_a_registry_id(published_with_ids):
    with duckdb.connect(str(published_with_ids / "warehouse.duckdb"), read_only=True) as con:
        ids = [row[0] for row in con.execute(
            "select so_dinh_danh from raw.registry union all select cmnd_cu from raw.registry "
            "where cmnd_cu is not null").fetchall()]
        con.execute("create temp table ids as select unnest(?) as id", [ids])
        sent = con.execute("select count(*) from raw.extracts where ma_ho_so in (select id from ids)").fetchall()[0][0]
        assert sent >= 20  # the unit really sent IDs as record ids
        exports = str(published_with_ids / "exports" / "**" / "*.parquet")
        for relation in ("published.civil_servants", "published.record_history", f"read_parquet('{exports}')"):
            rows = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
            assert rows > 0, relation
            text_columns = [name for name, kind, *_ in con.execute(f"describe select * from {relation}").fetchall()
                            if kind == "VARCHAR"]
            hits = con.execute(
                f"select count(*) from {relation} r, ids where "
                + " or ".join(f"contains(r.{name}, ids.id)" for name in text_columns)).fetchall()[0][0]
            assert hits == 0, relation
        flagged = con.execute(
            "select count(*) from quality.record_flags where rule = 'personal_id_in_text'").fetchall()[0][0]
        assert flagged >= sent


def test_masking_is_stable_and_leaves_ordinary_values_alone():
    assert masked_record_id("k", "001085012345") == masked_record_id("k", "001085012345")
    assert masked_record_id("k", "001085012345").startswith("MHS-")
    assert masked_record_id("k", "HN-000781") == "HN-000781"
    assert masked_text("Phó phòng (CMND 123456789)") == "Phó phòng (CMND [số định danh đã ẩn])"
    assert masked_text("Trưởng phòng 2, khóa 2015-2020") == "Trưởng phòng 2, khóa 2015-2020"
