"""The pipeline end to end: conservation, publication, gates, idempotence and the Dagster code location."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import PipelineData, ordinary_units, pipeline_environment, resend_extract, truth_files

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_every_unit_row_is_published_or_quarantined(pipeline: PipelineData):
    rows = pipeline.query("""
        with read as (select unit_code, count(*) as n from raw.extracts group by 1),
        published as (
            select p.unit_code, count(*) as n from published.civil_servants p
            join raw.extracts r using (source_file, source_row) group by 1),
        quarantined as (
            select q.unit_code, count(*) as n from quarantine.rows q
            join raw.extracts r using (source_file, source_row) group by 1)
        select read.unit_code, read.n, coalesce(published.n, 0), coalesce(quarantined.n, 0)
        from read left join published using (unit_code) left join quarantined using (unit_code)
    """)
    assert len(rows) == 62
    for unit_code, read, published, quarantined in rows:
        assert read == published + quarantined, unit_code
    # Nothing is in both places.
    assert pipeline.scalar("""
        select count(*) from published.civil_servants p join quarantine.rows q using (source_file, source_row)
    """) == 0


def test_only_a_broken_export_holds_a_unit(pipeline: PipelineData):
    """Only the unit whose export swapped two columns is held; every other unit publishes, the stale units
    and the unit that left 40 % of its IDs blank included; the stale ones fail 'living' in the scorecard."""
    by_kind = {(row["unit_code"], row["kind"]) for row in truth_files(pipeline.data_dir)}
    (shifted,) = {unit for unit, kind in by_kind if kind == "shifted_columns"}
    outcomes = {unit: (outcome, gates) for unit, outcome, gates in pipeline.query(
        "select unit_code, outcome, failed_gates from published.snapshots")}
    assert len(outcomes) == 62
    assert outcomes.pop(shifted) == ("held", ["columns_shifted"])
    assert {outcome for outcome, _ in outcomes.values()} == {"published"}
    stale = {unit for unit, kind in by_kind if kind == "stale_current"}
    assert stale
    for unit in stale:
        rate, meets_target = pipeline.query(
            "select pass_rate, meets_target from quality.scorecard where unit_code = ? and criterion = 'living'",
            [unit])[0]
        assert rate == 0.0 and meets_target is False
        assert pipeline.scalar("select count(*) from published.civil_servants where unit_code = ?", [unit]) > 0
    truth = pipeline.data_dir / "truth" / "records.parquet"
    with duckdb.connect() as con:
        (bad_ids,) = con.execute(f"""
            select unit_code from read_parquet('{truth}') group by 1
            having avg(case when defects like '%blank_id%' then 1 else 0 end) > 0.3""").fetchall()[0]
    linked = pipeline.scalar(
        "select count(*) from link.record_links where unit_code = ? and decision = 'auto_link'", [bad_ids])
    published = pipeline.scalar("select count(*) from published.civil_servants where unit_code = ?", [bad_ids])
    assert published >= 0.9 * linked


def test_rejected_files_are_reported_with_reasons(pipeline: PipelineData):
    codes = {code for (code,) in pipeline.query("select reason_code from quarantine.files")}
    assert {"undated_file", "unknown_unit", "missing_required_column"} <= codes


def test_published_outputs_carry_no_raw_id(pipeline: PipelineData):
    columns = [name for (name,) in pipeline.query(
        "select column_name from information_schema.columns "
        "where table_schema = 'published' and table_name = 'civil_servants'")]
    assert "so_dinh_danh" not in columns and "person_token" in columns
    ids = {sid for (sid,) in pipeline.query("select so_dinh_danh from raw.registry")}
    for row in pipeline.query("select * from published.civil_servants limit 2000"):
        for value in row:
            assert not (isinstance(value, str) and value in ids)
    tokens = [token for (token,) in pipeline.query("select person_token from published.civil_servants")]
    assert tokens and all(re.fullmatch(r"[0-9a-f]{64}", token) for token in tokens)


def test_published_identity_comes_from_the_registry(pipeline: PipelineData):
    mismatches = pipeline.scalar("""
        select count(*) from published.civil_servants p
        join link.record_links l using (source_file, source_row)
        join raw.registry g on g.so_dinh_danh = l.so_dinh_danh
        where p.ho_va_ten <> g.ho_va_ten or p.ngay_sinh <> g.ngay_sinh
    """)
    assert mismatches == 0


def test_automatic_links_are_precise_against_truth(pipeline: PipelineData):
    truth = pipeline.data_dir / "truth" / "records.parquet"
    correct, wrong, missed = pipeline.query(f"""
        select
            count(*) filter (where l.decision = 'auto_link' and l.so_dinh_danh = t.true_so_dinh_danh),
            count(*) filter (where l.decision = 'auto_link' and l.so_dinh_danh is distinct from t.true_so_dinh_danh),
            count(*) filter (where l.decision <> 'auto_link' and t.true_so_dinh_danh is not null)
        from link.record_links l
        join read_parquet('{truth}') t using (source_file, source_row)
    """)[0]
    assert correct / (correct + wrong) >= 0.99
    assert correct / (correct + missed) >= 0.90


def test_every_criterion_finds_something_and_scorecard_is_filled(pipeline: PipelineData):
    criteria = {c for (c,) in pipeline.query("select distinct criterion from quality.record_flags")}
    assert {"correct", "sufficient", "clean"} <= criteria
    scorecard = pipeline.query("select unit_code, criterion, pass_rate from quality.scorecard")
    assert len({(u, c) for u, c, _ in scorecard}) == 62 * 4
    assert all(0.0 <= rate <= 1.0 for _, _, rate in scorecard)


def ordinary_neighbours(data_dir: Path) -> list[str]:
    """Two neighbouring provinces (adjacent partitions) whose files carry no whole-file defect."""
    return ordinary_units(data_dir, 2)


@pytest.fixture
def two_unit_data(pipeline: PipelineData, generated_data, tmp_path) -> Path:
    """A private copy of two neighbouring units' landing folders, the registry and the trained linkage model
    (training is tested elsewhere; here it would only cost each test time)."""
    data_dir = tmp_path / "data"
    (data_dir / "truth").mkdir(parents=True)
    shutil.copy(generated_data / "truth" / "files.csv", data_dir / "truth" / "files.csv")
    for unit in ordinary_neighbours(generated_data):
        shutil.copytree(generated_data / "landing" / unit, data_dir / "landing" / unit)
    shutil.copytree(generated_data / "registry", data_dir / "registry")
    shutil.copytree(pipeline.data_dir / "models", data_dir / "models")
    return data_dir


def _keep_a_third(headers: list[str], rows: list[list]) -> list[list]:
    """A partial export: a third of the rows (the rows_dropped gate)."""
    return rows[: len(rows) // 3]


def test_a_failing_unit_keeps_its_snapshot_while_its_neighbour_publishes(two_unit_data):
    from orchestration.run import failed_runs, run_pipeline

    bad, good = ordinary_neighbours(two_unit_data)
    warehouse = two_unit_data / "warehouse.duckdb"

    def published_loads(unit: str) -> set[str]:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return {r[0] for r in con.execute(
                "select distinct load_id from published.civil_servants where unit_code = ?", [unit]).fetchall()}

    with pipeline_environment(two_unit_data) as instance:
        run_pipeline([bad, good], instance)
        first_bad, first_good = published_loads(bad), published_loads(good)
        assert first_bad and first_good

        resend_extract(two_unit_data / "landing" / bad, _keep_a_third)
        # One run over both units: the bad unit is held, its neighbour publishes its new load.
        run_pipeline([bad, good], instance)
        assert published_loads(bad) == first_bad
        second_good = published_loads(good)
        assert second_good and second_good != first_good
        with duckdb.connect(str(warehouse), read_only=True) as con:
            read = con.execute("select count(*) from raw.extracts where unit_code = ?", [bad]).fetchall()[0][0]
            held = con.execute(
                "select count(*) from quarantine.rows where unit_code = ? and reason_code = 'held.rows_dropped'",
                [bad]).fetchall()[0][0]
            assert read == held
            outcome = con.execute(
                "select outcome from published.snapshots where unit_code = ? order by decided_at desc limit 1",
                [bad]).fetchall()[0][0]
            assert outcome == "held"

        # A run for the bad unit alone: publication holds it and its partition fails, with the reason.
        result = run_pipeline([bad], instance)
        run = instance.get_run_by_id(result[-1])
        assert run.status == dg.DagsterRunStatus.FAILURE
        # `make run` then exits non-zero (orchestration.run.main): this run is the one reported.
        assert failed_runs(instance, result) == [result[-1]]
        assert published_loads(bad) == first_bad


# What a run decides, without what only says which run decided it (load and run ids, times).
DECIDED_TABLES = ("link.record_links", "quality.record_flags", "published.civil_servants", "quarantine.rows")
RUN_COLUMNS = {"load_id", "linked_at", "published_at", "quarantined_at"}


def decided_contents(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        contents = {}
        for table in DECIDED_TABLES:
            columns = [row[0] for row in con.execute(f"describe {table}").fetchall() if row[0] not in RUN_COLUMNS]
            contents[table] = con.execute(f"select {', '.join(columns)} from {table} order by all").fetchall()
    return contents


def test_one_unit_runs_after_a_full_run_leave_identical_contents_through_every_group(two_unit_data):
    """Both units run together; then each unit's partition runs alone on the same extracts, through every group:
    links, flags, published rows and quarantine end exactly as the run over both left them."""
    from orchestration.definitions import defs
    from orchestration.jobs import SHARED_INPUTS, UNIT_ASSETS
    from orchestration.run import run_pipeline

    units = ordinary_neighbours(two_unit_data)
    unit = units[1]
    warehouse = two_unit_data / "warehouse.duckdb"
    with pipeline_environment(two_unit_data) as instance:
        run_pipeline(units, instance)
        together = decided_contents(warehouse)
        assert all(together.values()), {table: len(rows) for table, rows in together.items()}
        assets = list(defs.assets)
        assert dg.materialize(assets, selection=SHARED_INPUTS, instance=instance, resources=defs.resources).success
        result = dg.materialize(
            assets, selection=UNIT_ASSETS, partition_key=unit, instance=instance, resources=defs.resources
        )
        assert result.success
        assert decided_contents(warehouse) == together
        run_pipeline([units[0]], instance)
        assert decided_contents(warehouse) == together
        events = result.get_asset_materialization_events()
        materialized = {event.asset_key for event in events}
        conformed = next(e for e in events if e.asset_key == dg.AssetKey(["marts", "fct_civil_servant_records"]))
        lineage = conformed.materialization.metadata["dagster/column_lineage"].value
        ho_va_ten_sources = {dep.asset_key for dep in lineage.deps_by_column["ho_va_ten"]}
        assert ho_va_ten_sources == {dg.AssetKey(["intermediate", "int_records__identity"])}
        groups = {defs.resolve_asset_graph().get(key).group_name for key in materialized}
        assert groups == {"ingest", "conform", "link", "quality", "publish"}
        checks = result.get_asset_check_evaluations()
        names = {c.check_name for c in checks}
        assert names >= {"gate_rows_dropped", "gate_columns_shifted", "input_correct", "input_living"}


def test_workspace_loads_cleanly(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=env,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
