"""The warehouse pool after a crash: free what dead runs hold, wait with a deadline for live ones.

A run started by `make run` executes in the command's own process. If that process is killed (`kill -9`,
the kernel's out-of-memory killer) its run stays "started" and keeps its slot in the `duckdb_warehouse`
pool: every later run would wait for it forever. Runs started here carry their host and process id as
tags, so the next command can tell a dead holder from a live one, mark its run failed and free its slot.
Runs started by the UI or the daemon are watched by their own code server and run monitoring
(dagster.yaml); they are waited for, with a deadline, never taken over.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

import dagster as dg

from orchestration.asset_defaults import WAREHOUSE_POOL

HOST_TAG, PID_TAG = "cbccvc/host", "cbccvc/pid"
DEFAULT_POOL_WAIT_SECONDS = 3600


def process_tags() -> dict[str, str]:
    """Tags naming this process, put on every run it starts."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_is_gone(run: dg.DagsterRun | None) -> bool:
    """The run that holds (or waits for) a slot has ended, or was started here by a process now dead."""
    if run is None or run.is_finished:
        return True
    pid = run.tags.get(PID_TAG)
    return (run.tags.get(HOST_TAG) == socket.gethostname() and pid is not None and pid.isdigit()
            and int(pid) != os.getpid() and not _process_alive(int(pid)))


def _pool_run_ids(instance: dg.DagsterInstance) -> set[str]:
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    return {slot.run_id for slot in info.claimed_slots} | {step.run_id for step in info.pending_steps}


def free_dead_holders(instance: dg.DagsterInstance, say: Callable[[str], None] = print) -> list[str]:
    """Free the pool slots of runs that no longer exist; a dead run still marked started is marked failed."""
    freed = []
    for run_id in sorted(_pool_run_ids(instance)):
        run = instance.get_run_by_id(run_id)
        if not holder_is_gone(run):
            continue
        if run is not None and not run.is_finished:
            instance.report_run_failed(run, "its process is gone (killed or out of memory); its slot was freed")
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        say(f"freed the warehouse slot held by run {run_id}, whose process no longer exists")
        freed.append(run_id)
    return freed


def wait_for_pool(instance: dg.DagsterInstance, timeout_seconds: float, say: Callable[[str], None] = print,
                  poll_seconds: float = 5.0) -> None:
    """Wait until no other live run holds the warehouse slot; `TimeoutError` with a clear message after
    `timeout_seconds`. Dead holders found while waiting are freed."""
    deadline = time.monotonic() + timeout_seconds
    announced: set[str] = set()
    while True:
        free_dead_holders(instance, say)
        holders = {run_id for run_id in _pool_run_ids(instance)
                   if (run := instance.get_run_by_id(run_id)) is not None and run.tags.get(PID_TAG) != str(os.getpid())}
        if not holders:
            return
        for run_id in sorted(holders - announced):
            say(f"waiting for run {run_id}, which holds the warehouse (at most {timeout_seconds:.0f} s)")
        announced |= holders
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"the warehouse stayed busy for {timeout_seconds:.0f} s (run(s) {', '.join(sorted(holders))}); "
                "see the UI, or raise CBCCVC_POOL_WAIT_SECONDS")
        time.sleep(poll_seconds)


def runs_of_this_process(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Unfinished runs this process started."""
    runs = instance.get_runs(dg.RunsFilter(tags={PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}))
    return [run for run in runs if not run.is_finished]


def cancel_runs_of_this_process(instance: dg.DagsterInstance, reason: str) -> list[str]:
    """Mark this process's unfinished runs canceled and free their slots (on SIGTERM)."""
    canceled = []
    for run in runs_of_this_process(instance):
        instance.report_run_canceled(run, reason)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        canceled.append(run.run_id)
    return canceled
