"""The national scorecard: each criterion's pass rate over every unit's latest gate run, kept over time.

Per-unit rows are written by the gate step (quality.scorecard); this module rolls the latest row of
every unit up to one national row per criterion (quality.national_scorecard) and reads the history
month by month, which is the figure the ministry reports.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from orchestration.quality.gates import CRITERIA

CRITERIA_LABELS_VI = {"correct": "Đúng", "sufficient": "Đủ", "clean": "Sạch", "living": "Sống"}

# Each unit counts with its latest scorecard; records weigh the national rate.
_LATEST_UNIT_SCORECARD_SQL = """
select unit_code, criterion,
    max_by(pass_rate, measured_at) as pass_rate,
    max_by(records, measured_at) as records,
    max_by(snapshot_date, measured_at) as snapshot_date
from quality.scorecard
group by all
"""

# The units of one run, weighted the same way (the gate step's own metadata).
_RUN_RATES_SQL = """
select criterion, sum(pass_rate * records) / sum(records) from quality.scorecard
where load_id = $load_id group by criterion
"""

_NATIONAL_ROLLUP_SQL = f"""
insert into quality.national_scorecard by name
select
    max(snapshot_date) as snapshot_date,
    criterion,
    sum(pass_rate * records) / sum(records) as pass_rate,
    sum(records) as records,
    count(distinct unit_code) as units,
    $load_id as load_id,
    $measured_at as measured_at
from ({_LATEST_UNIT_SCORECARD_SQL})
group by criterion
"""

# The last national figure of each month.
_MONTHLY_SQL = """
select strftime(date_trunc('month', measured_at), '%Y-%m') as month, criterion,
    max_by(pass_rate, measured_at) as pass_rate, max_by(units, measured_at) as units
from quality.national_scorecard
group by all
order by month, criterion
"""


_CHANGE_TIMELINESS_SQL = """
select unit_code, changed_records, published_on_time, published_late, overdue, within_deadline, on_time_share
from quality.unit_change_timeliness
order by unit_code
"""


def change_timeliness(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Per unit: its current extract's changed records by timeliness (dbt view unit_change_timeliness)."""
    cursor = con.execute(_CHANGE_TIMELINESS_SQL)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def change_deadline_target(national_definition: dict) -> float:
    """The national suite's lower bound on the share of changes published within the deadline."""
    return next(float(e["kwargs"]["min_value"]) for e in national_definition["expectations"]
                if e["kwargs"].get("column") == "changes_on_time_share")


def units_missing_change_deadline(rows: list[dict], target: float) -> list[str]:
    return [row["unit_code"] for row in rows if row["on_time_share"] is not None and row["on_time_share"] < target]


def roll_up_national(con: duckdb.DuckDBPyConnection, load_id: str, measured_at: datetime) -> dict[str, float]:
    """Write this run's national row per criterion and return the pass rates."""
    con.execute("DELETE FROM quality.national_scorecard WHERE load_id = ?", [load_id])
    con.sql(_NATIONAL_ROLLUP_SQL, params={"load_id": load_id, "measured_at": measured_at})
    rows = con.execute(
        "select criterion, pass_rate from quality.national_scorecard where load_id = ?", [load_id]
    ).fetchall()
    return {criterion: float(rate) for criterion, rate in rows}


def run_pass_rates(con: duckdb.DuckDBPyConnection, load_id: str) -> dict[str, float]:
    """Criterion → pass rate over the units of one gate run, weighted by records."""
    rows = con.sql(_RUN_RATES_SQL, params={"load_id": load_id}).fetchall()
    return {criterion: round(float(rate), 4) for criterion, rate in rows}


def latest_unit_scorecard(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, float]]:
    """Unit code → criterion → latest pass rate."""
    table: dict[str, dict[str, float]] = {}
    for unit_code, criterion, rate, _records, _date in con.sql(_LATEST_UNIT_SCORECARD_SQL).fetchall():
        table.setdefault(unit_code, {})[criterion] = float(rate)
    return table


def monthly_markdown(con: duckdb.DuckDBPyConnection) -> str:
    """The national pass rates month by month, as a Markdown table (Vietnamese headers)."""
    months: dict[str, dict[str, float]] = {}
    units: dict[str, int] = {}
    for month, criterion, rate, unit_count in con.sql(_MONTHLY_SQL).fetchall():
        months.setdefault(month, {})[criterion] = float(rate)
        units[month] = int(unit_count)
    header = "| Tháng | " + " | ".join(CRITERIA_LABELS_VI[c] for c in CRITERIA) + " | Đơn vị |"
    lines = [header, "|---" * (len(CRITERIA) + 2) + "|"]
    for month, rates in months.items():
        cells = " | ".join(f"{rates[c]:.2%}" if c in rates else "–" for c in CRITERIA)
        lines.append(f"| {month} | {cells} | {units[month]} |")
    return "\n".join(lines)


def latest_national(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Criterion → the latest national pass rate (empty before the first roll-up)."""
    rows = con.execute(
        "select criterion, max_by(pass_rate, measured_at) from quality.national_scorecard group by 1"
    ).fetchall()
    return {criterion: round(float(rate), 4) for criterion, rate in rows}


def latest_national_checkpoint(con: duckdb.DuckDBPyConnection) -> dict:
    """Whether the latest national checkpoint passed, and which of its expectations failed."""
    rows = con.execute("""
        select expectation, column_name, success, observed from quality.gate_results
        where unit_code = 'national'
          and evaluated_at = (select max(evaluated_at) from quality.gate_results where unit_code = 'national')
    """).fetchall()
    if not rows:
        return {"evaluated": False}
    failed = [f"{expectation}({column or 'table'}): {observed}" for expectation, column, ok, observed in rows if not ok]
    return {"evaluated": True, "passed": not failed, "failed": failed}
