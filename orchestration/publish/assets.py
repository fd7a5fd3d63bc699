"""Publish asset: each unit's accepted snapshot, or its rows held in quarantine."""


import dagster as dg
import duckdb

from orchestration.asset_defaults import unit_asset
from orchestration.publish.exports import write_exports
from orchestration.publish.feedback import write_unit_feedback
from orchestration.publish.publication import (
    PublicationOutcome,
    failed_blocking_gates,
    hold_reasons,
    hold_unit,
    not_decidable_by,
    publish_unit,
)
from orchestration.resources import PipelineSettings
from orchestration.unit_errors import UnitErrors
from orchestration.warehouse import ensure_warehouse


@unit_asset(
    key=["published", "civil_servants"],
    group_name="publish",
    deps=[["quality", "gate_results"], ["publication", "candidates"]],
    kinds={"duckdb"},
    description=(
        "The shared national table: per unit, accepted records (registry identity, unit employment, person "
        "token instead of the ID) replace the unit's previous snapshot in one transaction. Rejected rows go to "
        "quarantine.rows with a reason. Publication is decided here: a unit that fails an integrity gate keeps its "
        "previous snapshot, its new rows are quarantined as held with the reason, its workbook says why, and in "
        "its own run its partition fails."
    ),
)
def civil_servants(
    context: dg.AssetExecutionContext, settings: PipelineSettings
) -> dg.MaterializeResult:
    outcomes, undecided = [], []
    run_id = context.run.run_id
    errors = UnitErrors("publish", run_id, context.log)
    with settings.connect() as con:
        ensure_warehouse(con)
        for unit_code in context.partition_keys:
            if (why := not_decidable_by(con, unit_code, run_id)) is not None:
                context.log.warning(f"{unit_code}: not decided by this run: {why}")
                undecided.append(unit_code)
                continue
            outcome = errors.attempt(unit_code, lambda unit=unit_code: _decide(
                con, settings, unit, settings.token_key, run_id))
            if outcome is not None:
                outcomes.append(outcome)
        errors.record(con, list(context.partition_keys))
    held = [o for o in outcomes if o.outcome == "held"]
    for outcome in held:
        context.log.warning(f"{outcome.unit_code}: held by gate(s) {', '.join(outcome.failed_gates)}")
    metadata = {
        **errors.metadata(),
        "units_not_decided_here": undecided,
        "units_published": sum(1 for o in outcomes if o.outcome == "published"),
        "units_held": [o.unit_code for o in held],
        "rows_read": sum(o.rows_read for o in outcomes),
        "rows_published": sum(o.rows_published for o in outcomes),
        "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
    }
    if len(context.partition_keys) == 1 and held:
        # The unit's own run: its partition fails, with the reason the unit reads.
        raise dg.Failure(description=f"{held[0].unit_code}: held, not published. {held[0].held_reason}",
                         metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)


def _decide(
    con: duckdb.DuckDBPyConnection, settings: PipelineSettings, unit_code: str, token_key: str, run_id: str
) -> PublicationOutcome:
    """Publish the unit, or hold it when an integrity gate failed: its workbook then says why at once."""
    gates = failed_blocking_gates(con, unit_code)
    if not gates:
        return publish_unit(con, unit_code, token_key, run_id=run_id)
    outcome = hold_unit(con, unit_code, gates, hold_reasons(con, unit_code), run_id=run_id)
    write_unit_feedback(con, settings.reports_path, unit_code)
    return outcome


@unit_asset(
    key=["publish", "feedback_workbooks"],
    group_name="publish",
    deps=[["published", "civil_servants"], ["quality", "unit_ranking"], ["quality", "extract_columns"]],
    kinds={"excel"},
    description=(
        "One XLSX workbook per unit, entirely in Vietnamese, sent back to the unit: what happened to its extract "
        "(and why it was held), its scorecard, one row per problem to fix with what happens to the record, the "
        "extract column by column, and its place in the monthly ranking. Written to "
        "reports/feedback/{unit}/{extract date}_phan_hoi.xlsx."
    ),
)
def feedback_workbooks(context: dg.AssetExecutionContext, settings: PipelineSettings) -> dg.MaterializeResult:
    written, problems = [], 0
    errors = UnitErrors("feedback", context.run.run_id, context.log)
    with settings.connect() as con:
        for unit_code in context.partition_keys:
            workbook = errors.attempt(
                unit_code, lambda unit=unit_code: write_unit_feedback(con, settings.reports_path, unit))
            if workbook is not None:
                written.append(workbook[0])
                problems += workbook[1]
        errors.record(con, list(context.partition_keys))
    metadata = {**errors.metadata(), "workbooks": len(written), "problems_listed": problems,
                "workbook_links": workbook_links(settings, written)}
    if len(written) == 1:
        metadata["workbook"] = settings.report_link(written[0])
    return dg.MaterializeResult(metadata=metadata)


def workbook_links(settings: PipelineSettings, paths: list) -> dg.MetadataValue:
    """One Markdown link per unit's workbook (the unit code is the workbook's folder)."""
    lines = [f"- [{path.parent.name}]({settings.report_link(path).value})" for path in paths]
    return dg.MetadataValue.md("\n".join(lines) or "no workbook written")


@unit_asset(
    key=["publish", "exports"],
    group_name="publish",
    deps=[["published", "civil_servants"], ["quality", "scorecard"]],
    kinds={"parquet"},
    description=(
        "Exports for sharing: exports/units/<unit>.parquet and exports/national.parquet (person tokens, no raw "
        "ID), with exports/manifest.json (snapshot dates, row counts, SHA-256 checksums, the scorecard per unit "
        "and national, the national checkpoint's outcome). Every file written is recorded in the append-only "
        "published.audit_log."
    ),
)
def exports(context: dg.AssetExecutionContext, settings: PipelineSettings) -> dg.MaterializeResult:
    with settings.connect() as con:
        ensure_warehouse(con)
        manifest = write_exports(con, list(context.partition_keys), settings.data_path / "exports",
                                 context.run.run_id)
    return dg.MaterializeResult(metadata={
        "national_rows": manifest["national"]["rows"],
        "national_sha256": manifest["national"]["sha256"],
        "units_exported": len(manifest["units"]),
        "manifest": dg.MetadataValue.path(str(settings.data_path / "exports" / "manifest.json")),
    })
