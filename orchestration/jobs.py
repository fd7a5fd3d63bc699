"""Asset selections and jobs shared by the command line, the schedules and the sensor.

Every step of these jobs writes the warehouse, so every step is in the one-slot `duckdb_warehouse` pool and
runs alone, whatever the executor. The in-process executor runs a run's steps in the run's own process: no
process is started per step while the slot is held, and the slot is held only while a step works. Many runs
are in progress together and the pool interleaves their steps (docs/operations.md).
"""

import dagster as dg

from orchestration.conform.assets import reference_seeds
from orchestration.units import unit_partitions

# Unpartitioned inputs every unit shares; everything else is one partition per unit.
SHARED_INPUTS = dg.AssetSelection.assets(
    ["raw", "registry"], ["raw", "landing_inventory"], ["raw", "linkage_labels"]
) | dg.AssetSelection.assets(*reference_seeds.keys)
# Retraining the linkage model is an explicit run (`make retrain`), never part of an ordinary one.
RETRAIN = dg.AssetSelection.assets(["link", "splink_model"])
# Audit reports are asked for one record at a time (its token as run config), never run per unit.
AUDIT_REPORTS = dg.AssetSelection.groups("audit")
UNIT_ASSETS = dg.AssetSelection.all() - SHARED_INPUTS - RETRAIN - AUDIT_REPORTS

unit_pipeline_job = dg.define_asset_job(
    "unit_pipeline",
    selection=UNIT_ASSETS,
    partitions_def=unit_partitions,
    description="Every unit-level asset, ingest to publish, for the units of the run (one partition each).",
    executor_def=dg.in_process_executor,
)

shared_inputs_job = dg.define_asset_job(
    "shared_inputs",
    selection=SHARED_INPUTS,
    description="Reference seeds, the registry snapshot and the landing inventory.",
    executor_def=dg.in_process_executor,
)

retrain_job = dg.define_asset_job(
    "retrain_linkage_model", selection=RETRAIN, executor_def=dg.in_process_executor
)
