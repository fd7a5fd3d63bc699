"""Publish asset: each unit's accepted snapshot, or its rows held in quarantine."""


import dagster as dg

from orchestration.asset_defaults import unit_asset
from orchestration.publish.exports import write_exports
from orchestration.publish.feedback import write_unit_feedback
from orchestration.publish.publication import failed_blocking_gates, not_decidable_by, publish_unit
from orchestration.resources import PublishSettings, WarehouseResource
from orchestration.unit_errors import UnitErrors
from orchestration.warehouse import ensure_warehouse


@unit_asset(
    key=["published", "civil_servants"],
    group_name="publish",
    deps=[["quality", "gate_results"], ["quality", "record_flags"]],
    kinds={"duckdb"},
    description=(
        "The shared national table: per unit, accepted records (registry identity, unit employment, person "
        "token instead of the ID) replace the unit's previous snapshot in one transaction. Rejected rows go to "
        "quarantine.rows with a reason; a unit whose blocking gate failed keeps its previous snapshot and its "
        "new rows are quarantined as held."
    ),
)
def civil_servants(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, publishing: PublishSettings
) -> dg.MaterializeResult:
    outcomes, undecided = [], []
    run_id = context.run.run_id
    errors = UnitErrors("publish", run_id, context.log)
    with warehouse.connect() as con:
        ensure_warehouse(con)
        held = [unit for unit in context.partition_keys if failed_blocking_gates(con, unit)]
        for unit_code in context.partition_keys:
            if unit_code in held:
                context.log.warning(f"{unit_code}: not published; its rows were held by the quality gates")
                continue
            if (why := not_decidable_by(con, unit_code, run_id)) is not None:
                context.log.warning(f"{unit_code}: not decided by this run: {why}")
                undecided.append(unit_code)
                continue
            outcome = errors.attempt(
                unit_code, lambda unit=unit_code: publish_unit(con, unit, publishing.token_key, run_id=run_id))
            if outcome is not None:
                outcomes.append(outcome)
        errors.record(con, list(context.partition_keys))
    return dg.MaterializeResult(
        metadata={
            **errors.metadata(),
            "units_not_decided_here": undecided,
            "units_published": sum(1 for o in outcomes if o.outcome == "published"),
            "units_held": held,
            "rows_read": sum(o.rows_read for o in outcomes),
            "rows_published": sum(o.rows_published for o in outcomes),
            "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
        }
    )


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
def feedback_workbooks(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    written, problems = [], 0
    errors = UnitErrors("feedback", context.run.run_id, context.log)
    with warehouse.connect() as con:
        for unit_code in context.partition_keys:
            workbook = errors.attempt(
                unit_code, lambda unit=unit_code: write_unit_feedback(con, warehouse.reports_path, unit))
            if workbook is not None:
                written.append(workbook[0])
                problems += workbook[1]
        errors.record(con, list(context.partition_keys))
    metadata = {**errors.metadata(), "workbooks": len(written), "problems_listed": problems,
                "workbook_links": workbook_links(warehouse, written)}
    if len(written) == 1:
        metadata["workbook"] = warehouse.report_link(written[0])
    return dg.MaterializeResult(metadata=metadata)


def workbook_links(warehouse: WarehouseResource, paths: list) -> dg.MetadataValue:
    """One Markdown link per unit's workbook (the unit code is the workbook's folder)."""
    lines = [f"- [{path.parent.name}]({warehouse.report_link(path).value})" for path in paths]
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
def exports(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        ensure_warehouse(con)
        manifest = write_exports(con, list(context.partition_keys), warehouse.data_path / "exports",
                                 context.run.run_id)
    return dg.MaterializeResult(metadata={
        "national_rows": manifest["national"]["rows"],
        "national_sha256": manifest["national"]["sha256"],
        "units_exported": len(manifest["units"]),
        "manifest": dg.MetadataValue.path(str(warehouse.data_path / "exports" / "manifest.json")),
    })
