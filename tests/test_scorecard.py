"""The national scorecard, the national checkpoint and the documentation sites, after the full pipeline run."""

import json

import dagster as dg

from orchestration.quality.gates import CRITERIA
from tests.conftest import PipelineData

SCORECARD = dg.AssetKey(["quality", "scorecard"])


def test_the_scorecards_living_bound_is_the_living_suites():
    """The scorecard (dbt) and the living suite (GX) judge an extract stale from the same age."""
    import yaml

    from orchestration.quality.gates import load_suite_definitions
    from orchestration.resources import DBT_PROJECT_DIR

    suite = load_suite_definitions(names=("living",))["living"]
    bound = next(e["kwargs"]["max_value"] for e in suite["expectations"]
                 if e["kwargs"].get("column") == "extract_age_days")
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    assert project["vars"]["living_max_extract_age_days"] == bound


def latest_metadata(pipeline: PipelineData, key: dg.AssetKey) -> dict:
    event = pipeline.instance.get_latest_materialization_event(key)
    assert event is not None, f"{key.to_user_string()} was never materialized"
    return event.asset_materialization.metadata


def test_national_scorecard_weights_every_units_latest_rates_by_records(pipeline: PipelineData):
    national = dict(pipeline.query(
        "select criterion, pass_rate from quality.national_scorecard "
        "where measured_at = (select max(measured_at) from quality.national_scorecard)"))
    assert set(national) == set(CRITERIA)
    expected = dict(pipeline.query("""
        select criterion, sum(pass_rate * records) / sum(records) from (
            select unit_code, criterion, max_by(pass_rate, measured_at) as pass_rate,
                max_by(records, measured_at) as records
            from quality.scorecard group by all)
        group by criterion"""))
    for criterion in CRITERIA:
        assert abs(national[criterion] - expected[criterion]) < 1e-9
        assert 0.5 < national[criterion] <= 1.0


def test_scorecard_asset_reports_rates_by_unit_and_by_month(pipeline: PipelineData):
    metadata = latest_metadata(pipeline, SCORECARD)
    for criterion in CRITERIA:
        assert isinstance(metadata[f"pass_rate_{criterion}"], dg.FloatMetadataValue)
    assert metadata["units_scored"].value == 62
    assert len(metadata["by_unit"].records) == 62
    by_month = metadata["by_month"].value
    assert "| Tháng | Đúng | Đủ | Sạch | Sống |" in by_month and "2026-" in by_month


def test_national_checkpoint_is_recorded_and_reported_in_the_manifest(pipeline: PipelineData):
    outcomes = pipeline.query(
        "select expectation, column_name, success from quality.gate_results where unit_code = 'national'")
    assert {e for e, _, _ in outcomes} >= {"expect_table_row_count_to_equal", "expect_column_values_to_be_in_set"}
    extract_present = [ok for e, column, ok in outcomes if column == "has_current_extract"]
    assert extract_present == [True]  # the generated set has a current extract for all 62 units
    check = pipeline.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(SCORECARD, "national_checkpoint")])
    assert check, "the national_checkpoint check never ran"
    manifest = json.loads((pipeline.data_dir / "exports" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["national_checkpoint"]["evaluated"] is True
    assert set(manifest["scorecard"]["national"]) == set(CRITERIA)


def test_gx_data_docs_list_every_unit_and_are_linked_from_the_gates(pipeline: PipelineData):
    index = pipeline.data_dir / "reports" / "gx_data_docs" / "index.html"
    text = index.read_text(encoding="utf-8")
    for unit_code in ("ha-noi", "bo-tai-chinh", "national"):
        assert f".{unit_code}" in text
    gates = latest_metadata(pipeline, dg.AssetKey(["quality", "gate_results"]))
    assert gates["gx_data_docs"].value == index.resolve().as_uri()


def test_dbt_docs_are_generated_and_each_model_links_to_its_page(pipeline: PipelineData):
    page = pipeline.data_dir / "reports" / "dbt_docs" / "static_index.html"
    assert "fct_civil_servant_records" in page.read_text(encoding="utf-8")
    metadata = latest_metadata(pipeline, dg.AssetKey(["marts", "fct_civil_servant_records"]))
    assert metadata["dbt_docs"].value.endswith("#!/model/model.cbccvc.fct_civil_servant_records")
