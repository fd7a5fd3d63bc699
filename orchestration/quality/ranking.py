"""The monthly ranking of units (dbt model fct_unit_ranking → quality.unit_ranking), read after the gate
step has written the run's scorecards, with the month's table and its movements as asset metadata.

The model is a view over quality.scorecard, so it is current whenever it is read: dbt (seconds to start)
runs only when the model's files changed, as the reference seeds do.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.asset_defaults import WAREHOUSE_POOL
from orchestration.conform.assets import DBT_BUILD, RANKING_SELECT, already_built, dbt_docs_page
from orchestration.conform.docs import project_fingerprint, with_docs_links
from orchestration.conform.project import dbt_project
from orchestration.conform.translator import CbccvcTranslator
from orchestration.quality.scorecard import CRITERIA_LABELS_VI
from orchestration.resources import PipelineSettings

RANKING_KEY = dg.AssetKey(["quality", "unit_ranking"])
RANKING_FINGERPRINT = "ranking_fingerprint"

_MONTH_SQL = """
select unit_code, criterion, pass_rate, unit_rank, units_ranked, rank_change
from quality.unit_ranking
where month = (select max(month) from quality.unit_ranking)
order by criterion, unit_rank nulls last, unit_code
"""


def ranking_metadata(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """This month's overall ranking as a table, and how many units moved up or down (plotted run after run)."""
    rows = con.sql(_MONTH_SQL).fetchall()
    if not rows:
        return {"units_ranked": 0}
    month = con.sql("select max(month) from quality.unit_ranking").fetchall()[0][0]
    overall = [row for row in rows if row[1] == "overall"]
    labels = {**CRITERIA_LABELS_VI, "overall": "Chung"}
    lines = [f"Tháng {month:%m/%Y}", "", "| Hạng | Đơn vị | Tỷ lệ đạt (chung) | Thay đổi |", "|---|---|---|---|"]
    for unit_code, _, rate, rank, _, change in overall:
        moved = "–" if change is None else f"{change:+d}"
        lines.append(f"| {rank or '–'} | {unit_code} | {'–' if rate is None else f'{rate:.2%}'} | {moved} |")
    leaders = {labels[c]: next((u for u, cc, _, r, _, _ in rows if cc == c and r == 1), "–") for c in labels}
    return {
        "month": month.isoformat(),
        "units_ranked": dg.IntMetadataValue(max((row[4] for row in overall), default=0)),
        "units_up": dg.IntMetadataValue(sum(1 for row in overall if (row[5] or 0) > 0)),
        "units_down": dg.IntMetadataValue(sum(1 for row in overall if (row[5] or 0) < 0)),
        "first_by_criterion": dg.MetadataValue.json(leaders),
        "ranking": dg.MetadataValue.md("\n".join(lines)),
    }


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=RANKING_SELECT,
    name="ranking_models",
    dagster_dbt_translator=CbccvcTranslator(),
    pool=WAREHOUSE_POOL,
)
def ranking_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: PipelineSettings
) -> Iterator[Any]:
    fingerprint = project_fingerprint(Path(dbt.project_dir), folders=("models/marts/ranking", "macros", "seeds"))
    rebuilt = not already_built(context, settings, fingerprint, RANKING_FINGERPRINT)
    events: list[Any] = list(dbt.cli(DBT_BUILD, context=context).stream()) if rebuilt else []
    with settings.connect() as con:
        metadata = {**ranking_metadata(con), "rebuilt": rebuilt, RANKING_FINGERPRINT: fingerprint}
    if not rebuilt:
        context.log.info("Ranking model unchanged since it was built: its view is read as it is")
        events = [dg.MaterializeResult(asset_key=key, metadata=metadata) for key in context.selected_asset_keys]
    # The selection is the one ranking model: its Output is the ranking's materialization.
    events = [event.with_metadata({**event.metadata, **metadata}) if isinstance(event, dg.Output) else event
              for event in events]
    yield from with_docs_links(events, dbt_docs_page(settings))
