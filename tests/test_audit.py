"""Audit trail of a published record (library, CLI and report asset), and the audit log of publications."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.audit.assets import trail_report
from orchestration.audit.trail import Trail, build_trail
from orchestration.publish.history import stored_rows_checksum
from orchestration.resources import PipelineSettings
from orchestration.tokens import person_token
from tests.conftest import TEST_TOKEN_KEY, PipelineData

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TOKEN_KEY = TEST_TOKEN_KEY
CHAIN = [
    "raw.extracts", "staging.stg_raw__extracts", "intermediate.int_records__employment",
    "intermediate.int_records__identity", "intermediate.int_records__residence",
    "marts.fct_civil_servant_records", "quality.record_flags",
]


@pytest.fixture(scope="module")
def splink_record(pipeline: PipelineData) -> dict:
    """A record published alone under its token whose link the Splink model decided (so it has evidence)."""
    cursor_sql = """
        select p.person_token, p.unit_code, p.source_file, p.source_row, p.ma_ho_so, p.load_id, l.so_dinh_danh
        from published.civil_servants p
        join link.record_links l using (source_file, source_row)
        where l.stage = 'splink'
          and p.person_token in (select person_token from published.civil_servants group by 1 having count(*) = 1)
        order by p.unit_code, p.source_row limit 1
    """
    names = ["person_token", "unit_code", "source_file", "source_row", "ma_ho_so", "load_id", "registry_id"]
    return dict(zip(names, pipeline.query(cursor_sql)[0], strict=True))


@pytest.fixture(scope="module")
def trail(pipeline: PipelineData, splink_record: dict) -> Trail:
    with duckdb.connect(str(pipeline.warehouse), read_only=True) as con:
        return build_trail(con, splink_record["person_token"], None, pipeline.data_dir)


def test_trail_reaches_the_exact_source_row(pipeline: PipelineData, splink_record: dict, trail: Trail):
    assert trail.basis == "current snapshot" and len(trail.records) == 1
    source = trail.records[0].source
    assert (source.source_file, source.source_row) == (splink_record["source_file"], splink_record["source_row"])
    on_disk = hashlib.sha256((pipeline.data_dir / source.source_file).read_bytes()).hexdigest()
    assert source.file_sha256 == on_disk and source.file_on_disk == "matches"
    raw_id = pipeline.scalar("select ma_ho_so from raw.extracts where source_file = ? and source_row = ?",
                             [source.source_file, source.source_row])
    assert raw_id == splink_record["ma_ho_so"] == trail.records[0].ma_ho_so
    assert (source.row_checked_in, source.row_ma_ho_so_matches) == ("raw.extracts", True)
    assert source.load_id == splink_record["load_id"] and source.loaded_at is not None


def test_trail_names_the_dbt_models_the_record_went_through(trail: Trail):
    models = trail.records[0].models
    assert [m.relation for m in models] == CHAIN
    assert all(m.code_sha256 for m in models if m.resource_type == "model")
    # Every model up to the conformed record holds exactly this record's one row.
    assert all(m.rows_for_record == 1 for m in models[:-1])
    assert "reference.ref_ranks" in models[2].other_inputs


def test_trail_carries_the_link_decision_and_its_evidence(pipeline: PipelineData, splink_record: dict,
                                                          trail: Trail):
    link = trail.records[0].link
    assert (link.decision, link.stage) == ("auto_link", "splink")
    assert link.model_version and link.match_weight is not None
    expected = pipeline.query(
        "select comparison, weight from link.link_evidence where source_file = ? and source_row = ? "
        "order by comparison", [splink_record["source_file"], splink_record["source_row"]])
    assert expected and [(e.comparison, e.weight) for e in link.evidence] == expected


def test_trail_shows_the_checks_and_the_snapshot(pipeline: PipelineData, splink_record: dict, trail: Trail):
    record = trail.records[0]
    assert record.gates_read_from == "quality.gate_results"
    gates = pipeline.scalar("select count(*) from quality.gate_results where unit_code = ? and load_id = ?",
                            [splink_record["unit_code"], splink_record["load_id"]])
    assert gates > 0 and len(record.gates) == gates
    assert all(g.success for g in record.gates if g.blocking)
    assert all(f.severity == "warning" for f in record.flags)
    snapshot = record.snapshot
    assert snapshot.is_current and snapshot.outcome == "published"
    assert (snapshot.unit_code, snapshot.load_id) == (splink_record["unit_code"], splink_record["load_id"])
    with duckdb.connect(str(pipeline.warehouse), read_only=True) as con:
        assert snapshot.published_rows_sha256 == stored_rows_checksum(
            con, "published.civil_servants", snapshot.unit_code)
    assert [v.change for v in record.versions] == ["new"] and record.versions[0].in_effect


def _cli(pipeline: PipelineData, args: list[str], stdin: str | None = None, with_key: bool = True
         ) -> subprocess.CompletedProcess:
    env = {**os.environ, "CBCCVC_DATA_DIR": str(pipeline.data_dir), "CBCCVC_WAREHOUSE": str(pipeline.warehouse)}
    env.pop("CBCCVC_TOKEN_KEY", None)
    if with_key:
        env["CBCCVC_TOKEN_KEY"] = TOKEN_KEY
    return subprocess.run([sys.executable, "-m", "orchestration.audit", *args], cwd=PROJECT_ROOT, input=stdin,
                          capture_output=True, text=True, timeout=300, env=env)


def test_cli_prints_the_trail_of_a_token(pipeline: PipelineData, splink_record: dict):
    completed = _cli(pipeline, ["--token", splink_record["person_token"]])
    assert completed.returncode == 0, completed.stderr
    assert splink_record["source_file"] in completed.stdout
    assert "### Link to the population registry" in completed.stdout
    assert splink_record["registry_id"] not in completed.stdout


def test_cli_looks_up_an_id_without_printing_it(pipeline: PipelineData, splink_record: dict):
    registry_id = splink_record["registry_id"]
    assert person_token(TOKEN_KEY, registry_id) == splink_record["person_token"]
    for args, stdin in ((["--id", registry_id, "--json"], None), (["--id", "-", "--json"], registry_id + "\n")):
        completed = _cli(pipeline, args, stdin)
        assert completed.returncode == 0, completed.stderr
        assert registry_id not in completed.stdout + completed.stderr
        trail = json.loads(completed.stdout)
        assert trail["person_token"] == splink_record["person_token"]
        assert trail["records"][0]["source"]["source_row"] == splink_record["source_row"]


def test_an_id_look_up_needs_the_token_key(pipeline: PipelineData, splink_record: dict):
    completed = _cli(pipeline, ["--id", splink_record["registry_id"]], with_key=False)
    assert completed.returncode == 2
    assert "CBCCVC_TOKEN_KEY" in completed.stderr
    assert splink_record["registry_id"] not in completed.stdout + completed.stderr


def test_an_unknown_token_traces_nothing(pipeline: PipelineData):
    completed = _cli(pipeline, ["--token", "0" * 64])
    assert completed.returncode == 1 and "No published record" in completed.stdout


def test_report_asset_writes_the_trail(pipeline: PipelineData, splink_record: dict, tmp_path):
    # A private copy of the warehouse (the shared one is read by other tests) beside the same landing files.
    shutil.copy(pipeline.warehouse, tmp_path / "warehouse.duckdb")
    (tmp_path / "landing").symlink_to(pipeline.data_dir / "landing")
    token = splink_record["person_token"]
    result = dg.materialize(
        [trail_report],
        resources={"settings": PipelineSettings(token_key=TEST_TOKEN_KEY, data_dir=str(tmp_path),
                                                  warehouse_path=str(tmp_path / "warehouse.duckdb"))},
        run_config={"ops": {"audit__trail_report": {"config": {"person_token": token}}}},
    )
    assert result.success
    report = tmp_path / "reports" / "audit" / f"{token}.md"
    text = report.read_text(encoding="utf-8")
    assert splink_record["source_file"] in text and "the file on disk matches" in text
    assert splink_record["registry_id"] not in text
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["report"].value == report.resolve().as_uri() and metadata["records"].value == 1
    assert splink_record["ma_ho_so"] not in {str(value.value) for value in metadata.values()}


def test_every_publication_decision_is_in_the_audit_log(pipeline: PipelineData):
    """published: the published rows and the quarantined rows; held: the held rows — each with a checksum."""
    missing = pipeline.query("""
        with expected as (
            select unit_code, decided_at, load_id, source_file, 'publish' as kind, rows_published as row_count
            from published.snapshots where outcome = 'published'
            union all
            select unit_code, decided_at, load_id, source_file, 'quarantine', rows_quarantined
            from published.snapshots where outcome = 'published'
            union all
            select unit_code, decided_at, load_id, source_file, 'hold', rows_quarantined
            from published.snapshots where outcome = 'held'
        )
        select e.* from expected e
        anti join published.audit_log a
            on a.unit_code = e.unit_code and a.recorded_at = e.decided_at and a.kind = e.kind
            and a.row_count = e.row_count and a.path = e.source_file and a.run_id = e.load_id
            and length(a.sha256) = 64
    """)
    assert missing == []
    assert pipeline.scalar("select count(*) from published.snapshots where outcome = 'held'") > 0
