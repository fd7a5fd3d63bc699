"""The short summary printed after a run: rows per unit and criterion, and the link rate."""

from __future__ import annotations

from orchestration.resources import PipelineSettings
from orchestration.unit_errors import run_unit_errors

_PER_UNIT_SQL = """
with read as (
    select unit_code, count(*) as rows_read from raw.extracts where unit_code in (select unnest($units)) group by 1
),
published as (
    select p.unit_code, count(*) as rows_published
    from published.civil_servants p join raw.extracts r using (source_file, source_row)
    group by 1
),
quarantined as (
    select q.unit_code, count(*) as rows_quarantined
    from quarantine.rows q join raw.extracts r using (source_file, source_row)
    group by 1
),
links as (
    select unit_code, avg(case when decision = 'auto_link' then 1.0 else 0.0 end) as link_rate
    from link.record_links group by 1
),
decided as (
    select unit_code, arg_max(outcome, decided_at) as outcome from published.snapshots
    where run_id in (select unnest($runs)) group by 1
),
previous as (
    select unit_code, arg_max(outcome, decided_at) as outcome from published.snapshots group by 1
),
outcome as (
    -- Only this command's runs' decisions count; a unit they did not decide says so, and why when it was
    -- skipped for having nothing new.
    select unit_code, coalesce(decided.outcome,
        case when unit_code in (select unnest($skipped)) then 'nothing new' else 'not decided' end
        || coalesce(' (last: ' || previous.outcome || ')', '')) as outcome
    from previous full join decided using (unit_code)
)
select read.unit_code, rows_read, coalesce(rows_published, 0), coalesce(rows_quarantined, 0),
    coalesce(link_rate, 0), coalesce(outcome, 'not decided')
from read
left join published using (unit_code)
left join quarantined using (unit_code)
left join links using (unit_code)
left join outcome using (unit_code)
order by unit_code
"""

_PER_CRITERION_SQL = """
select f.criterion, count(distinct f.source_file || '#' || f.source_row) as records_flagged
from quality.record_flags f
where f.severity = 'blocking' and f.unit_code in (select unnest(?))
group by 1 order by 1
"""


def print_summary(units: list[str], run_ids: list[str], elapsed_seconds: float,
                  skipped: list[str] | None = None) -> list[tuple[str, str]]:
    """Print the summary of these runs; returns the (unit, step) errors they recorded."""
    with PipelineSettings.from_environment().connect(read_only=True) as con:
        per_unit = con.execute(_PER_UNIT_SQL, {"units": units, "runs": run_ids, "skipped": skipped or []}).fetchall()
        unit_errors = run_unit_errors(con, run_ids)
        per_criterion = con.execute(_PER_CRITERION_SQL, [units]).fetchall()
        rejected_files = con.execute(
            "select reason_code, count(*) from quarantine.files group by 1 order by 1"
        ).fetchall()
    print(f"\n{'unit':<34}{'read':>8}{'published':>11}{'quarantined':>13}{'link rate':>11}  outcome")
    for unit_code, read, published, quarantined, link_rate, outcome in per_unit:
        print(f"{unit_code:<34}{read:>8}{published:>11}{quarantined:>13}{link_rate:>10.1%}  {outcome}")
    totals = [sum(row[i] for row in per_unit) for i in (1, 2, 3)]
    linked = sum(row[1] * row[4] for row in per_unit)
    national_rate = linked / totals[0] if totals[0] else 0.0
    print(f"{'national':<34}{totals[0]:>8}{totals[1]:>11}{totals[2]:>13}{national_rate:>10.1%}")
    print("\nRecords with a blocking finding, per criterion: "
          + (", ".join(f"{c} {n}" for c, n in per_criterion) or "none"))
    print("Files rejected: " + (", ".join(f"{c} {n}" for c, n in rejected_files) or "none"))
    if unit_errors:
        print("Units a step could not handle: " + ", ".join(f"{unit} ({step})" for unit, step in unit_errors))
    print(f"\nDone in {elapsed_seconds:.0f} s. Open the UI with `make ui` (http://127.0.0.1:3000).")
    return unit_errors
