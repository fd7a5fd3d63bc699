"""The quality checkpoints: time and peak memory at national scale, and two GX paths side by side.

    .venv/bin/python benchmarks/checkpoints.py --warehouse PATH [--subset-records 150000] [--repeats 3]
        [--out benchmarks/results/checkpoints.json]

PATH is a warehouse after a pipeline run (conformed records, links; record flags are built here with
dbt if missing). Measured, each in its own process so that peak memory is its own:

- ``per_unit``: what the pipeline does: every unit's checkpoint (the four suites) on a pandas batch of that
  unit alone, then the national checkpoint on one row per unit. Run on all units (national scale).
- ``whole_table``: the same four suites on one pandas batch holding every record of the chosen units: the
  naive pandas path. Only run on a subset (issue #7: never load all 1.4 M rows into pandas at once).
- ``per_unit`` on the same subset, beside it, for the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

from results_file import RESULTS_DIR, write_result

PROJECT_ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 15)


def measure_in_child(warehouse: Path, mode: str, units: list[str]) -> dict:
    """Run one mode in a fresh interpreter; it prints 'seconds peak_mib records' last."""
    command = [sys.executable, __file__, "--child", mode, "--warehouse", str(warehouse), "--units", ",".join(units)]
    env = {**os.environ, "CBCCVC_AS_OF": AS_OF.isoformat(), "DO_NOT_TRACK": "1"}
    completed = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{completed.stderr[-3000:]}")
    seconds, peak, records, failed = completed.stdout.strip().splitlines()[-1].split()
    return {"seconds": float(seconds), "peak_mib": float(peak), "records": int(records), "failed_gates": int(failed)}


def child(mode: str, warehouse: Path, units: list[str]) -> None:
    import resource
    import time

    import duckdb
    import pandas as pd

    sys.path.insert(0, str(PROJECT_ROOT))
    from orchestration.quality.gates import GateRunner, as_of_date, national_batch, unit_batch

    runner = GateRunner()
    as_of = as_of_date()
    start = time.perf_counter()
    records = 0
    outcomes = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if mode == "per_unit":
            for unit_code in units:
                batch = unit_batch(con, unit_code)
                records += len(batch)
                outcomes += runner.run(unit_code, batch)
            outcomes += runner.run_national(national_batch(con, as_of))
        else:
            batch = pd.concat([unit_batch(con, unit_code) for unit_code in units], ignore_index=True)
            records = len(batch)
            outcomes += runner.run("all", batch)
    seconds = time.perf_counter() - start
    failed = sum(1 for o in outcomes if o.blocking and not o.success)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{seconds:.3f} {peak_mib:.1f} {records} {failed}")


def ensure_record_flags(warehouse: Path) -> None:
    """Build quality.record_flags with the project's dbt model if the warehouse has not got it yet."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        present = con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'quality' and table_name = 'record_flags'"
        ).fetchall()[0][0]
    if present:
        return
    env = {**os.environ, "CBCCVC_WAREHOUSE": str(warehouse), "DO_NOT_TRACK": "1"}
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run", "--select", "fct_record_flags",
         "--project-dir", "dbt_project", "--profiles-dir", "dbt_project"],
        cwd=PROJECT_ROOT, env=env, check=True,
    )


def units_by_size(warehouse: Path) -> list[tuple[str, int]]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select unit_code, count(*) from marts.fct_civil_servant_records group by 1 order by 2, 1"
        ).fetchall()


def subset_of(sizes: list[tuple[str, int]], records: int) -> list[str]:
    """The smallest units whose records add up to about `records`."""
    chosen, total = [], 0
    for unit_code, count in sizes:
        if total >= records:
            break
        chosen.append(unit_code)
        total += count
    return chosen


def summarise(runs: list[dict]) -> dict:
    return {
        "records": runs[0]["records"],
        "failed_gates": runs[0]["failed_gates"],
        "seconds_median": statistics.median(r["seconds"] for r in runs),
        "peak_mib_median": statistics.median(r["peak_mib"] for r in runs),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--subset-records", type=int, default=150_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "checkpoints.json")
    parser.add_argument("--child", choices=["per_unit", "whole_table"])
    parser.add_argument("--units")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.warehouse, args.units.split(","))
        return

    ensure_record_flags(args.warehouse)
    sizes = units_by_size(args.warehouse)
    everything = [unit for unit, _ in sizes]
    subset = subset_of(sizes, args.subset_records)
    national = summarise([measure_in_child(args.warehouse, "per_unit", everything)])
    # Side by side and interleaved, so that a noisy neighbour affects both paths alike.
    per_unit, whole = [], []
    for _ in range(args.repeats):
        per_unit.append(measure_in_child(args.warehouse, "per_unit", subset))
        whole.append(measure_in_child(args.warehouse, "whole_table", subset))
    side_by_side = {"units": len(subset), "per_unit": summarise(per_unit), "whole_table": summarise(whole)}
    side_by_side["ratio_seconds_whole_over_per_unit"] = round(
        side_by_side["whole_table"]["seconds_median"] / side_by_side["per_unit"]["seconds_median"], 3)
    side_by_side["ratio_peak_whole_over_per_unit"] = round(
        side_by_side["whole_table"]["peak_mib_median"] / side_by_side["per_unit"]["peak_mib_median"], 3)
    write_result({
        "benchmark": "checkpoints",
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores",
        "national": {"units": len(everything), **national},
        "subset": side_by_side,
    }, args.out)


if __name__ == "__main__":
    main()
