"""Linkage against the generator's truth: cascade stages, decisions, statuses, review and the saved model."""

import shutil
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import pyarrow as pa
import pytest

from orchestration.link.linkage import link_units
from orchestration.link.model import ModelStore
from orchestration.link.review import read_clerical_decisions
from tests.conftest import PipelineData, truth_files


def _status_by_defect(pipeline: PipelineData, defect: str) -> dict[str, int]:
    truth = pipeline.data_dir / "truth" / "records.parquet"
    return dict(pipeline.query(f"""
        select l.match_status, count(*)
        from link.record_links l join read_parquet('{truth}') t using (source_file, source_row)
        where t.defects like '%{defect}%' and t.defects not like '%,%'
        group by 1
    """))


def _share(counts: dict[str, int], status: str) -> float:
    return counts.get(status, 0) / max(sum(counts.values()), 1)


def test_clean_records_are_matched_to_their_own_registry_person(pipeline: PipelineData):
    truth = pipeline.data_dir / "truth" / "records.parquet"
    # A broken export (two columns swapped on every row) is held as a whole; its rows are not clean.
    broken = [row["source_file"] for row in truth_files(pipeline.data_dir) if row["kind"] == "shifted_columns"]
    matched, total = pipeline.query(f"""
        select count(*) filter (where l.match_status = 'matched' and l.so_dinh_danh = t.true_so_dinh_danh),
               count(*)
        from link.record_links l join read_parquet('{truth}') t using (source_file, source_row)
        where coalesce(t.defects, '') = '' and not list_contains(?, t.source_file)
    """, [broken])[0]
    assert total > 1000
    assert matched / total >= 0.99


def test_records_of_people_outside_the_registry_are_not_found(pipeline: PipelineData):
    counts = _status_by_defect(pipeline, "not_in_registry")
    assert sum(counts.values()) > 0
    assert _share(counts, "not_found") >= 0.95


def test_mistyped_ids_are_linked_to_the_right_person_and_reported(pipeline: PipelineData):
    counts = _status_by_defect(pipeline, "mistyped_id")
    assert sum(counts.values()) > 0
    assert _share(counts, "id_wrong") >= 0.8


def test_swapped_birth_dates_are_reported_as_dob_differs(pipeline: PipelineData):
    counts = _status_by_defect(pipeline, "dob_swapped")
    assert sum(counts.values()) > 0
    assert _share(counts, "dob_differs") >= 0.8


def test_every_record_has_exactly_one_link_row(pipeline: PipelineData):
    assert pipeline.scalar("""
        select count(*) from marts.fct_civil_servant_records r
        left join link.record_links l using (source_file, source_row) where l.decision is null
    """) == 0
    assert pipeline.scalar("""
        select count(*) from (select source_file, source_row from link.record_links group by all having count(*) > 1)
    """) == 0


def test_the_trained_model_is_a_versioned_artefact_used_by_every_link(pipeline: PipelineData):
    version, model = ModelStore(pipeline.data_dir / "models" / "splink").current()
    assert version.startswith("model-") and model["comparisons"]
    assert {v for (v,) in pipeline.query("select distinct model_version from link.record_links")} == {version}


def test_each_cascade_stage_links_records(pipeline: PipelineData):
    stages = dict(pipeline.query("select stage, count(*) from link.record_links group by 1"))
    assert stages.get("exact_id", 0) > 0.8 * sum(stages.values())
    assert stages.get("old_cmnd", 0) > 0
    assert stages.get("splink", 0) > 0
    # Deterministic stages are exact: the ID (or old ID) sent is the linked person's.
    assert pipeline.scalar("""
        select count(*) from link.record_links l
        join marts.fct_civil_servant_records r using (source_file, source_row)
        join marts.dim_registry_persons g on g.so_dinh_danh = l.so_dinh_danh
        where (l.stage = 'exact_id' and r.so_dinh_danh <> g.so_dinh_danh)
           or (l.stage = 'old_cmnd' and r.so_dinh_danh <> g.cmnd_cu)
    """) == 0


def test_every_match_status_is_reachable(pipeline: PipelineData):
    statuses = {s for (s,) in pipeline.query("select distinct match_status from link.record_links")}
    assert {"matched", "id_wrong", "name_differs", "dob_differs", "not_found"} <= statuses


def test_each_decision_carries_its_evidence(pipeline: PipelineData):
    comparisons = {c for (c,) in pipeline.query("select distinct comparison from link.link_evidence")}
    assert {"so_dinh_danh", "name", "ngay_sinh", "gioi_tinh"} <= comparisons
    assert pipeline.scalar("""
        select count(*) from link.record_links l
        anti join link.link_evidence e using (source_file, source_row)
        where l.stage = 'splink' and l.decision <> 'no_link'
    """) == 0


@pytest.fixture
def linked_copy(pipeline: PipelineData, tmp_path) -> Path:
    """A private copy of the linked warehouse and model, to run linkage again."""
    shutil.copy(pipeline.warehouse, tmp_path / "warehouse.duckdb")
    shutil.copytree(pipeline.data_dir / "models", tmp_path / "models")
    return tmp_path


