"""Publish asset: each unit's accepted snapshot, or its rows held in quarantine."""


import dagster as dg

from orchestration.publish.publication import publish_unit
from orchestration.resources import PublishSettings, WarehouseResource
from orchestration.units import unit_partitions
from orchestration.warehouse import ensure_warehouse

OWNERS = ["team:data-platform"]
POOL = "duckdb_warehouse"


@dg.asset(
    key=["published", "civil_servants"],
    group_name="publish",
    partitions_def=unit_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[["quality", "gate_results"], ["quality", "record_flags"]],
    kinds={"duckdb"},
    owners=OWNERS,
    pool=POOL,
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
    outcomes = []
    with warehouse.connect() as con:
        ensure_warehouse(con)
        for unit_code in context.partition_keys:
            outcome = publish_unit(con, unit_code, publishing.token_key)
            outcomes.append(outcome)
            if outcome.outcome == "held":
                context.log.warning(f"{unit_code}: held, failed gates: {', '.join(outcome.failed_gates)}")
    return dg.MaterializeResult(
        metadata={
            "units_published": sum(1 for o in outcomes if o.outcome == "published"),
            "units_held": [o.unit_code for o in outcomes if o.outcome == "held"],
            "rows_read": sum(o.rows_read for o in outcomes),
            "rows_published": sum(o.rows_published for o in outcomes),
            "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
        }
    )
