"""Peak memory of the national run with DuckDB's memory limit set (it must complete).

    .venv/bin/python benchmarks/national_memory.py [--memory-limit 8GB] [--data-dir DIR] [--scale 1.0]
        [--out benchmarks/results/national_memory.json]

Without --data-dir, a national data set is generated first (scale 1.0: 1.44 M records, 10 M registry persons)
in a temporary directory. Then one `python -m orchestration.run` over all 62 units runs on an empty
warehouse, with CBCCVC_DUCKDB_MEMORY_LIMIT and a spill directory set. Every second the benchmark samples
the resident memory of the command's whole process tree (the run and the dbt processes it starts), from
/proc. It reports the peak, the largest single process (rusage), the seconds, the exit code, what DuckDB
spilled, and the rows published and quarantined.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
from results_file import write_result

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += _rss_bytes(current)
        stack.extend(_children(current))
    return total


def _directory_bytes(path: Path) -> int:
    """Bytes of the files under `path` now; DuckDB creates and removes its spill files while this counts."""
    total = 0
    for root, _, files in os.walk(path):  # os.walk skips what vanished; Path.rglob raises
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += (Path(root) / name).stat().st_size
    return total


def run_national(data_dir: Path, memory_limit: str, units: list[str] | None = None, name: str = "national",
                 force: bool = False) -> dict:
    """One `python -m orchestration.run` (every unit, or `units`), its seconds and peak memory."""
    spill = data_dir / "duckdb_tmp"
    env = {
        **os.environ,
        "CBCCVC_DATA_DIR": str(data_dir), "CBCCVC_WAREHOUSE": str(data_dir / "warehouse.duckdb"),
        "DAGSTER_HOME": str(data_dir / "dagster_home"), "CBCCVC_DUCKDB_MEMORY_LIMIT": memory_limit,
        "CBCCVC_DUCKDB_TEMP_DIR": str(spill), "DO_NOT_TRACK": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    (data_dir / "dagster_home").mkdir(exist_ok=True)
    (data_dir / "dagster_home" / "dagster.yaml").write_text(
        (PROJECT_ROOT / "orchestration" / "dagster.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    peak = {"tree": 0, "spill": 0}
    log = data_dir / f"{name}_run.log"
    command = [sys.executable, "-m", "orchestration.run"] + (["--units", ",".join(units)] if units else []) + (
        ["--force"] if force else [])
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

        def sample() -> None:
            while process.poll() is None:
                peak["tree"] = max(peak["tree"], tree_rss(process.pid))
                peak["spill"] = max(peak["spill"], _directory_bytes(spill))
                time.sleep(1.0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        sampler.join(timeout=5)
    seconds = time.perf_counter() - started
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        read, published, quarantined = con.execute(
            "select (select count(*) from raw.extracts), (select count(*) from published.civil_servants), "
            "(select count(*) from quarantine.rows)").fetchall()[0]
    return {
        "exit_code": code,
        "seconds": round(seconds, 1),
        "peak_tree_rss_mib": round(peak["tree"] / 2**20, 1),
        "peak_single_process_rss_mib_so_far": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "peak_spill_mib": round(peak["spill"] / 2**20, 1),
        "rows_read": read, "rows_published": published, "rows_quarantined": quarantined,
        "log_tail": log.read_text(encoding="utf-8", errors="replace").splitlines()[-8:],
    }


def generate_unless_given(data_dir: Path, args: argparse.Namespace) -> dict | None:
    """Generate the national data set into `data_dir` unless --data-dir named one; its sizes and seconds."""
    if args.data_dir is not None:
        return None
    from synthetic import generate

    started = time.perf_counter()
    summary = generate(data_dir, scale=args.scale, seed=args.seed, as_of=date.today())
    return {"scale": args.scale, "records": summary.n_records, "registry_persons": summary.registry_size,
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memory-limit", default="8GB")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "results" / "national_memory.json")
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT_ROOT))
    with tempfile.TemporaryDirectory(prefix="cbccvc-national-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        generation = generate_unless_given(data_dir, args)
        run = run_national(data_dir, args.memory_limit)
    result = {
        "benchmark": "national_memory",
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "duckdb_memory_limit": args.memory_limit,
        "data": generation,
        "run": run,
        "completed": run["exit_code"] == 0,
    }
    write_result(result, args.out)
    return 0 if result["completed"] else 1


if __name__ == "__main__":
    sys.exit(main())
