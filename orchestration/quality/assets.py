"""Quality assets: per-unit GX gates (with blocking asset checks) and the criteria scorecard."""


from collections import defaultdict
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.asset_defaults import unit_asset, warehouse_asset
from orchestration.quality.gates import (
    CRITERIA,
    INTEGRITY_SUITE,
    ExpectationOutcome,
    GateRunner,
    as_of_date,
    hold_reasons,
    integrity_batch,
    integrity_gates,
    load_suite_definitions,
    national_batch,
    previous_accepted_rows,
    row_count_parameters,
    unit_batch,
)
from orchestration.quality.scorecard import (
    change_deadline_target,
    change_timeliness,
    latest_unit_scorecard,
    monthly_markdown,
    roll_up_national,
    run_pass_rates,
    units_missing_change_deadline,
)
from orchestration.resources import PipelineSettings
from orchestration.unit_errors import STEP_SENTENCES_VI, UnitErrors
from orchestration.warehouse import ensure_warehouse, transaction

GATES_KEY = dg.AssetKey(["quality", "gate_results"])
# The gate that holds a unit whose validation stopped with an error (reason code held.validation_error).
VALIDATION_ERROR_GATE = "validation_error"
INTEGRITY = load_suite_definitions(names=(INTEGRITY_SUITE,))[INTEGRITY_SUITE]

# The run's units' rates (dbt view quality.unit_criterion_rates), with whether each criterion's suite passed.
_SCORECARD_SQL = """
insert into quality.scorecard by name
select
    rates.* exclude (flagged_records),
    $load_id as load_id,
    $measured_at as measured_at,
    not exists (
        select 1 from quality.gate_results g
        where g.unit_code = rates.unit_code and g.criterion = rates.criterion and g.load_id = $load_id
            and not g.success
    ) as meets_target
from quality.unit_criterion_rates rates
where rates.unit_code in (select unnest($units))
"""


def _gate_check_specs() -> list[dg.AssetCheckSpec]:
    whys = {e["meta"]["gate"]: e["meta"]["why"] for e in INTEGRITY["expectations"]}
    integrity = [
        dg.AssetCheckSpec(
            name=f"gate_{gate}", asset=GATES_KEY,
            description=f"Holds a unit whose extract as a whole cannot be trusted: {whys[gate]}",
        )
        for gate in integrity_gates(INTEGRITY)
    ]
    input_quality = [
        dg.AssetCheckSpec(
            name=f"input_{criterion}", asset=GATES_KEY, blocking=False,
            description=f"Input quality, criterion '{criterion}' (GX suite expectations/suites/{criterion}.json): "
                        "which units sent records below the target. Informs the scorecard; never blocks.",
        )
        for criterion in CRITERIA
    ]
    return integrity + input_quality


def gate_runner(settings: PipelineSettings) -> GateRunner:
    """The GX context lives in the data directory; its Data Docs beside the other reports."""
    return GateRunner(project_dir=settings.data_path / "gx", docs_dir=settings.reports_path / "gx_data_docs")


def data_docs_metadata(settings: PipelineSettings, index: Path | None) -> dict[str, dg.MetadataValue]:
    return {} if index is None else {"gx_data_docs": settings.report_link(index)}


def store_outcomes(
    con: duckdb.DuckDBPyConnection, run_id: str, outcomes: list[ExpectationOutcome], evaluated_at: datetime,
    extract_loads: dict[str, str] | None = None, reasons: dict[str, dict[str, str]] | None = None,
) -> None:
    """Store the outcomes with the extract load each unit's were evaluated on (its publication checks it),
    and on a failed gate the sentence the unit reads (publication holds the unit with it)."""
    def reason(o: ExpectationOutcome) -> str | None:
        return None if o.success or not o.gate else (reasons or {}).get(o.unit_code, {}).get(o.gate)

    con.executemany(
        "INSERT INTO quality.gate_results (load_id, unit_code, criterion, expectation, column_name, blocking, "
        "success, observed, evaluated_at, gate, extract_load_id, reason_vi) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[run_id, o.unit_code, o.criterion, o.expectation, o.column, o.blocking, o.success, o.observed,
          evaluated_at, o.gate, (extract_loads or {}).get(o.unit_code), reason(o)] for o in outcomes],
    )


def current_extract_loads(con: duckdb.DuckDBPyConnection, units: list[str]) -> dict[str, str]:
    """Unit -> the load id of the conformed records the gates are about to evaluate."""
    return dict(con.execute(
        "select unit_code, any_value(load_id) from marts.fct_civil_servant_records "
        "where unit_code in (select unnest(?)) group by 1", [units]).fetchall())


def validation_error(unit_code: str) -> ExpectationOutcome:
    """A unit whose validation could not complete is held: nothing unvalidated is published."""
    return ExpectationOutcome(unit_code, "integrity", "validation_completed", None, True, False,
                              "the validation stopped with an error", gate=VALIDATION_ERROR_GATE)


