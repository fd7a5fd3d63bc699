"""The linkage quality asset: each run's linkage figures per unit and national, kept over time."""

import dagster as dg

from orchestration.asset_defaults import unit_asset
from orchestration.quality.linkage_report import linkage_quality_rows, store_linkage_quality
from orchestration.resources import PipelineSettings
from orchestration.warehouse import ensure_warehouse, transaction

_NATIONAL_FIGURES = ("link_rate", "review_share", "precision", "recall", "recall_after_review",
                     "outsiders_linked_share")


@unit_asset(
    key=["link", "linkage_quality"],
    group_name="quality",
    deps=[["quality", "linkage_metrics"]],
    kinds={"duckdb"},
    description=(
        "Linkage quality per unit and nationally, as the dbt view quality.linkage_metrics computes it (link "
        "rate, review share, match statuses; precision and recall on the records with an evaluation label), "
        "kept run after run in link.linkage_quality."
    ),
)
def linkage_quality(context: dg.AssetExecutionContext, settings: PipelineSettings) -> dg.MaterializeResult:
    with settings.connect() as con:
        ensure_warehouse(con)
        with transaction(con):
            con.execute("delete from link.linkage_quality where load_id = ?", [context.run.run_id])
            store_linkage_quality(con, context.run.run_id)
        rows = linkage_quality_rows(con)
    national = rows[-1] if rows else {}
    metadata = {key: dg.FloatMetadataValue(float(national[key]))
                for key in _NATIONAL_FIGURES if national.get(key) is not None}
    return dg.MaterializeResult(metadata={
        "units": len(rows) - 1, "labelled_records": national.get("labelled_records", 0), **metadata})
