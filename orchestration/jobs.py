"""Asset selections and jobs shared by the command line, the schedules and the sensor."""

import dagster as dg

from orchestration.conform.assets import reference_seeds
from orchestration.units import unit_partitions

# Unpartitioned inputs every unit shares; everything else is one partition per unit.
SHARED_INPUTS = dg.AssetSelection.assets(["raw", "registry"], ["raw", "landing_inventory"]) | (
    dg.AssetSelection.assets(*reference_seeds.keys)
)
# Retraining the linkage model is an explicit run (`make retrain`), never part of an ordinary one.
RETRAIN = dg.AssetSelection.assets(["link", "splink_model"])
UNIT_ASSETS = dg.AssetSelection.all() - SHARED_INPUTS - RETRAIN

unit_pipeline_job = dg.define_asset_job(
    "unit_pipeline",
    selection=UNIT_ASSETS,
    partitions_def=unit_partitions,
    description="Every unit-level asset, ingest to publish, for the units of the run (one partition each).",
    # A transient failure (a locked file, a slow disk) is retried; a data problem fails the same way again.
    op_retry_policy=dg.RetryPolicy(max_retries=2, delay=30),
)

shared_inputs_job = dg.define_asset_job(
    "shared_inputs",
    selection=SHARED_INPUTS,
    description="Reference seeds, the registry snapshot and the landing inventory.",
)

retrain_job = dg.define_asset_job("retrain_linkage_model", selection=RETRAIN)
