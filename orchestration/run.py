"""Run the whole pipeline from the command line: ``python -m orchestration.run [--units a,b]``.

Two Dagster runs, in process: the shared inputs (reference seeds, registry snapshot, landing
inventory), then every unit-level asset for all the chosen units in one run (a single-run backfill
over the unit partitions). Runs are recorded in DAGSTER_HOME, so they show in the UI afterwards.

Before it starts, the command frees pool slots left by runs whose process died, and waits (at most
``CBCCVC_POOL_WAIT_SECONDS``) for a live run that holds the warehouse. It stops on SIGTERM. Exit status: 0
when every requested unit ran; 1 with a one-line reason when a run or a unit's step failed, or the
warehouse stayed busy; 2 on a usage error or when the public demo token key would be used on real data.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from orchestration.definitions import defs
from orchestration.ingest.registry import registry_snapshot_id
from orchestration.jobs import SHARED_INPUTS, UNIT_ASSETS
from orchestration.resources import (
    UNSAFE_DEMO_TOKEN_KEY,
    PipelineSettings,
    WarehouseBusy,
    apply_environment_defaults,
)
from orchestration.run_inputs import (
    landing_listings,
    record_decided_units,
    unit_fingerprints,
    units_with_nothing_new,
)
from orchestration.run_slots import DEFAULT_POOL_WAIT_SECONDS, cancel_runs_of_this_process, process_tags, wait_for_pool
from orchestration.summary import print_summary
from orchestration.units import unit_codes

T = TypeVar("T")


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
        resources=defs.resources, tags=process_tags(), raise_on_error=False,
    )
    if not shared.success:
        raise SharedInputsFailed(_failure_message(shared) or f"run {shared.run_id} failed; see the UI")
    run_ids = [shared.run_id]
    for batch in contiguous_batches(units):
        result = dg.materialize(
            assets, selection=UNIT_ASSETS, instance=instance, resources=defs.resources,
            tags={**unit_run_tags(batch), **process_tags()}, raise_on_error=False,
        )
        run_ids.append(result.run_id)
        if not result.success:
            print(f"Run {result.run_id} for {len(batch)} unit(s) did not fully succeed; see the UI.", file=sys.stderr)
    return run_ids


def _units_with_nothing_new(fingerprints: dict[str, str]) -> list[str]:
    settings = PipelineSettings.from_environment()
    if not Path(settings.warehouse_path).exists():
        return []
    with settings.connect() as con:
        return units_with_nothing_new(con, fingerprints)


class SharedInputsFailed(RuntimeError):
    """The inputs every unit shares (registry, reference lists) could not be loaded: no unit can run."""


def _failure_message(result: dg.ExecuteInProcessResult) -> str | None:
    """The first step failure's own sentence: a `dg.Failure`'s description, else the error's last line."""
    for event in result.all_events:
        if not (event.is_step_failure and event.step_failure_data):
            continue
        data = event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            return f"{event.step_key}: {data.user_failure_data.description}"
        if data.error:
            return f"{event.step_key}: {data.error.message.strip().splitlines()[-1]}"
    return None


def failed_runs(instance: dg.DagsterInstance, run_ids: list[str]) -> list[str]:
    """The runs of `run_ids` that did not succeed."""
    return [run_id for run_id in run_ids
            if (run := instance.get_run_by_id(run_id)) is None or run.status != dg.DagsterRunStatus.SUCCESS]


def refuse_public_token_key(data_dir: Path) -> str | None:
    """Why the run must not start with the public demo key, or None.

    Person tokens are keyed hashes of 12-digit IDs: with a known key, anyone can hash every plausible ID of a
    birth year, sex and province and read the ID back from a published token in about a second. The demo key
    is in this repository, so it may only hash the generator's synthetic people.
    """
    if os.environ.get("CBCCVC_TOKEN_KEY") != UNSAFE_DEMO_TOKEN_KEY or os.environ.get("CBCCVC_ALLOW_DEMO_KEY") == "1":
        return None
    if (data_dir / "truth" / "files.csv").is_file():  # the synthetic generator's data set
        return None
    return ("CBCCVC_TOKEN_KEY is not set, and this data directory does not hold the generator's synthetic data: "
            "set a secret key (docs/operations.md, 'The token key'), or CBCCVC_ALLOW_DEMO_KEY=1 to use the public "
            "demo key on purpose")


def _run_in_worker(work: Callable[[], T], on_terminate: Callable[[], None]) -> T:
    """Run `work` in a thread, so that SIGTERM reaches this main thread even while Dagster waits (Dagster
    captures signals only on the main thread). On SIGTERM, `on_terminate` runs and the process exits 143:
    the warehouse keeps only committed transactions, so each unit's publication is all or nothing."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # noqa: BLE001 - handed back to the main thread
            outcome["error"] = error

    def terminate(signum: int, _frame: object) -> None:
        print(f"\nstopping on signal {signum}: marking this command's runs canceled", file=sys.stderr)
        on_terminate()
        sys.stderr.flush()
        os._exit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    worker = threading.Thread(target=target, name="pipeline", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(timeout=0.5)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", help="comma-separated unit codes (default: all 62)")
    parser.add_argument("--force", action="store_true",
                        help="run every chosen unit, also those with nothing new since their last run")
    args = parser.parse_args(argv)
    apply_environment_defaults()
    units = args.units.split(",") if args.units else unit_codes()
    unknown = sorted(set(units) - set(unit_codes()))
    if unknown:
        parser.error(f"unknown unit code(s): {', '.join(unknown)}")
    settings = PipelineSettings.from_environment()
    refusal = refuse_public_token_key(settings.data_path)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    data_dir = settings.data_path
    registry = registry_snapshot_id(sorted((data_dir / "registry").glob("*.parquet")))
    listings = landing_listings(data_dir, units)
    fingerprints = unit_fingerprints(data_dir, units, registry, listings)
    skipped = [] if args.force else _units_with_nothing_new(fingerprints)
    if skipped:
        print(f"Nothing new for {len(skipped)} unit(s) since their last run: skipped (--force runs them): "
              f"{', '.join(skipped)}", file=sys.stderr)
    with dg.DagsterInstance.get() as instance:
        try:
            wait_for_pool(instance, float(os.environ.get("CBCCVC_POOL_WAIT_SECONDS", DEFAULT_POOL_WAIT_SECONDS)))
            run_ids = _run_in_worker(
                lambda: run_pipeline([unit for unit in units if unit not in skipped], instance),
                on_terminate=lambda: cancel_runs_of_this_process(instance, "stopped by SIGTERM"),
            )
        except (TimeoutError, SharedInputsFailed) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        failed = failed_runs(instance, run_ids)
    try:
        with PipelineSettings.from_environment().connect() as con:
            # The landing folders as they were before the run, the model the run used.
            record_decided_units(con, unit_fingerprints(data_dir, units, registry, listings), run_ids)
        unit_errors = print_summary(units, run_ids, elapsed_seconds=time.perf_counter() - started,
                                    skipped=skipped)
    except WarehouseBusy as error:
        print(f"error: no summary: {error}", file=sys.stderr)
        return 1
    if failed or unit_errors:
        # Exit 0 only when every requested unit ran: a held one-unit run fails its publication step.
        reasons = [f"{len(failed)} of {len(run_ids)} run(s) did not succeed ({', '.join(failed)})"] if failed else []
        reasons += [f"{len(unit_errors)} unit step(s) failed ({', '.join(f'{u}: {s}' for u, s in unit_errors)})"
                    ] if unit_errors else []
        print(f"error: {'; '.join(reasons)}; see the UI or the log above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
