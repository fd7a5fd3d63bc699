"""Linkage inputs come from dbt, registry candidates are pre-selected by blocking key, and scores are reused.

The decisions must be those of scoring each record against the whole registry: the candidates model keeps
every registry person a blocking rule would pair with a record, so Splink forms the same pairs from them.
"""

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.link.linkage import link_units, load_training_inputs
from orchestration.link.model import SETTINGS_PATH, ModelStore, load_model
from orchestration.link.review import read_clerical_decisions
from orchestration.units import unit_codes
from tests.conftest import TEST_TOKEN_KEY, PipelineData

UNITS = ["ha-noi", "bo-noi-vu"]
MACROS = Path(__file__).parents[1] / "dbt_project" / "macros" / "linkage.sql"


def test_the_candidate_models_blocking_keys_are_the_splink_models_prediction_rules():
    rules = json.loads(SETTINGS_PATH.read_text(encoding="utf-8"))["blocking_rules_to_generate_predictions"]
    from_settings = [re.findall(r"l\.(\w+) = r\.\1", rule["blocking_rule"]) for rule in rules]
    macro = MACROS.read_text(encoding="utf-8").split("macro linkage_blocking_keys", 1)[1]
    from_macro = [re.findall(r"'(\w+)'", keys) for keys in re.findall(r"\[([^\[\]]+)\]", macro.split("]) }}")[0])]
    assert from_settings == from_macro
    # Every rule is a conjunction of equalities, which a join can pre-select exactly.
    assert all(" or " not in rule["blocking_rule"] for rule in rules)


@pytest.fixture
def linked_copy(pipeline: PipelineData, tmp_path) -> Path:
    shutil.copy(pipeline.warehouse, tmp_path / "warehouse.duckdb")
    shutil.copytree(pipeline.data_dir / "models", tmp_path / "models")
    return tmp_path


def _link(data_dir: Path, units: list[str]):
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        outcome = link_units(con, units, ModelStore(data_dir / "models" / "splink"), "again", 0.99, 0.5, 5.0,
                             read_clerical_decisions(con, data_dir).table)
        rows = con.execute(
            "select source_file, source_row, so_dinh_danh, match_probability, match_weight, decision, match_status, "
            "stage from link.record_links where unit_code in (select unnest(?)) order by 1, 2", [units]).fetchall()
    return outcome, rows


def _best_against_the_whole_registry(data_dir: Path, units: list[str]) -> dict[str, tuple]:
    """Each residual record's best candidate when Splink compares it with every registry person."""
    work = duckdb.connect()
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        load_training_inputs(work, con, units)
        exact = con.execute("select record_id from linkage.fct_linkage_exact_matches where unit_code in "
                            "(select unnest(?))", [units]).fetchall()
    work.execute("create table exact(record_id varchar)")
    work.executemany("insert into exact values (?)", exact)
    work.execute("create table residual as select * from training_records "
                 "where unique_id not in (select record_id from exact)")
    _, model = ModelStore(data_dir / "models" / "splink").current()
    predictions = load_model(work, "residual", "training_registry", model).inference.predict(
        threshold_match_probability=0.001)
    best = work.execute(f"""
        select record_id, registry_id, match_weight from (
            select case when source_dataset_l = 'splink_residual' then unique_id_l else unique_id_r end as record_id,
                   case when source_dataset_l = 'splink_residual' then unique_id_r else unique_id_l end as registry_id,
                   match_weight
            from {predictions.physical_name})
        qualify row_number() over (partition by record_id order by match_weight desc, registry_id) = 1
    """).fetchall()
    work.close()
    return {record: (registry, weight) for record, registry, weight in best}


