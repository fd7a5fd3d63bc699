"""A unit's run at national scale: the whole national run, then one-unit runs and a run with nothing new.

    .venv/bin/python benchmarks/national_incremental.py [--memory-limit 8GB] [--data-dir DIR] [--scale 1.0]
        [--out benchmarks/results/national_incremental.json]

Without --data-dir a national data set is generated (scale 1.0: 1.44 M records, 10 M registry persons). On
an empty warehouse the benchmark runs, one after the other, each as `python -m orchestration.run` in its own
process with DuckDB's memory limit and spill directory set: every unit; one central ministry (`bo-noi-vu`) and
Hà Nội, each forced to run (`--force`: the cost of a unit's run on its extract); every unit again with no new
file anywhere (the run finds that nothing is new and skips every unit). For each: seconds, peak resident
memory of the process tree, the link step's own figures (records Splink scored, scores reused, registry rows
loaded) and the Dagster step durations.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import duckdb
from national_memory import generate_unless_given, run_national
from results_file import write_result

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# (name, units, force): the one-unit runs are forced, so that they measure what a unit's run costs when
# its new extract arrives, not the check that finds nothing new; the last run is what a scheduled run
# with nothing new anywhere costs.
SEQUENCE = (("all_units", None, False), ("one_ministry", ["bo-noi-vu"], True), ("ha_noi", ["ha-noi"], True),
            ("nothing_new", None, False))
TARGETS_SECONDS = {"all_units": 360, "one_ministry": 30, "ha_noi": 60, "nothing_new": 15}


def step_seconds(log: Path) -> dict[str, float]:
    """Each Dagster step's duration, from the run's log ("Finished execution of step "x" in 1.2s")."""
    steps: dict[str, float] = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if "Finished execution of step" not in line:
            continue
        name = line.split('step "', 1)[1].split('"', 1)[0]
        text = line.rsplit(" in ", 1)[1].rstrip(".")
        seconds = float(text[:-2]) / 1000 if text.endswith("ms") else (
            float(text.split("m")[0]) * 60 + float(text.split("m")[1].rstrip("s") or 0) if "m" in text
            else float(text.rstrip("s")))
        steps[name] = round(steps.get(name, 0.0) + seconds, 2)
    return steps


def link_figures(data_dir: Path) -> dict:
    """The latest link materialization's own counts, from the Dagster instance."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["link", "record_links"]))
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
    keys = ("records", "records_scored_by_splink", "records_with_reused_scores", "registry_rows_loaded",
            "candidate_pairs_scored")
    return {key: metadata[key].value for key in keys if key in metadata}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memory-limit", default="8GB")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--code", default="", help="what code is measured (commit), for the result file")
    parser.add_argument("--out", type=Path,
                        default=PROJECT_ROOT / "benchmarks" / "results" / "national_incremental.json")
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT_ROOT))
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="cbccvc-national-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        generation = generate_unless_given(data_dir, args)
        for name, units, force in SEQUENCE:
            run = run_national(data_dir, args.memory_limit, units, name, force)
            run["steps_seconds"] = step_seconds(data_dir / f"{name}_run.log")
            if units or not runs:  # a run that skips every unit links nothing
                run["link"] = link_figures(data_dir)
            run.pop("log_tail", None)
            runs[name] = run
            print(name, json.dumps({k: run[k] for k in ("exit_code", "seconds", "peak_tree_rss_mib")}), flush=True)
            if run["exit_code"] != 0:
                break
        with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
            registry = con.execute("select count(*) from raw.registry").fetchall()[0][0]
    result = {
        "benchmark": "national_incremental",
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "code": args.code,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "duckdb_memory_limit": args.memory_limit,
        "data": generation or {"data_dir": str(args.data_dir)},
        "registry_persons": registry,
        "runs": runs,
        "targets_seconds": TARGETS_SECONDS,
        "meets_targets": {name: run["exit_code"] == 0 and run["seconds"] <= TARGETS_SECONDS[name]
                          for name, run in runs.items()},
        "peak_memory_target_mib": 8 * 1024,
    }
    write_result(result, args.out)
    return 0 if all(run["exit_code"] == 0 for run in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
