"""The monthly ranking of units (dbt model fct_unit_ranking) on hand-made scorecards, built by real dbt."""

from datetime import date, datetime

import duckdb
import pytest

from orchestration.quality.gates import CRITERIA
from orchestration.warehouse import ensure_warehouse
from tests.conftest import dbt_build

OCTOBER, NOVEMBER = datetime(2026, 10, 5, 2), datetime(2026, 11, 5, 2)

# (unit, measured at, the same pass rate for the four criteria)
SCORECARDS = [
    ("ha-noi", OCTOBER, 0.90), ("cao-bang", OCTOBER, 0.80), ("tuyen-quang", OCTOBER, 0.95),
    ("ha-noi", NOVEMBER, 0.99), ("cao-bang", NOVEMBER, 0.85),
    # tuyen-quang sends nothing in November: its October scorecard stands.
    ("dien-bien", NOVEMBER, 0.70),  # scored for the first time in November
]


@pytest.fixture(scope="module")
def ranking(tmp_path_factory) -> dict[tuple[str, str, str], tuple]:
    warehouse = tmp_path_factory.mktemp("ranking") / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ensure_warehouse(con)
        con.executemany(
            "insert into quality.scorecard (snapshot_date, unit_code, criterion, pass_rate, records, load_id, "
            "measured_at, meets_target) values (?, ?, ?, ?, 100, ?, ?, true)",
            [[date(at.year, at.month, 1), unit, criterion, rate, f"run-{at:%m}", at]
             for unit, at, rate in SCORECARDS for criterion in CRITERIA],
        )
        # One criterion apart, so that the overall rate is the mean of the four.
        con.execute("update quality.scorecard set pass_rate = 0.50 "
                    "where unit_code = 'cao-bang' and criterion = 'living' and measured_at = ?", [NOVEMBER])
    dbt_build(warehouse, "+fct_unit_ranking")  # the model's own dbt tests pass too
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("""
            select strftime(month, '%Y-%m'), unit_code, criterion, pass_rate, unit_rank, units_ranked,
                previous_rank, rank_change, pass_rate_change
            from quality.unit_ranking""").fetchall()
    return {(month, unit, criterion): rest for month, unit, criterion, *rest in rows}


def test_every_unit_is_listed_every_month_and_only_scored_units_are_ranked(ranking):
    for month in ("2026-10", "2026-11"):
        units = {unit for (m, unit, criterion) in ranking if m == month and criterion == "overall"}
        assert len(units) == 62
    assert ranking[("2026-10", "ha-noi", "overall")][2] == 3
    assert ranking[("2026-11", "ha-noi", "overall")][2] == 4
    assert ranking[("2026-10", "dien-bien", "overall")][1] is None


def test_units_are_ranked_by_pass_rate_with_the_change_since_last_month(ranking):
    october = {unit: ranking[("2026-10", unit, "overall")][1] for unit in ("tuyen-quang", "ha-noi", "cao-bang")}
    assert october == {"tuyen-quang": 1, "ha-noi": 2, "cao-bang": 3}
    # November: Hà Nội moves up, Tuyên Quang keeps its October rates and moves down one place.
    rate, rank, _, previous, change, rate_change = ranking[("2026-11", "ha-noi", "overall")]
    assert (rank, previous, change) == (1, 2, 1) and rate == pytest.approx(0.99)
    assert rate_change == pytest.approx(0.09)
    rate, rank, _, previous, change, _ = ranking[("2026-11", "tuyen-quang", "overall")]
    assert (rank, previous, change) == (2, 1, -1) and rate == pytest.approx(0.95)
    # A unit's first ranked month has no previous rank and no change.
    rate, rank, _, previous, change, _ = ranking[("2026-11", "dien-bien", "overall")]
    assert (rank, previous, change) == (4, None, None)


def test_overall_is_the_mean_of_the_four_criteria_and_each_criterion_is_ranked_apart(ranking):
    rate, rank, *_ = ranking[("2026-11", "cao-bang", "overall")]
    assert rate == pytest.approx((0.85 * 3 + 0.50) / 4) and rank == 3
    assert ranking[("2026-11", "cao-bang", "living")][1] == 4  # below Điện Biên's 0.70 on living
    assert ranking[("2026-11", "cao-bang", "correct")][1] == 3
