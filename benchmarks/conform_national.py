"""Ingest + conform at national scale: time and peak memory, beside DuckDB merely reading the same files.

    .venv/bin/python benchmarks/conform_national.py --data-dir DIR [--out benchmarks/results/conform_national.json]

DIR is a generated data set (`python -m synthetic --out DIR --scale 1.0 --seed 2025`).
The pipeline part materializes the ingest asset and every conform dbt model for all 62 units in one
Dagster run, in a fresh warehouse. The baseline reads every landing file once with DuckDB's own readers
(read_csv / read_json), counting rows; DuckDB has no offline XLSX reader, so XLSX files are listed as
not read by the baseline and their rows are left out of its count. Each part runs in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

from results_file import write_result

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _measured(script: str, env: dict[str, str]) -> dict:
    wrapper = textwrap.dedent("""
        import json, resource, time
        start = time.perf_counter()
        result = main()
        result["seconds"] = round(time.perf_counter() - start, 2)
        result["peak_memory_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps(result))
    """)
    completed = subprocess.run([sys.executable, "-c", script + wrapper], cwd=PROJECT_ROOT, env=env,
                               capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(completed.stderr[-3000:])
    return json.loads(completed.stdout.strip().splitlines()[-1])


PIPELINE = textwrap.dedent("""
    import dagster as dg, duckdb, os
    from orchestration.definitions import defs
    from orchestration.jobs import SHARED_INPUTS
    from orchestration.run import unit_run_tags
    from orchestration.units import unit_codes

    def main():
        assets = list(defs.assets)
        instance = dg.DagsterInstance.ephemeral()
        dg.materialize(assets, selection=SHARED_INPUTS, instance=instance, resources=defs.resources)
        conform = dg.AssetSelection.assets(["raw", "extracts"]) | dg.AssetSelection.groups("conform")
        result = dg.materialize(assets, selection=conform - SHARED_INPUTS, instance=instance,
                                resources=defs.resources, tags=unit_run_tags(unit_codes()))
        with duckdb.connect(os.environ["CBCCVC_WAREHOUSE"], read_only=True) as con:
            rows = con.execute("select count(*) from marts.fct_civil_servant_records").fetchall()[0][0]
            raw = con.execute("select count(*) from raw.extracts").fetchall()[0][0]
        return {"success": result.success, "raw_rows": raw, "conformed_rows": rows}
""")

BASELINE = textwrap.dedent("""
    import duckdb, os
    from pathlib import Path

    ENCODINGS = {"utf-16": "utf-16", "windows-1258": "latin-1", "tcvn3": "latin-1", "vni": "latin-1"}

    def main():
        con = duckdb.connect()
        landing = Path(os.environ["CBCCVC_DATA_DIR"]) / "landing"
        rows, read, skipped = 0, 0, []
        for path in sorted(landing.rglob("*")):
            if not path.is_file():
                continue
            suffix = path.suffix.lower()
            try:
                if suffix in (".csv", ".txt"):
                    rows += con.execute("select count(*) from read_csv(?, all_varchar = true, "
                                        "ignore_errors = true)", [str(path)]).fetchall()[0][0]
                elif suffix in (".json", ".jsonl"):
                    rows += con.execute("select count(*) from read_json_auto(?)", [str(path)]).fetchall()[0][0]
                else:
                    skipped.append(path.name)
                    continue
                read += 1
            except duckdb.Error:
                skipped.append(path.name)
        return {"files_read": read, "files_not_read": len(skipped), "rows_read": rows}
""")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "results" / "conform_national.json")
    parser.add_argument("--keep-warehouse", action="store_true", help="keep DIR/bench_conform.duckdb for linkage")
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    warehouse = data_dir / "bench_conform.duckdb"
    warehouse.unlink(missing_ok=True)
    env = {**os.environ, "CBCCVC_DATA_DIR": str(data_dir), "CBCCVC_WAREHOUSE": str(warehouse), "DO_NOT_TRACK": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    baseline = _measured(BASELINE, env)
    pipeline = _measured(PIPELINE, env)
    result = {
        "benchmark": "conform_national",
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        "data_dir_bytes": sum(p.stat().st_size for p in (data_dir / "landing").rglob("*") if p.is_file()),
        "pipeline_ingest_and_conform": pipeline,
        "duckdb_read_once": baseline,
        "ratio_pipeline_to_read_seconds": round(pipeline["seconds"] / baseline["seconds"], 2),
    }
    if not args.keep_warehouse:
        warehouse.unlink(missing_ok=True)
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
