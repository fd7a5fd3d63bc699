"""Report asset: the audit trail of one published record, written to reports/audit/<token>.md (or .json)."""

import dagster as dg
from pydantic import Field

from orchestration.asset_defaults import warehouse_asset
from orchestration.audit.trail import build_trail, is_token, to_json, to_markdown
from orchestration.resources import PipelineSettings
from orchestration.warehouse import ensure_warehouse

_FORMATS = {"md": to_markdown, "json": to_json}


class TrailReportConfig(dg.Config):
    """Which record to trace. Only a token: run configuration is stored by Dagster, so it never takes an ID."""

    person_token: str = Field(description="The record's person token (64 hexadecimal characters).")
    as_of: str | None = Field(
        default=None, description="A load id or an ISO timestamp: the snapshot in effect then (default: now)."
    )
    output_format: str = Field(default="md", description="'md' (readable) or 'json'.")


@warehouse_asset(
    key=["audit", "trail_report"],
    group_name="audit",
    deps=[["published", "civil_servants"]],
    kinds={"duckdb"},
    description=(
        "The audit trail of the records published under one person token: publication snapshot, extract file "
        "(SHA-256 checked on disk), row and load run, dbt models, link decision with per-comparison match "
        "weights, record rules and unit gates, and versions in history. Past snapshots with `as_of`. Written "
        "to reports/audit/<token>.md or .json."
    ),
)
def trail_report(
    context: dg.AssetExecutionContext, config: TrailReportConfig, settings: PipelineSettings
) -> dg.MaterializeResult:
    if not is_token(config.person_token):
        raise dg.Failure("person_token must be 64 lower-case hexadecimal characters")
    if config.output_format not in _FORMATS:
        raise dg.Failure(f"output_format must be one of {', '.join(_FORMATS)}")
    with settings.connect() as con:
        ensure_warehouse(con)
        trail = build_trail(con, config.person_token, config.as_of, settings.data_path)
    path = settings.reports_path / "audit" / f"{config.person_token}.{config.output_format}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_FORMATS[config.output_format](trail), encoding="utf-8")
    context.log.info(f"Audit trail of {len(trail.records)} published record(s) written")
    # Counts and lineage only: the report itself holds the trail.
    return dg.MaterializeResult(metadata={
        "report": settings.report_link(path),
        "records": len(trail.records),
        "basis": trail.basis,
        "as_of": trail.as_of.isoformat(sep=" ") if trail.as_of else "now",
    })
