"""Concurrency (issue #8): many unit runs at once, one DuckDB warehouse, no lock error.

Real processes, as in `make ui`: `dagster dev` (webserver, daemon, code server) with the project's
dagster.yaml in a private DAGSTER_HOME. Unit runs are submitted over GraphQL all at once, as a backfill
from the UI or the sensor does; the queued run coordinator and the `duckdb_warehouse` pool do the rest.
One of the units sends an extract that fails an integrity gate: its run fails, the others do not wait.
"""

import contextlib
import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.asset_defaults import WAREHOUSE_POOL
from orchestration.units import source_units
from tests.conftest import AS_OF, PipelineData, resend_extract, swap_birth_date_and_sex

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GOOD_UNITS = 2  # and one unit whose run fails
# Under three minutes on a 2-core machine; the margin is for a machine busy with other work.
DEADLINE_SECONDS = 900
# What DuckDB says when a second process opens the warehouse file another one holds.
LOCK_ERRORS = ("Could not set lock", "Conflicting lock", "IO Error", "IOException")
STEP_ENDS = {"STEP_SUCCESS", "STEP_FAILURE", "STEP_UP_FOR_RETRY", "STEP_SKIPPED"}


def test_instance_and_jobs_keep_one_warehouse_writer(tmp_path):
    """The settings the design rests on (docs/operations.md), read the way Dagster reads them."""
    from dagster._core.definitions.dependency import NodeHandle
    from dagster._core.instance.config import PoolGranularity

    from orchestration.definitions import defs

    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        config = instance.get_concurrency_config()
        pools, queue = config.pool_config, config.run_queue_config
        assert (pools.default_pool_limit, pools.pool_granularity) == (1, PoolGranularity.OP)
        assert queue.should_block_op_concurrency_limited_runs and queue.op_concurrency_slot_buffer == 0
        assert instance.run_monitoring_enabled and instance.run_monitoring_settings["free_slots_after_run_end_seconds"]
        assert instance.run_retries_enabled and not instance.run_retries_retry_on_asset_or_op_failure
    for name in ("unit_pipeline", "shared_inputs", "retrain_linkage_model"):
        job = defs.resolve_job_def(name)
        assert job.executor_def.name == "in_process", name
        for node in job.graph.node_dict.values():
            assert node.definition.pool == WAREHOUSE_POOL, node.name
            # Deterministic failures are not retried: one unit's bad input is isolated inside the step.
            assert job.get_retry_policy_for_handle(NodeHandle(node.name, None)) is None, node.name


def _ordinary_units(data_dir: Path) -> list[str]:
    """Units whose landing files carry no whole-file defect, provinces and central units alternating."""
    with (data_dir / "truth" / "files.csv").open(encoding="utf-8") as handle:
        unusual = {row["unit_code"] for row in csv.DictReader(handle) if row["kind"] not in ("current", "older")}
    provinces = [u.unit_code for u in source_units() if u.kind == "province" and u.unit_code not in unusual]
    central = [u.unit_code for u in source_units() if u.kind == "central" and u.unit_code not in unusual]
    return [unit for pair in zip(provinces, central, strict=False) for unit in pair]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def deployment(pipeline: PipelineData, tmp_path):
    """A copy of the linked data directory (model, warehouse) and `dagster dev` serving it on a free port."""
    data_dir = tmp_path / "data"
    for folder in ("landing", "registry", "truth", "models"):
        shutil.copytree(pipeline.data_dir / folder, data_dir / folder)
    shutil.copy(pipeline.warehouse, data_dir / "warehouse.duckdb")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    # As on any instance that has run before: the pool exists with the default limit of dagster.yaml.
    # (On a new instance the run queue meets the pool only after its first pass, so that pass may start
    # several runs at once; their steps then wait for the slot.)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.event_log_storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGSTER_HOME": str(home),
        "CBCCVC_DATA_DIR": str(data_dir),
        "CBCCVC_WAREHOUSE": str(data_dir / "warehouse.duckdb"),
        "CBCCVC_AS_OF": AS_OF.isoformat(),
        "CBCCVC_TOKEN_KEY": "test-key",
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    log_path = tmp_path / "dagster_dev.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        yield data_dir, home, port, log_path
    finally:
        _stop(server)