def _link_again(data_dir: Path, units: list[str], clerical: pa.Table | None = None) -> list[tuple]:
    store = ModelStore(data_dir / "models" / "splink")
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        decisions = clerical if clerical is not None else read_clerical_decisions(con, data_dir).table
        link_units(con, units, store, "again", 0.99, 0.5, 5.0, decisions)
        return con.execute(
            "select source_file, source_row, so_dinh_danh, match_probability, decision, match_status "
            "from link.record_links where unit_code in (select unnest(?)) order by 1, 2", [units]
        ).fetchall()


def test_reloading_the_saved_model_gives_identical_predictions(pipeline: PipelineData, linked_copy):
    units = ["ha-noi", "bo-noi-vu"]
    before = pipeline.query(
        "select source_file, source_row, so_dinh_danh, match_probability, decision, match_status "
        "from link.record_links where unit_code in (select unnest(?)) order by 1, 2", [units])
    assert _link_again(linked_copy, units) == before


def test_reviewers_decisions_override_the_model(pipeline: PipelineData, linked_copy):
    unit = pipeline.scalar(
        "select unit_code from link.record_links group by 1 "
        "having count(*) filter (decision = 'no_link') > 0 and count(*) filter (decision = 'auto_link') > 0 "
        "order by 1 limit 1")
    linked = pipeline.query(
        "select source_file, source_row, so_dinh_danh from link.record_links "
        "where unit_code = ? and decision = 'auto_link' order by source_row limit 1", [unit])[0]
    unlinked = pipeline.query(
        "select source_file, source_row from link.record_links "
        "where unit_code = ? and decision = 'no_link' order by source_row limit 1", [unit])[0]
    with duckdb.connect(str(linked_copy / "warehouse.duckdb")) as con:
        # The reviewer links the unlinked record to the person of the linked one, and unlinks that one.
        con.execute("insert into link.review_candidates values ('ref-under-test', ?)", [linked[2]])
    (linked_copy / "review").mkdir()
    (linked_copy / "review" / "decisions.csv").write_text(
        "source_file,source_row,decision,candidate_ref,reviewer,note\n"
        f"{unlinked[0]},{unlinked[1]},link,ref-under-test,reviewer-1,\n"
        f"{linked[0]},{linked[1]},no_link,,reviewer-1,\n",
        encoding="utf-8",
    )
    rows = {(f, r): (sid, decision) for f, r, sid, _, decision, _ in _link_again(linked_copy, [unit])}
    assert rows[(unlinked[0], unlinked[1])] == (linked[2], "auto_link")
    assert rows[(linked[0], linked[1])] == (None, "no_link")
    with duckdb.connect(str(linked_copy / "warehouse.duckdb"), read_only=True) as con:
        stages = con.execute(
            "select stage from link.record_links where (source_file, source_row) in (select unnest(?), unnest(?))",
            [[unlinked[0], linked[0]], [unlinked[1], linked[1]]]).fetchall()
    assert {s for (s,) in stages} == {"clerical"}


def test_review_queue_shows_candidates_without_full_ids(pipeline: PipelineData):
    columns = {c for (c,) in pipeline.query(
        "select column_name from information_schema.columns where table_schema = 'link' "
        "and table_name = 'review_queue'")}
    assert "so_dinh_danh" not in columns and "registry_id" not in columns
    for (last4,) in pipeline.query("select candidate_id_last4 from link.review_queue"):
        assert last4 is None or len(last4) == 4


def test_linkage_meets_its_targets_against_truth(pipeline: PipelineData):
    """The targets of the linkage design, measured by the linkage-quality asset on the test data set."""
    national = dict(zip(
        ("precision", "recall", "review_share", "recall_after_review", "outsiders_linked_share"),
        pipeline.query(
            "select precision, recall, review_share, recall_after_review, outsiders_linked_share "
            "from link.linkage_quality where unit_code = 'national' order by measured_at desc limit 1")[0],
        strict=True,
    ))
    assert national["precision"] >= 0.999
    assert national["recall"] >= 0.985
    assert national["review_share"] <= 0.02
    assert national["recall_after_review"] >= 0.997
    assert national["outsiders_linked_share"] <= 0.001
    units = pipeline.scalar("select count(distinct unit_code) from link.linkage_quality where unit_code <> 'national'")
    assert units == 62


def test_retraining_is_an_explicit_run_that_writes_a_new_version_and_charts(pipeline: PipelineData, linked_copy):
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.jobs import RETRAIN
    from tests.conftest import pipeline_environment

    shutil.copytree(pipeline.data_dir / "registry", linked_copy / "registry")
    with pipeline_environment(linked_copy) as instance:
        result = dg.materialize(list(defs.assets), selection=RETRAIN, instance=instance, resources=defs.resources)
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    version = metadata["version"].value
    assert ModelStore(linked_copy / "models" / "splink").current()[0] == version
    assert Path(urlparse(metadata["chart_match_weights"].value).path).exists()
