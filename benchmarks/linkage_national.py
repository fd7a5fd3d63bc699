"""Linkage at national scale with a scaling curve: time, peak memory and accuracy per size.

    .venv/bin/python benchmarks/linkage_national.py --data-dir DIR [--sizes 100000,300000,1000000,all]

DIR is a generated national data set already ingested and conformed into DIR/bench_conform.duckdb (as
benchmarks/conform_national.py leaves it with --keep-warehouse) or DIR/warehouse.duckdb. For each size,
whole units are taken in partition order until the size is reached, and the pipeline's own
`link_units` links them against the full registry in a fresh process (peak memory is that process's).
The model is trained once, on the first size, and reused, as ordinary runs do.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

from results_file import write_result

PROJECT_ROOT = Path(__file__).resolve().parents[1]

LINK = textwrap.dedent("""
    import json, os, resource, subprocess, sys, time, duckdb, pyarrow as pa
    from pathlib import Path
    from orchestration.ingest.labels import replace_linkage_labels
    from orchestration.link.linkage import link_units
    from orchestration.link.model import ModelStore
    from orchestration.quality.linkage_report import linkage_quality_rows
    from orchestration.warehouse import ensure_warehouse

    warehouse, models, truth, units = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    empty = pa.table({"record_id": pa.array([], pa.string()), "registry_id": pa.array([], pa.string()),
                      "decision": pa.array([], pa.string())})
    start = time.perf_counter()
    with duckdb.connect(warehouse) as con:
        ensure_warehouse(con)
        con.execute("delete from link.record_links")  # accuracy is measured on this size's records only
        out = link_units(con, units, ModelStore(Path(models)), "bench", 0.99, 0.5, 5.0, empty)
        seconds = time.perf_counter() - start
        replace_linkage_labels(con, Path(truth))
    # The figures are the pipeline's own dbt view of them.
    subprocess.run([str(Path(sys.executable).parent / "dbt"), "run", "--select", "fct_linkage_metrics",
                    "--project-dir", "dbt_project", "--profiles-dir", "dbt_project"],
                   env={**os.environ, "CBCCVC_WAREHOUSE": warehouse}, check=True, capture_output=True)
    with duckdb.connect(warehouse, read_only=True) as con:
        national = linkage_quality_rows(con)[-1]
    print(json.dumps({
        "records": out.records, "seconds": round(seconds, 1), "model_trained": out.model_trained,
        "candidate_pairs": out.predictions, "stages": out.stages,
        "peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **{k: national[k] for k in ("precision", "recall", "review_share", "recall_after_review",
                                     "outsiders_linked_share")},
    }, default=str))
""")


def units_for_sizes(warehouse: Path, sizes: list[str]) -> list[tuple[str, list[str]]]:
    import duckdb

    sys.path.insert(0, str(PROJECT_ROOT))
    from orchestration.units import unit_codes

    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = dict(con.execute(
            "select unit_code, count(*) from marts.fct_civil_servant_records group by 1").fetchall())
    plans = []
    for size in sizes:
        chosen, total = [], 0
        for unit in unit_codes():
            if size != "all" and total >= int(size):
                break
            chosen.append(unit)
            total += counts.get(unit, 0)
        plans.append((size, chosen))
    return plans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--sizes", default="100000,300000,1000000,all")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "results" / "linkage_national.json")
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    source = next(p for p in (data_dir / "bench_conform.duckdb", data_dir / "warehouse.duckdb") if p.exists())
    models = data_dir / "bench_models"
    shutil.rmtree(models, ignore_errors=True)
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    runs = []
    for size, units in units_for_sizes(source, args.sizes.split(",")):
        completed = subprocess.run(
            [sys.executable, "-c", LINK, str(source), str(models), str(data_dir / "truth" / "records.parquet"),
             json.dumps(units)],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
        )
        if completed.returncode != 0:
            raise SystemExit(completed.stderr[-3000:])
        run = {"size": size, "units": len(units), **json.loads(completed.stdout.strip().splitlines()[-1])}
        runs.append(run)
        print(json.dumps(run), flush=True)
    largest = runs[-1]
    result = {
        "benchmark": "linkage_national",
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        "runs": runs,
        "seconds_per_million_records": [round(r["seconds"] / r["records"] * 1e6, 1) for r in runs],
        "targets": {"seconds": 1200, "peak_memory_mib": 16384},
        "meets_targets": largest["seconds"] <= 1200 and largest["peak_memory_mib"] <= 16384,
    }
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
