"""What every warehouse asset shares, stated once: its owner, its concurrency pool, its retry policy, and for
unit-level assets the unit partitions with single-run backfills (all units that run together run as one run)."""

from collections.abc import Callable
from typing import Any

import dagster as dg

from orchestration.units import unit_partitions

OWNERS = ["team:data-platform"]
# DuckDB allows one writer process: every warehouse step and check shares this pool, whose limit of one
# step at a time across all runs is set in dagster.yaml (see docs/operations.md).
WAREHOUSE_POOL = "duckdb_warehouse"
# A transient failure (a file still being copied, a slow disk, a lock held by a process outside Dagster) is
# tried again; the pool slot is released while the step waits. A data problem fails the same way again, and
# a failed blocking quality check is not retried at all. Stated on the assets, so that it holds in every run
# that materializes them: the named jobs, `make run`, and a backfill or materialization from the UI.
WAREHOUSE_RETRY = dg.RetryPolicy(max_retries=2, delay=30)
SINGLE_RUN = dg.BackfillPolicy.single_run()


def warehouse_asset(**kwargs: Any) -> Callable:
    """`dg.asset` for an asset that writes the warehouse."""
    return dg.asset(owners=OWNERS, pool=WAREHOUSE_POOL, retry_policy=WAREHOUSE_RETRY, **kwargs)


def unit_asset(**kwargs: Any) -> Callable:
    """`dg.asset` for a warehouse asset with one partition per source unit."""
    return warehouse_asset(partitions_def=unit_partitions, backfill_policy=SINGLE_RUN, **kwargs)
