"""Quality assets: per-unit GX gates (with blocking asset checks) and the criteria scorecard."""


from collections import defaultdict
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.asset_defaults import unit_asset, warehouse_asset
from orchestration.publish.publication import hold_unit
from orchestration.quality.gates import (
    CRITERIA,
    ExpectationOutcome,
    GateRunner,
    as_of_date,
    national_batch,
    row_count_parameters,
    unit_batch,
)
from orchestration.quality.scorecard import (
    latest_unit_scorecard,
    monthly_markdown,
    roll_up_national,
    run_pass_rates,
)
from orchestration.resources import WarehouseResource
from orchestration.warehouse import ensure_warehouse

GATES_KEY = dg.AssetKey(["quality", "gate_results"])

# Pass rate of a criterion: the share of a unit's records with no blocking flag of that criterion.
_SCORECARD_SQL = """
insert into quality.scorecard by name
select
    any_value(r.extract_date) as snapshot_date,
    r.unit_code,
    c.criterion,
    1 - count(distinct case when f.source_row is not null then r.source_row end) / count(distinct r.source_row)
        as pass_rate,
    count(distinct r.source_row) as records,
    $load_id as load_id,
    $measured_at as measured_at
from marts.fct_civil_servant_records r
cross join (select unnest(['correct', 'sufficient', 'clean', 'living']) as criterion) c
left join quality.record_flags f
    on f.source_file = r.source_file and f.source_row = r.source_row
    and f.criterion = c.criterion and f.severity = 'blocking'
where r.unit_code in (select unnest($units))
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


def gate_runner(warehouse: WarehouseResource) -> GateRunner:
    """The GX context lives in the data directory; its Data Docs beside the other reports."""
    return GateRunner(project_dir=warehouse.data_path / "gx", docs_dir=warehouse.reports_path / "gx_data_docs")


def data_docs_metadata(warehouse: WarehouseResource, index: Path | None) -> dict[str, dg.MetadataValue]:
    return {} if index is None else {"gx_data_docs": warehouse.report_link(index)}


def store_outcomes(
    con: duckdb.DuckDBPyConnection, run_id: str, outcomes: list[ExpectationOutcome], evaluated_at: datetime
) -> None:
    con.executemany(
        "INSERT INTO quality.gate_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[run_id, o.unit_code, o.criterion, o.expectation, o.column, o.blocking, o.success, o.observed,
          evaluated_at] for o in outcomes],
    )


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
    runner = gate_runner(warehouse)
    as_of = as_of_date()
    outcomes: list[ExpectationOutcome] = []
    with warehouse.connect() as con:
        ensure_warehouse(con)
        for unit_code in units:
            parameters = row_count_parameters(con, unit_code, runner.row_count_band)
            outcomes.extend(runner.run(unit_code, unit_batch(con, unit_code, as_of), parameters, context.run.run_id))
        now = datetime.now()
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM quality.gate_results WHERE unit_code IN (SELECT unnest(?))", [units])
        store_outcomes(con, context.run.run_id, outcomes, now)
        con.execute("DELETE FROM quality.scorecard WHERE load_id = ?", [context.run.run_id])
        con.sql(_SCORECARD_SQL, params={"load_id": context.run.run_id, "measured_at": now, "units": units})
        con.execute("COMMIT")
        national = run_pass_rates(con, context.run.run_id)
        failed = failed_units_by_criterion(outcomes)
        # Held here, not in publish: a failed blocking check stops the publish step altogether.
        for unit_code in units:
            unit_failures = tuple(c for c in CRITERIA if unit_code in failed[c])
            if unit_failures:
                hold_unit(con, unit_code, unit_failures, run_id=context.run.run_id)
                context.log.warning(f"{unit_code}: held, failed gates: {', '.join(unit_failures)}")
    docs_index = runner.build_data_docs()
    yield dg.MaterializeResult(
        metadata={
            **data_docs_metadata(warehouse, docs_index),
            "units": len(units),
            "units_passing_all_gates": len(set(units) - {u for f in failed.values() for u in f}),
            **{f"pass_rate_{criterion}": dg.FloatMetadataValue(float(national.get(criterion, 0.0)))
               for criterion in CRITERIA},
        }
    )
    for criterion in CRITERIA:
        yield gate_check_result(criterion, failed[criterion], len(units))


SCORECARD_KEY = dg.AssetKey(["quality", "scorecard"])


@warehouse_asset(
    key=SCORECARD_KEY,
    group_name="quality",
    deps=[GATES_KEY],
    check_specs=[dg.AssetCheckSpec(
        name="national_checkpoint",
        asset=SCORECARD_KEY,
        description="GX suite 'national': all 62 units have a current extract no older than a month, link at "
                    "least 90 % of their records, and passed their gates. It warns; units publish on their own gates.",
    )],
    kinds={"great_expectations", "duckdb"},
    description=(
        "Bảng điểm (scorecard): the pass rate of each criterion (Đúng, Đủ, Sạch, Sống) per unit and nationally, "
        "over every unit's latest gate run, kept over time in quality.scorecard and quality.national_scorecard "
        "(the metadata plots the national rates run after run). Runs the national GX checkpoint."
    ),
)
def scorecard(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    runner = gate_runner(warehouse)
    now = datetime.now()
    with warehouse.connect() as con:
        ensure_warehouse(con)
        outcomes = runner.run_national(national_batch(con, as_of_date()), context.run.run_id)
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM quality.gate_results WHERE unit_code = 'national' AND load_id = ?",
                    [context.run.run_id])
        store_outcomes(con, context.run.run_id, outcomes, now)
        national = roll_up_national(con, context.run.run_id, now)
        con.execute("COMMIT")
        units = latest_unit_scorecard(con)
        monthly = monthly_markdown(con)
    docs_index = runner.build_data_docs()
    yield dg.MaterializeResult(metadata={
        **{f"pass_rate_{criterion}": dg.FloatMetadataValue(round(national.get(criterion, 0.0), 4))
           for criterion in CRITERIA},
        "units_scored": len(units),
        "by_month": dg.MetadataValue.md(monthly),
        "by_unit": unit_scorecard_table(units),
        **data_docs_metadata(warehouse, docs_index),
    })
    failed = [o for o in outcomes if not o.success]
    yield dg.AssetCheckResult(
        check_name="national_checkpoint",
        passed=not failed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "expectations": len(outcomes),
            "failed": "; ".join(f"{o.expectation}({o.column or 'table'}): {o.observed}" for o in failed) or "none",
        },
    )


def unit_scorecard_table(units: dict[str, dict[str, float]]) -> dg.TableMetadataValue:
    columns = [dg.TableColumn("unit_code", "string")] + [dg.TableColumn(c, "float") for c in CRITERIA]
    records = [
        dg.TableRecord({"unit_code": unit_code, **{c: round(rates.get(c, 0.0), 4) for c in CRITERIA}})
        for unit_code, rates in sorted(units.items())
    ]
    return dg.MetadataValue.table(records=records, schema=dg.TableSchema(columns=columns))
