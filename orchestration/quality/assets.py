"""Quality assets: per-unit GX gates (with blocking asset checks) and the criteria scorecard."""


from collections import defaultdict
from datetime import datetime

import dagster as dg

from orchestration.asset_defaults import unit_asset
from orchestration.publish.publication import hold_unit
from orchestration.quality.gates import CRITERIA, ExpectationOutcome, GateRunner, as_of_date, unit_batch
from orchestration.resources import WarehouseResource
from orchestration.warehouse import ensure_warehouse

GATES_KEY = dg.AssetKey(["quality", "gate_results"])

# Pass rate of a criterion: the share of a unit's records with no blocking flag of that criterion.
_SCORECARD_SQL = """
insert into quality.scorecard
select
    any_value(r.extract_date) as snapshot_date,
    r.unit_code,
    c.criterion,
    1 - count(distinct case when f.source_row is not null then r.source_row end) / count(distinct r.source_row),
    count(distinct r.source_row),
    ?
from marts.fct_civil_servant_records r
cross join (select unnest(['correct', 'sufficient', 'clean', 'living']) as criterion) c
left join quality.record_flags f
    on f.source_file = r.source_file and f.source_row = r.source_row
    and f.criterion = c.criterion and f.severity = 'blocking'
where r.unit_code in (select unnest(?))
group by r.unit_code, c.criterion
"""


def _gate_check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name=f"gate_{criterion}",
            asset=GATES_KEY,
            blocking=True,
            description=f"Great Expectations suite '{criterion}' passes for every unit of the run.",
        )
        for criterion in CRITERIA
    ]


def failed_units_by_criterion(outcomes: list[ExpectationOutcome]) -> dict[str, list[str]]:
    failed: dict[str, set[str]] = defaultdict(set)
    for outcome in outcomes:
        if outcome.blocking and not outcome.success:
            failed[outcome.criterion].add(outcome.unit_code)
    return {criterion: sorted(failed.get(criterion, ())) for criterion in CRITERIA}


def gate_check_result(criterion: str, failed_units: list[str], units_in_run: int) -> dg.AssetCheckResult:
    """One check per criterion. In a one-unit run a failure is an ERROR: Dagster skips publication.

    In a run over several units, failing with ERROR would skip publication for every unit, so the
    check reports the failed units as a WARN and the publish asset holds exactly those units.
    """
    severity = dg.AssetCheckSeverity.ERROR if units_in_run == 1 else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        check_name=f"gate_{criterion}",
        asset_key=GATES_KEY,
        passed=not failed_units,
        severity=severity,
        metadata={
            "units_checked": units_in_run,
            "units_failed": len(failed_units),
            "failed_units": ", ".join(failed_units) or "none",
        },
    )


@unit_asset(
    key=GATES_KEY,
    group_name="quality",
    deps=[["quality", "record_flags"], ["link", "record_links"]],
    check_specs=_gate_check_specs(),
    kinds={"great_expectations", "duckdb"},
    description=(
        "The four criteria as Great Expectations suites (expectations/suites), run as one checkpoint per unit; "
        "each expectation's outcome per unit, and the scorecard of pass rates per criterion. A unit failing a "
        "blocking gate is held here: its new rows go to quarantine.rows and its published snapshot stays."
    ),
)
def gate_results(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    units = list(context.partition_keys)
    runner = GateRunner()
    as_of = as_of_date()
    outcomes: list[ExpectationOutcome] = []
    with warehouse.connect() as con:
        ensure_warehouse(con)
        for unit_code in units:
            outcomes.extend(runner.run(unit_code, unit_batch(con, unit_code, as_of)))
        now = datetime.now()
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM quality.gate_results WHERE unit_code IN (SELECT unnest(?))", [units])
        con.executemany(
            "INSERT INTO quality.gate_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[context.run.run_id, o.unit_code, o.criterion, o.expectation, o.column, o.blocking, o.success,
              o.observed, now] for o in outcomes],
        )
        con.execute("DELETE FROM quality.scorecard WHERE load_id = ?", [context.run.run_id])
        con.execute(_SCORECARD_SQL, [context.run.run_id, units])
        con.execute("COMMIT")
        national = dict(con.execute(
            "select criterion, round(sum(pass_rate * records) / sum(records), 4) from quality.scorecard "
            "where load_id = ? group by criterion", [context.run.run_id],
        ).fetchall())
        failed = failed_units_by_criterion(outcomes)
        # Held here, not in publish: a failed blocking check stops the publish step altogether.
        for unit_code in units:
            unit_failures = tuple(c for c in CRITERIA if unit_code in failed[c])
            if unit_failures:
                hold_unit(con, unit_code, unit_failures)
                context.log.warning(f"{unit_code}: held, failed gates: {', '.join(unit_failures)}")
    yield dg.MaterializeResult(
        metadata={
            "units": len(units),
            "units_passing_all_gates": len(set(units) - {u for f in failed.values() for u in f}),
            **{f"pass_rate_{criterion}": dg.FloatMetadataValue(float(national.get(criterion, 0.0)))
               for criterion in CRITERIA},
        }
    )
    for criterion in CRITERIA:
        yield gate_check_result(criterion, failed[criterion], len(units))