def _stop(server: subprocess.Popen) -> None:
    """Stop `dagster dev` and everything it started: its process group (code server, run workers)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)  # whatever did not stop with its parent
    server.wait(timeout=10)


def _submit_when_ready(port: int, units: list[str]) -> dict[str, str]:
    """Submit one `unit_pipeline` run per unit, as soon as the code location has loaded."""
    from dagster_graphql import DagsterGraphQLClient

    deadline = time.monotonic() + 300
    while True:
        try:
            client = DagsterGraphQLClient("127.0.0.1", port_number=port)
            first = client.submit_job_execution("unit_pipeline", tags={"dagster/partition": units[0]})
            break
        except Exception:  # the webserver or the code location is still loading
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
    run_ids = {units[0]: first}
    for unit in units[1:]:
        run_ids[unit] = client.submit_job_execution("unit_pipeline", tags={"dagster/partition": unit})
    return run_ids


def _wait_for(instance: dg.DagsterInstance, run_ids: list[str]) -> list[dg.RunRecord]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        records = instance.get_run_records(dg.RunsFilter(run_ids=run_ids))
        if len(records) == len(run_ids) and all(r.dagster_run.is_finished for r in records):
            return records
        if time.monotonic() > deadline:
            states = {r.dagster_run.tags.get("dagster/partition"): r.dagster_run.status.value for r in records}
            raise AssertionError(f"runs still unfinished after {DEADLINE_SECONDS} s: {states}")
        time.sleep(3)


def _event_text(entry) -> str:
    text = entry.message or ""
    error = getattr(getattr(entry.dagster_event, "event_specific_data", None), "error", None)
    return text + ("\n" + error.to_string() if error is not None else "")


def _pool_step_intervals(instance: dg.DagsterInstance, run_id: str) -> list[tuple[float, float, str]]:
    """(start, end, step) of every step attempt of a run, from its event log."""
    starts: dict[str, float] = {}
    intervals = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value in ("STEP_START", "STEP_RESTARTED"):
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value in STEP_ENDS and event.step_key in starts:
            intervals.append((starts.pop(event.step_key), entry.timestamp, f"{run_id[:8]}:{event.step_key}"))
    return intervals


def test_unit_runs_launched_together_all_finish_without_a_lock_error(deployment):
    data_dir, home, port, log_path = deployment
    candidates = _ordinary_units(data_dir)
    good, bad = candidates[:GOOD_UNITS], candidates[GOOD_UNITS]
    resend_extract(data_dir / "landing" / bad, swap_birth_date_and_sex)
    units = [good[0], bad, *good[1:]]  # the failing unit is queued ahead of most of the others

    run_ids = _submit_when_ready(port, units)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = _wait_for(instance, list(run_ids.values()))
        by_unit = {r.dagster_run.tags["dagster/partition"]: r for r in records}
        logs = {run_id: instance.all_logs(run_id) for run_id in run_ids.values()}
        intervals = sorted(i for run_id in run_ids.values() for i in _pool_step_intervals(instance, run_id))
        pool = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    origin = min(r.create_timestamp.timestamp() for r in records)
    last = max(r.end_time for r in records) - origin
    print(f"\n{len(units)} unit runs submitted together, all finished after {last:.0f} s; started/ended (s):")
    for unit, record in by_unit.items():
        print(f"  {unit:<30} {record.start_time - origin:6.0f} {record.end_time - origin:6.0f}"
              f"  {record.dagster_run.status.value}")

    # Run tags show the unit; every good unit succeeded; the failing unit failed on its own.
    assert set(by_unit) == set(units)
    statuses = {unit: by_unit[unit].dagster_run.status for unit in units}
    assert statuses == {**dict.fromkeys(good, dg.DagsterRunStatus.SUCCESS), bad: dg.DagsterRunStatus.FAILURE}

    # No step anywhere met a locked file: not in the event logs, not in the processes' output.
    for run_id, entries in logs.items():
        text = "\n".join(_event_text(entry) for entry in entries)
        assert not [marker for marker in LOCK_ERRORS if marker in text], run_id
    output = log_path.read_text(errors="replace")
    assert not [marker for marker in LOCK_ERRORS if marker in output]

    # Nobody lined the runs up, yet one warehouse step ran at a time across all runs (the queue and the
    # pool did it), and every slot was given back, the failed run's too.
    assert pool.slot_count == 1
    for (_, end, step), (start, _, next_step) in zip(intervals, intervals[1:], strict=False):
        assert end <= start, f"{step} and {next_step} used the warehouse at the same time"
    assert pool.active_slot_count == 0 and pool.pending_step_count == 0

    # Every unit's new load reached the warehouse: published, or held in quarantine for the failing one.
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        outcomes = dict(con.execute(
            "select unit_code, outcome from published.snapshots where load_id in (select unnest(?))",
            [list(run_ids.values())],
        ).fetchall())
        held_rows = con.execute(
            "select count(*) from quarantine.rows where unit_code = ? and load_id = ?", [bad, run_ids[bad]]
        ).fetchall()[0][0]
    assert outcomes == {**dict.fromkeys(good, "published"), bad: "held"}
    assert held_rows > 0
