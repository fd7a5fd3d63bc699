"""What every warehouse asset shares, stated once: its owner, its concurrency pool, and for unit-level
assets the unit partitions with single-run backfills (all units that run together run as one run)."""

from collections.abc import Callable
from typing import Any

import dagster as dg

from orchestration.units import unit_partitions

OWNERS = ["team:data-platform"]
# DuckDB allows one writer process: every warehouse step and check shares this pool (limit in dagster.yaml).
WAREHOUSE_POOL = "duckdb_warehouse"
SINGLE_RUN = dg.BackfillPolicy.single_run()


def warehouse_asset(**kwargs: Any) -> Callable:
    """`dg.asset` for an asset that writes the warehouse."""
    return dg.asset(owners=OWNERS, pool=WAREHOUSE_POOL, **kwargs)


def unit_asset(**kwargs: Any) -> Callable:
    """`dg.asset` for a warehouse asset with one partition per source unit."""
    return warehouse_asset(partitions_def=unit_partitions, backfill_policy=SINGLE_RUN, **kwargs)
