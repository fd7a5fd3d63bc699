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
    })


@pytest.fixture(scope="module")
def runner() -> GateRunner:
    return GateRunner()


def failed_criteria(runner: GateRunner, batch: pd.DataFrame) -> set[str]:
    return {o.criterion for o in runner.run("unit-x", batch) if o.blocking and not o.success}


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
