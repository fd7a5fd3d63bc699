"""How long the demo pipeline takes: all 62 units in one run, and one unit alone.

    .venv/bin/python benchmarks/pipeline_speed.py [--repeats 3] [--out benchmarks/results/pipeline_speed.json]

Each measurement is a fresh `python -m orchestration.run` process (imports included, installation
excluded) on the demo data set (scale 0.013), with a fresh warehouse for the first run. Reports every
run, the median, the child's peak memory, and the targets (all units <= 180 s, one unit <= 45 s).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from results_file import write_result

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEMO_SCALE, DEMO_SEED = 0.013, 2025
TARGETS = {"all_units_seconds": 180, "one_unit_seconds": 45}


def run_pipeline(data_dir: Path, units: str | None) -> dict:
    env = {
        **os.environ,
        "CBCCVC_DATA_DIR": str(data_dir),
        "CBCCVC_WAREHOUSE": str(data_dir / "warehouse.duckdb"),
        "DAGSTER_HOME": str(data_dir / "dagster_home"),
        "DO_NOT_TRACK": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    (data_dir / "dagster_home").mkdir(exist_ok=True)
    # --force: the cost of running the units, not of finding that nothing is new.
    command = [sys.executable, "-m", "orchestration.run", "--force", *(["--units", units] if units else [])]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"pipeline failed:\n{completed.stderr[-3000:]}")
    return {"seconds": round(seconds, 2)}


def peak_child_memory_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--unit", default="ha-noi")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "results" / "pipeline_speed.json")
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT_ROOT))
    from synthetic import generate

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        summary = generate(data_dir, scale=DEMO_SCALE, seed=DEMO_SEED, as_of=date.today())
        first = run_pipeline(data_dir, None)  # empty warehouse, the linkage model is trained
        again = [run_pipeline(data_dir, None) for _ in range(args.repeats - 1)]  # model reused
        one_unit = [run_pipeline(data_dir, args.unit) for _ in range(args.repeats)]
    all_units = [first, *again]
    result = {
        "benchmark": "pipeline_speed",
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "data": {"scale": DEMO_SCALE, "records": summary.n_records, "registry_persons": summary.registry_size},
        "all_units": {
            "runs_seconds": [r["seconds"] for r in all_units],
            "first_run_seconds": first["seconds"],
            "median_seconds": statistics.median(r["seconds"] for r in all_units),
        },
        "one_unit": {
            "unit": args.unit,
            "runs_seconds": [r["seconds"] for r in one_unit],
            "median_seconds": statistics.median(r["seconds"] for r in one_unit),
        },
        "peak_child_memory_mib": peak_child_memory_mib(),
        "targets": TARGETS,
    }
    result["meets_targets"] = (
        max(result["all_units"]["runs_seconds"]) <= TARGETS["all_units_seconds"]
        and result["one_unit"]["median_seconds"] <= TARGETS["one_unit_seconds"]
    )
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
