"""What every warehouse asset shares, stated once: its owner, its concurrency pool, and for
unit-level assets the unit partitions with single-run backfills (all units that run together run as one run)."""

from collections.abc import Callable
from typing import Any

import dagster as dg

from orchestration.units import unit_partitions

OWNERS = ["team:data-platform"]
# DuckDB allows one writer process: every warehouse step and check shares this pool, whose limit of one
# step at a time across all runs is set in dagster.yaml (see docs/operations.md).
WAREHOUSE_POOL = "duckdb_warehouse"
# No retry policy: the same data fails the same way again, and one unit's bad input is isolated inside the
# step (orchestration/unit_errors.py). What is transient is waited for where it happens: a warehouse lock
# held by another process (resources.connect_waiting), a file still being copied (rejected as cut off;
# the unit keeps its last good extract and the next run reads the whole file).
SINGLE_RUN = dg.BackfillPolicy.single_run()


def warehouse_asset(**kwargs: Any) -> Callable:
    """`dg.asset` for an asset that writes the warehouse."""
    return dg.asset(owners=OWNERS, pool=WAREHOUSE_POOL, **kwargs)


def unit_asset(**kwargs: Any) -> Callable:
    """`dg.asset` for a warehouse asset with one partition per source unit."""
    return warehouse_asset(partitions_def=unit_partitions, backfill_policy=SINGLE_RUN, **kwargs)
