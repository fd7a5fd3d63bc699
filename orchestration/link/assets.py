"""Link assets: each unit's records linked to the population registry."""


import dagster as dg

from orchestration.link.linkage import link_units
from orchestration.resources import LinkageSettings, WarehouseResource
from orchestration.units import unit_partitions
from orchestration.warehouse import ensure_warehouse

OWNERS = ["team:data-platform"]
POOL = "duckdb_warehouse"


@dg.asset(
    key=["link", "record_links"],
    group_name="link",
    partitions_def=unit_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[["marts", "fct_civil_servant_records"], ["marts", "dim_registry_persons"]],
    kinds={"duckdb", "splink"},
    owners=OWNERS,
    pool=POOL,
    description=(
        "Each conformed record linked to the population registry by a Splink model: the registry ID or none, "
        "match probability and weight, the decision (auto_link / review / no_link) and a match status a unit "
        "understands. The trained model is saved under <data_dir>/models and reused by later runs."
    ),
)
def record_links(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, linkage: LinkageSettings
) -> dg.MaterializeResult:
    model_path = warehouse.data_path / "models" / "splink_model.json"
    with warehouse.connect() as con:
        ensure_warehouse(con)
        outcome = link_units(
            con, list(context.partition_keys), model_path, context.run.run_id,
            linkage.auto_link_threshold, linkage.review_threshold,
        )
    linked = outcome.decisions.get("auto_link", 0)
    return dg.MaterializeResult(
        metadata={
            "records": outcome.records,
            "link_rate": dg.FloatMetadataValue(round(linked / outcome.records, 4) if outcome.records else 0.0),
            "decisions": outcome.decisions,
            "match_statuses": outcome.statuses,
            "model_trained_this_run": outcome.model_trained,
            "model": dg.MetadataValue.path(str(model_path)),
        }
    )
