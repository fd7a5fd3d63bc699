"""Quality gates: the GX suites on hand-made unit batches, and how their results block in Dagster."""

import dagster as dg
import pandas as pd
import pytest

from orchestration.quality.assets import failed_units_by_criterion, gate_check_result
from orchestration.quality.gates import CRITERIA, GateRunner, load_suite_definitions


def good_batch(rows: int = 100) -> pd.DataFrame:
    return pd.DataFrame({
        "ma_ho_so": [f"HS-{i}" for i in range(rows)],
        "ho_va_ten": ["Nguyễn Văn An"] * rows,
        "ngay_sinh": pd.to_datetime(["1985-03-05"] * rows),
        "gioi_tinh": ["nam"] * rows,
        "so_dinh_danh": [f"001085{i:06d}" for i in range(rows)],
        "loai": ["cong_chuc"] * rows,
        "ma_ngach": ["01.003"] * rows,
        "decision": ["auto_link"] * rows,
        "extract_age_days": [10] * rows,
        "deceased_but_active": [False] * rows,
        **{f"flagged_{criterion}": [False] * rows for criterion in CRITERIA},
    })


@pytest.fixture(scope="module")
def runner() -> GateRunner:
    return GateRunner()


def failed_criteria(runner: GateRunner, batch: pd.DataFrame, parameters: dict | None = None) -> set[str]:
    return {o.criterion for o in runner.run("unit-x", batch, parameters) if o.blocking and not o.success}


def test_every_criterion_has_a_suite_with_at_least_one_expectation():
    suites = load_suite_definitions()
    assert set(suites) == set(CRITERIA)
    assert all(suite["expectations"] for suite in suites.values())


def test_a_good_unit_passes_every_gate(runner):
    assert failed_criteria(runner, good_batch()) == set()


@pytest.mark.parametrize(
    ("criterion", "spoil"),
    [
        ("correct", lambda b: b.assign(so_dinh_danh=["12345"] * 10 + list(b.so_dinh_danh[10:]))),
        ("sufficient", lambda b: b.assign(so_dinh_danh=[None] * 20 + list(b.so_dinh_danh[20:]))),
        ("sufficient", lambda b: b.assign(decision=["no_link"] * 15 + list(b.decision[15:]))),
        ("clean", lambda b: b.assign(ma_ho_so=["HS-0"] * 10 + list(b.ma_ho_so[10:]))),
        ("living", lambda b: b.assign(extract_age_days=[45] * len(b))),
        ("living", lambda b: b.assign(deceased_but_active=[True] * 6 + [False] * (len(b) - 6))),
        *[(criterion, lambda b, c=criterion: b.assign(**{f"flagged_{c}": [True] * 20 + [False] * (len(b) - 20)}))
          for criterion in CRITERIA],
    ],
)
def test_each_gate_fails_on_a_systemic_problem(runner, criterion, spoil):
    assert failed_criteria(runner, spoil(good_batch())) == {criterion}


def test_a_single_bad_record_does_not_fail_a_gate(runner):
    batch = good_batch().assign(extract_age_days=10)
    batch.loc[0, "so_dinh_danh"] = "12345"
    batch.loc[1, "ma_ho_so"] = "HS-2"
    assert failed_criteria(runner, batch) == set()


def test_gate_results_carry_counts_not_values(runner):
    batch = good_batch()
    batch.loc[0:9, "so_dinh_danh"] = "999"
    observed = " ".join(o.observed for o in runner.run("unit-x", batch))
    assert "999" not in observed
    assert "10 of 100 unexpected" in observed


def test_check_blocks_with_error_in_a_one_unit_run_and_warns_in_a_many_unit_run(runner):
    outcomes = runner.run("unit-a", good_batch().assign(extract_age_days=60))
    failed = failed_units_by_criterion(outcomes)
    assert failed["living"] == ["unit-a"]
    alone = gate_check_result("living", failed["living"], units_in_run=1)
    together = gate_check_result("living", failed["living"], units_in_run=62)
    assert not alone.passed and alone.severity == dg.AssetCheckSeverity.ERROR
    assert not together.passed and together.severity == dg.AssetCheckSeverity.WARN
    assert gate_check_result("correct", failed["correct"], 1).passed


@pytest.mark.parametrize(("rows", "passes"), [(100, True), (79, False), (126, False), (81, True)])
def test_row_count_must_stay_within_the_band_of_the_previous_accepted_snapshot(runner, rows, passes):
    band = runner.row_count_band
    previous = 100
    parameters = {"row_count_min": int(previous * band["min_ratio"]),
                  "row_count_max": int(previous * band["max_ratio"])}
    assert ("sufficient" not in failed_criteria(runner, good_batch(rows), parameters)) is passes


def national_good_batch() -> pd.DataFrame:
    return pd.DataFrame({
        "unit_code": [f"unit-{i}" for i in range(62)],
        "has_current_extract": [True] * 62,
        "extract_age_days": [3] * 62,
        "records": [1000] * 62,
        "link_rate": [0.97] * 62,
        "gates_failed": [0] * 62,
    })


@pytest.mark.parametrize(
    ("spoil", "expectation"),
    [
        (lambda b: b.iloc[:61], "expect_table_row_count_to_equal"),
        (lambda b: b.assign(has_current_extract=[False] + [True] * 61), "expect_column_values_to_be_in_set"),
        (lambda b: b.assign(extract_age_days=[40] + [3] * 61), "expect_column_values_to_be_between"),
        (lambda b: b.assign(link_rate=[0.5] + [0.97] * 61), "expect_column_values_to_be_between"),
    ],
)
def test_national_checkpoint_fails_when_one_unit_is_missing_stale_or_unlinked(runner, spoil, expectation):
    assert all(o.success for o in runner.run_national(national_good_batch()))
    failed = [o for o in runner.run_national(spoil(national_good_batch())) if not o.success]
    assert [o.expectation for o in failed] == [expectation]
    assert not any(o.blocking for o in failed)


def test_data_docs_are_built_and_carry_no_personal_values(tmp_path):
    runner = GateRunner(project_dir=tmp_path / "gx", docs_dir=tmp_path / "docs")
    batch = good_batch()
    batch.loc[0:9, "so_dinh_danh"] = "079185123456"
    runner.run("ha-noi", batch, run_name="run-1")
    index = runner.build_data_docs()
    assert index is not None and index.exists()
    pages = list((tmp_path / "docs" / "validations").rglob("*.html"))
    assert len(pages) == len(CRITERIA)
    assert "ha-noi" in index.read_text(encoding="utf-8")
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "079185123456" not in text and "Nguyễn Văn An" not in text