def test_candidates_give_the_same_best_match_as_scoring_the_whole_registry(pipeline: PipelineData):
    whole = _best_against_the_whole_registry(pipeline.data_dir, unit_codes())
    rows = pipeline.query("""
        select source_file || '#' || source_row, so_dinh_danh, match_weight, decision from link.record_links
        where stage = 'splink'""")
    assert len(rows) > 100 and len(whole) > 100
    for record, registry_id, weight, decision in rows:
        if record not in whole:
            assert weight is None, record
            continue
        assert weight == pytest.approx(whole[record][1], abs=1e-9), record
        if decision != "no_link":
            assert registry_id == whole[record][0], record


def test_candidate_pairs_are_far_fewer_than_the_registry(pipeline: PipelineData):
    registry = pipeline.scalar("select count(*) from linkage.dim_linkage_registry")
    per_record = pipeline.scalar("""
        select count(*) / count(distinct record_id) from linkage.fct_linkage_candidates""")
    assert per_record < registry / 100


def test_linking_again_reuses_every_score_and_decides_the_same(pipeline: PipelineData, linked_copy):
    first, before = _link(linked_copy, UNITS)
    again, after = _link(linked_copy, UNITS)
    assert after == before
    assert again.records_scored == 0 and again.predictions == 0 and again.scores_reused > 0
    # Without any kept score every record is scored again, to the same decisions.
    with duckdb.connect(str(linked_copy / "warehouse.duckdb")) as con:
        con.execute("delete from link.record_scores")
    fresh, rescored = _link(linked_copy, UNITS)
    assert rescored == before
    assert fresh.records_scored == first.records_scored + first.scores_reused


def test_a_new_model_version_scores_every_record_again(pipeline: PipelineData, linked_copy):
    _link(linked_copy, UNITS)
    store = ModelStore(linked_copy / "models" / "splink")
    version, model = store.current()
    # The same model saved under another version, as a retraining would.
    (store.directory / "model-retrained.json").write_text(json.dumps(model), encoding="utf-8")
    store.pointer.write_text(json.dumps({"version": "model-retrained"}), encoding="utf-8")
    outcome, _ = _link(linked_copy, UNITS)
    assert outcome.scores_reused == 0 and outcome.records_scored > 0
    with duckdb.connect(str(linked_copy / "warehouse.duckdb"), read_only=True) as con:
        assert {v for (v,) in con.execute("select distinct model_version from link.record_scores").fetchall()} == {
            "model-retrained"}


def _write_registry(path: Path, ids: list[str]) -> None:
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    text, dates = pa.array(["x"] * len(ids)), pa.array([datetime.date(1980, 1, 1)] * len(ids))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({
        "so_dinh_danh": pa.array(ids), "cmnd_cu": text, "ho_va_ten": text, "ngay_sinh": dates, "gioi_tinh": text,
        "ma_tinh_khai_sinh": text, "ma_tinh_thuong_tru": text, "ma_xa_thuong_tru": text, "dan_toc": text,
        "trang_thai": text, "ngay_mat": dates, "ngay_cap_nhat": dates}), path)


def test_the_registry_is_loaded_once_per_snapshot(tmp_path):
    import dagster as dg

    from orchestration.ingest.assets import raw_registry
    from orchestration.resources import PipelineSettings
    from tests.conftest import pipeline_environment

    data = tmp_path / "data"
    resources = {"settings": PipelineSettings(token_key=TEST_TOKEN_KEY, data_dir=str(data),
                                              warehouse_path=str(data / "w.duckdb"))}

    def load() -> dict:
        with pipeline_environment(data) as instance:
            result = dg.materialize([raw_registry], instance=instance, resources=resources)
        return {k: v.value for k, v in result.get_asset_materialization_events()[0].materialization.metadata.items()}

    _write_registry(data / "registry" / "registry-000.parquet", ["001085012345", "001085012346"])
    first, second = load(), load()
    assert first["reloaded"] and not second["reloaded"]
    assert first["snapshot_id"] == second["snapshot_id"] and second["persons"] == 2
    _write_registry(data / "registry" / "registry-000.parquet", ["001085012345", "001085012346", "001085012347"])
    third = load()
    assert third["reloaded"] and third["snapshot_id"] != first["snapshot_id"] and third["persons"] == 3