def failed_units_by_gate(outcomes: list[ExpectationOutcome]) -> dict[str, list[str]]:
    """Integrity gate -> the units it holds."""
    failed: dict[str, set[str]] = defaultdict(set)
    for outcome in outcomes:
        if outcome.gate and outcome.blocking and not outcome.success:
            failed[outcome.gate].add(outcome.unit_code)
    return {gate: sorted(failed.get(gate, ())) for gate in integrity_gates(INTEGRITY)}


def units_below_target(outcomes: list[ExpectationOutcome]) -> dict[str, list[str]]:
    """Criterion -> the units whose input quality missed the criterion suite's target."""
    below: dict[str, set[str]] = defaultdict(set)
    for outcome in outcomes:
        if outcome.criterion in CRITERIA and not outcome.success:
            below[outcome.criterion].add(outcome.unit_code)
    return {criterion: sorted(below.get(criterion, ())) for criterion in CRITERIA}


def gate_check_result(
    gate: str, held: list[str], units_in_run: int, reasons: dict[str, dict[str, str]] | None = None
) -> dg.AssetCheckResult:
    """One check per integrity gate, failing with ERROR and naming the units it holds and why.

    The check does not block: publication is decided in publish/, which holds exactly these units (a
    blocking check would skip the step that writes the hold and the unit's workbook).
    """
    lines = [f"- **{unit}**: {(reasons or {}).get(unit, {}).get(gate, '')}" for unit in held]
    return dg.AssetCheckResult(
        check_name=f"gate_{gate}",
        asset_key=GATES_KEY,
        passed=not held,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "units_checked": units_in_run,
            "units_held": len(held),
            "held": dg.MetadataValue.md("\n".join(lines) or "none"),
        },
    )


def input_check_result(criterion: str, below: list[str], units_in_run: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=f"input_{criterion}",
        asset_key=GATES_KEY,
        passed=not below,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"units_checked": units_in_run, "units_below_target": len(below),
                  "below_target": ", ".join(below) or "none"},
    )


def _validate_unit(
    con: duckdb.DuckDBPyConnection, runner: GateRunner, unit_code: str, run_id: str
) -> tuple[list[ExpectationOutcome], dict[str, str]]:
    """The unit's input-quality suites and integrity gates; and the reason for each gate it fails."""
    outcomes = runner.run(unit_code, unit_batch(con, unit_code), run_id)
    measures = integrity_batch(con, unit_code)
    if measures.empty:  # no current extract: nothing to hold
        return outcomes, {}
    previous = previous_accepted_rows(con, unit_code)
    parameters = row_count_parameters(previous, runner.row_count_band)
    integrity = runner.run_integrity(unit_code, measures, parameters, run_id)
    reasons = hold_reasons(runner.integrity_definition, integrity, measures.iloc[0].to_dict(), previous)
    return outcomes + integrity, reasons


@unit_asset(
    key=GATES_KEY,
    group_name="quality",
    deps=[["quality", "record_flags"], ["quality", "extract_integrity"], ["quality", "unit_criterion_rates"],
          ["link", "record_links"]],
    check_specs=_gate_check_specs(),
    kinds={"great_expectations", "duckdb"},
    description=(
        "Per unit, two different things. Input quality: the four criteria as Great Expectations suites "
        "(expectations/suites) on the unit's records, scored in quality.scorecard; it informs and never "
        "blocks. Integrity: the blocking gates of expectations/suites/integrity.json on the extract as a whole "
        "(quality.extract_integrity): a failed gate names the units and why, and publication "
        "(published/civil_servants) holds them: their new rows go to quarantine.rows with the reason and their "
        "published snapshot stays."
    ),
)
def gate_results(context: dg.AssetExecutionContext, settings: PipelineSettings):
    units = list(context.partition_keys)
    runner = gate_runner(settings)
    outcomes: list[ExpectationOutcome] = []
    reasons: dict[str, dict[str, str]] = {}
    errors = UnitErrors("quality", context.run.run_id, context.log)
    with settings.connect() as con:
        ensure_warehouse(con)
        extract_loads = current_extract_loads(con, units)
        for unit_code in units:
            validated = errors.attempt(
                unit_code, lambda unit=unit_code: _validate_unit(con, runner, unit, context.run.run_id))
            unit_outcomes, reasons[unit_code] = validated or (
                [validation_error(unit_code)], {VALIDATION_ERROR_GATE: STEP_SENTENCES_VI["quality"]})
            outcomes.extend(unit_outcomes)
        now = datetime.now()
        with transaction(con):
            con.execute("DELETE FROM quality.gate_results WHERE unit_code IN (SELECT unnest(?))", [units])
            store_outcomes(con, context.run.run_id, outcomes, now, extract_loads, reasons)
            con.execute("DELETE FROM quality.scorecard WHERE load_id = ?", [context.run.run_id])
            con.sql(_SCORECARD_SQL, params={"load_id": context.run.run_id, "measured_at": now, "units": units})
        national = run_pass_rates(con, context.run.run_id)
        held = failed_units_by_gate(outcomes)
        for unit_code in units:
            if unit_code in {u for gate_units in held.values() for u in gate_units} | set(errors.failed):
                context.log.warning(f"{unit_code}: fails integrity gate(s); publication holds it")
        errors.record(con, units)
    docs_index = runner.build_data_docs()
    held_units = {u for units_held in held.values() for u in units_held} | set(errors.failed)
    yield dg.MaterializeResult(
        metadata={
            **data_docs_metadata(settings, docs_index),
            "units": len(units),
            "units_held": len(held_units),
            **errors.metadata(),
            **{f"pass_rate_{criterion}": dg.FloatMetadataValue(float(national.get(criterion, 0.0)))
               for criterion in CRITERIA},
        }
    )
    for gate in integrity_gates(INTEGRITY):
        yield gate_check_result(gate, held[gate], len(units), reasons)
    for criterion, below in units_below_target(outcomes).items():
        yield input_check_result(criterion, below, len(units))


