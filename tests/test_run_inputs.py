"""`make run` skips a unit with nothing new since its last decided run, and runs it when anything its run is
computed from has changed."""

import os
import shutil
from pathlib import Path

import duckdb

from orchestration.ingest.registry import registry_snapshot_id
from orchestration.run_inputs import record_decided_units, unit_fingerprints, units_with_nothing_new
from tests.conftest import PipelineData, ordinary_units, pipeline_environment

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_a_fingerprint_changes_with_the_units_files_the_registry_the_review_and_the_settings(tmp_path, monkeypatch):
    for unit in ("a", "b"):
        (tmp_path / "landing" / unit).mkdir(parents=True)
        (tmp_path / "landing" / unit / "2026-11-01_extract.csv").write_text("ma_ho_so\nHS-1\n", encoding="utf-8")
    before = unit_fingerprints(tmp_path, ["a", "b"], "registry-1")
    assert unit_fingerprints(tmp_path, ["a", "b"], "registry-1") == before
    (tmp_path / "landing" / "a" / "2026-11-20_extract.csv").write_text("ma_ho_so\nHS-2\n", encoding="utf-8")
    after = unit_fingerprints(tmp_path, ["a", "b"], "registry-1")
    assert after["a"] != before["a"] and after["b"] == before["b"]
    assert unit_fingerprints(tmp_path, ["b"], "registry-2")["b"] != before["b"]
    monkeypatch.setenv("CBCCVC_POOL_WAIT_SECONDS", "5")  # how a run waits: not what it decides
    assert unit_fingerprints(tmp_path, ["b"], "registry-1")["b"] == before["b"]
    monkeypatch.setenv("CBCCVC_AUTO_LINK_THRESHOLD", "0.95")
    assert unit_fingerprints(tmp_path, ["b"], "registry-1")["b"] != before["b"]
    monkeypatch.delenv("CBCCVC_AUTO_LINK_THRESHOLD")
    (tmp_path / "review").mkdir()
    (tmp_path / "review" / "decisions.csv").write_text("source_file,source_row,decision\n", encoding="utf-8")
    assert unit_fingerprints(tmp_path, ["b"], "registry-1")["b"] != before["b"]


def test_only_units_brought_to_a_decision_are_recorded(tmp_path):
    with duckdb.connect() as con:
        con.execute("create schema published; create table published.snapshots (unit_code varchar, run_id varchar, "
                    "decided_at timestamp)")
        con.execute("insert into published.snapshots values ('a', 'run-1', now())")
        assert record_decided_units(con, {"a": "f-a", "b": "f-b"}, ["run-1"]) == ["a"]
        assert units_with_nothing_new(con, {"a": "f-a", "b": "f-b"}) == ["a"]
        assert units_with_nothing_new(con, {"a": "f-a2", "b": "f-b"}) == []


def test_make_run_skips_a_unit_with_nothing_new_and_says_so(pipeline: PipelineData, tmp_path, monkeypatch, capsys):
    from orchestration import run

    data_dir = tmp_path / "data"
    for folder in ("landing", "registry", "truth", "models"):
        shutil.copytree(pipeline.data_dir / folder, data_dir / folder, symlinks=True)
    shutil.copy(pipeline.warehouse, data_dir / "warehouse.duckdb")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    unit = ordinary_units(pipeline.data_dir, 1)[0]
    warehouse = data_dir / "warehouse.duckdb"
    with pipeline_environment(data_dir):
        # The unit was decided by the session's run, with these very inputs.
        fingerprints = unit_fingerprints(data_dir, [unit], registry_snapshot_id(
            sorted((data_dir / "registry").glob("*.parquet"))))
        with duckdb.connect(str(warehouse)) as con:
            runs = [r for (r,) in con.execute("select distinct run_id from published.snapshots").fetchall()]
            assert unit in record_decided_units(con, fingerprints, runs)
            decisions = con.execute("select count(*) from published.snapshots").fetchall()[0][0]
        assert run.main(["--units", unit]) == 0
        output = capsys.readouterr()
        assert f"skipped (--force runs them): {unit}" in output.err
        assert "nothing new (last: published)" in output.out
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute("select count(*) from published.snapshots").fetchall()[0][0] == decisions
        os.utime(next((data_dir / "landing" / unit).iterdir()))  # a file touched: no longer the same inputs
        changed = unit_fingerprints(data_dir, [unit], registry_snapshot_id(
            sorted((data_dir / "registry").glob("*.parquet"))))
        with duckdb.connect(str(warehouse)) as con:
            assert units_with_nothing_new(con, changed) == []
