"""Run the whole pipeline from the command line: ``python -m orchestration.run [--units a,b]``.

Two Dagster runs, in process: the shared inputs (reference seeds, registry snapshot, landing
inventory), then every unit-level asset for all the chosen units in one run (a single-run backfill
over the unit partitions). Runs are recorded in DAGSTER_HOME, so they show in the UI afterwards.
"""

from __future__ import annotations

import argparse
import sys
import time

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from orchestration.definitions import defs
from orchestration.jobs import SHARED_INPUTS, UNIT_ASSETS
from orchestration.resources import apply_environment_defaults
from orchestration.summary import print_summary
from orchestration.units import unit_codes


def unit_run_tags(units: list[str]) -> dict[str, str]:
    """Tags that make one run cover a contiguous range of unit partitions."""
    order = unit_codes()
    positions = sorted(order.index(unit) for unit in units)
    return {
        ASSET_PARTITION_RANGE_START_TAG: order[positions[0]],
        ASSET_PARTITION_RANGE_END_TAG: order[positions[-1]],
    }


def contiguous_batches(units: list[str]) -> list[list[str]]:
    """Chosen units grouped into runs of neighbouring partitions (all 62 units make one run)."""
    order = unit_codes()
    batches: list[list[str]] = []
    for position in sorted(order.index(unit) for unit in units):
        if batches and order.index(batches[-1][-1]) == position - 1:
            batches[-1].append(order[position])
        else:
            batches.append([order[position]])
    return batches


def run_pipeline(units: list[str], instance: dg.DagsterInstance) -> list[str]:
    assets = list(defs.assets)
    shared = dg.materialize(
        assets, selection=SHARED_INPUTS, instance=instance,
        resources=defs.resources, raise_on_error=True,
    )
    run_ids = [shared.run_id]
    for batch in contiguous_batches(units):
        result = dg.materialize(
            assets, selection=UNIT_ASSETS, instance=instance, resources=defs.resources,
            tags=unit_run_tags(batch), raise_on_error=False,
        )
        run_ids.append(result.run_id)
        if not result.success:
            print(f"Run {result.run_id} for {len(batch)} unit(s) did not fully succeed; see the UI.", file=sys.stderr)
    return run_ids


def failed_runs(instance: dg.DagsterInstance, run_ids: list[str]) -> list[str]:
    """The runs of `run_ids` that did not succeed."""
    return [run_id for run_id in run_ids
            if (run := instance.get_run_by_id(run_id)) is None or run.status != dg.DagsterRunStatus.SUCCESS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", help="comma-separated unit codes (default: all 62)")
    args = parser.parse_args(argv)
    apply_environment_defaults()
    units = args.units.split(",") if args.units else unit_codes()
    unknown = sorted(set(units) - set(unit_codes()))
    if unknown:
        parser.error(f"unknown unit code(s): {', '.join(unknown)}")
    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        run_ids = run_pipeline(units, instance)
        failed = failed_runs(instance, run_ids)
    print_summary(units, elapsed_seconds=time.perf_counter() - started)
    if failed:
        # Exit 0 only when every requested unit ran: a held one-unit run fails its blocking check.
        print(f"error: {len(failed)} of {len(run_ids)} run(s) did not succeed ({', '.join(failed)}); "
              "see the UI or the log above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