SCORECARD_KEY = dg.AssetKey(["quality", "scorecard"])


@warehouse_asset(
    key=SCORECARD_KEY,
    group_name="quality",
    deps=[GATES_KEY],
    check_specs=[dg.AssetCheckSpec(
        name="national_checkpoint",
        asset=SCORECARD_KEY,
        description="GX suite 'national': all 62 units have a current extract no older than a month, link at "
                    "least 90 % of their records, and none is held by an integrity gate. It warns; units publish "
                    "on their own gates.",
    )],
    kinds={"great_expectations", "duckdb"},
    description=(
        "Bảng điểm (scorecard): the pass rate of each criterion (Đúng, Đủ, Sạch, Sống) per unit and nationally, "
        "over every unit's latest gate run, kept over time in quality.scorecard and quality.national_scorecard "
        "(the metadata plots the national rates run after run). Runs the national GX checkpoint."
    ),
)
def scorecard(context: dg.AssetExecutionContext, settings: PipelineSettings):
    runner = gate_runner(settings)
    now = datetime.now()
    with settings.connect() as con:
        ensure_warehouse(con)
        outcomes = runner.run_national(national_batch(con, as_of_date()), context.run.run_id)
        with transaction(con):
            con.execute("DELETE FROM quality.gate_results WHERE unit_code = 'national' AND load_id = ?",
                        [context.run.run_id])
            store_outcomes(con, context.run.run_id, outcomes, now)
            national = roll_up_national(con, context.run.run_id, now)
        units = latest_unit_scorecard(con)
        monthly = monthly_markdown(con)
        timeliness = change_timeliness(con)
    late = units_missing_change_deadline(timeliness, change_deadline_target(runner.national_definition))
    docs_index = runner.build_data_docs()
    yield dg.MaterializeResult(metadata={
        **{f"pass_rate_{criterion}": dg.FloatMetadataValue(round(national.get(criterion, 0.0), 4))
           for criterion in CRITERIA},
        "units_scored": len(units),
        "by_month": dg.MetadataValue.md(monthly),
        "by_unit": unit_scorecard_table(units),
        "change_deadline_by_unit": change_timeliness_table(timeliness),
        "units_missing_change_deadline": dg.MetadataValue.json(late),
        **data_docs_metadata(settings, docs_index),
    })
    failed = [o for o in outcomes if not o.success]
    yield dg.AssetCheckResult(
        check_name="national_checkpoint",
        passed=not failed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "expectations": len(outcomes),
            "failed": "; ".join(f"{o.expectation}({o.column or 'table'}): {o.observed}" for o in failed) or "none",
            "units_missing_change_deadline": ", ".join(late) or "none",
        },
    )


def change_timeliness_table(rows: list[dict]) -> dg.TableMetadataValue:
    """Per unit: changed records of its current extract and the share published within 3 working days."""
    columns = [dg.TableColumn("unit_code", "string"), dg.TableColumn("changed_records", "int"),
               dg.TableColumn("published_on_time", "int"), dg.TableColumn("published_late", "int"),
               dg.TableColumn("overdue", "int"), dg.TableColumn("within_deadline", "int"),
               dg.TableColumn("on_time_share", "float")]
    records = [dg.TableRecord({**row, "on_time_share": None if row["on_time_share"] is None
                               else round(float(row["on_time_share"]), 4)}) for row in rows]
    return dg.MetadataValue.table(records=records, schema=dg.TableSchema(columns=columns))


def unit_scorecard_table(units: dict[str, dict[str, float]]) -> dg.TableMetadataValue:
    columns = [dg.TableColumn("unit_code", "string")] + [dg.TableColumn(c, "float") for c in CRITERIA]
    records = [
        dg.TableRecord({"unit_code": unit_code, **{c: round(rates.get(c, 0.0), 4) for c in CRITERIA}})
        for unit_code, rates in sorted(units.items())
    ]
    return dg.MetadataValue.table(records=records, schema=dg.TableSchema(columns=columns))
