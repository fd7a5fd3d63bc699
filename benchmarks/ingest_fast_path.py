"""Ingest with the fast path, with the Python readers only, and DuckDB's plain read of the same files.

    .venv/bin/python benchmarks/ingest_fast_path.py [--data-dir DIR] [--scale 0.1] [--seed 7] [--repeats 3]
        [--out benchmarks/results/ingest_fast_path.json]

Without --data-dir, a data set is generated first (scale 0.1: about 144,000 records) in a temporary
directory. In one process, each of three ways runs --repeats times (the median is reported): (a) load_unit
for all 62 units forcing the Python readers, (b) load_unit with the fast path, each into a fresh in-memory
warehouse, and (c) DuckDB's own read_csv / read_json of each unit's current file into a table, nothing
else. XLSX has no DuckDB reader, so (c) leaves those files out; (a) and (b) read them with the Python reader.
The ratios fast/plain and python/plain are of seconds. The whole ingest includes what the fast path leaves to
the Python readers (XLSX, legacy encodings, JSON), so the same three are also timed on the files that take the
fast path alone, each loaded as the only file of its unit.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb
from national_memory import generate_unless_given
from results_file import write_result

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".csv", ".txt", ".json", ".jsonl"}


def current_files(landing: Path) -> list[Path]:
    """The file each unit's load takes as current: the newest dated one that loads (from a Python-path load)."""
    from orchestration.ingest.extracts import load_unit
    from orchestration.units import unit_codes
    from orchestration.warehouse import ensure_warehouse

    with duckdb.connect() as con:
        ensure_warehouse(con)
        loads = [load_unit(con, landing, unit, "probe", force_python_path=True) for unit in unit_codes()]
    return [load.loaded.path for load in loads if load.loaded is not None]


def load_all_units(landing: Path, force_python_path: bool) -> dict:
    """Seconds and rows of one ingest of every unit into a fresh in-memory warehouse."""
    from orchestration.ingest.extracts import load_unit
    from orchestration.units import unit_codes
    from orchestration.warehouse import ensure_warehouse

    with duckdb.connect() as con:
        ensure_warehouse(con)
        started = time.perf_counter()
        for unit in unit_codes():
            load_unit(con, landing, unit, "bench", force_python_path=force_python_path)
        seconds = time.perf_counter() - started
        rows = con.execute("SELECT count(*) FROM raw.extracts").fetchall()[0][0]
    return {"seconds": seconds, "rows": rows}


def _plain_read_sql(path: Path) -> str:
    quoted = "'" + str(path).replace("'", "''") + "'"
    if path.suffix.lower() in (".json", ".jsonl"):
        return f"SELECT * FROM read_json({quoted}, format='auto')"
    return f"SELECT * FROM read_csv({quoted}, all_varchar=true)"


def plain_duckdb_read(files: list[Path]) -> dict:
    """DuckDB reading each text file into a table, with its own sniffing and nothing else."""
    readable = [f for f in files if f.suffix.lower() in TEXT_SUFFIXES]
    rows, failed = 0, []
    with duckdb.connect() as con:
        started = time.perf_counter()
        for path in readable:
            try:
                con.execute(f"CREATE OR REPLACE TABLE plain_read AS {_plain_read_sql(path)}")
                rows += con.execute("SELECT count(*) FROM plain_read").fetchall()[0][0]
            except duckdb.Error:
                failed.append(path.name)  # e.g. a Windows-1258 file: DuckDB reads UTF-8 and UTF-16 only
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": rows, "files": len(readable) - len(failed), "files_failed": failed}


def file_seconds(files: list[Path], force_python_path: bool) -> float:
    """Seconds to turn each file into its rows for raw.extracts, one file at a time."""
    from orchestration.ingest.extracts import _file_rows
    from orchestration.ingest.landing import landing_file
    from orchestration.limits import DEFAULT_LIMITS
    from orchestration.warehouse import ensure_warehouse

    total = 0.0
    with duckdb.connect() as con:
        ensure_warehouse(con)
        for path in files:
            file = landing_file(path, path.parents[2])
            started = time.perf_counter()
            _file_rows(con, file, "bench", datetime.now(), DEFAULT_LIMITS, force_python_path)
            total += time.perf_counter() - started
    return total


def median_run(measure, repeats: int) -> dict:
    runs = [measure() for _ in range(repeats)]
    seconds = [run["seconds"] for run in runs] if isinstance(runs[0], dict) else runs
    result = dict(runs[0]) if isinstance(runs[0], dict) else {}
    result["seconds"] = round(statistics.median(seconds), 2)
    result["runs"] = [round(s, 2) for s in seconds]
    return result


def fast_path_files(files: list[Path]) -> list[Path]:
    from orchestration.ingest.fast_path import duckdb_cells
    from orchestration.limits import DEFAULT_LIMITS

    taken = []
    with duckdb.connect() as con:
        for path in files:
            with duckdb_cells(con, path, DEFAULT_LIMITS) as cells:
                if cells is not None:
                    taken.append(path)
    return taken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "results" / "ingest_fast_path.json")
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT_ROOT))
    with tempfile.TemporaryDirectory(prefix="cbccvc-ingest-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        generation = generate_unless_given(data_dir, args)
        landing = data_dir / "landing"
        files = current_files(landing)
        python = median_run(lambda: load_all_units(landing, True), args.repeats)
        fast = median_run(lambda: load_all_units(landing, False), args.repeats)
        plain = median_run(lambda: plain_duckdb_read(files), args.repeats)
        taken = fast_path_files(files)
        python_own = median_run(lambda: file_seconds(taken, True), args.repeats)
        fast_own = median_run(lambda: file_seconds(taken, False), args.repeats)
        plain_own = median_run(lambda: plain_duckdb_read(taken), args.repeats)
    result = {
        "benchmark": "ingest_fast_path",
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__},
        "data_dir": str(args.data_dir) if args.data_dir else None,
        "generation": generation,
        "current_files": len(files),
        "current_files_on_fast_path": len(taken),
        "python_path": python,
        "fast_path": fast,
        "duckdb_plain_read": plain,
        "fast_path_files_only": {
            "files": len(taken), "rows": plain_own["rows"], "python_path": python_own, "fast_path": fast_own,
            "duckdb_plain_read": plain_own,
            "fast_over_plain": round(fast_own["seconds"] / plain_own["seconds"], 2),
            "python_over_plain": round(python_own["seconds"] / plain_own["seconds"], 2),
            "python_over_fast": round(python_own["seconds"] / fast_own["seconds"], 2),
        },
        "ratios": {
            "fast_over_plain": round(fast["seconds"] / plain["seconds"], 2),
            "python_over_plain": round(python["seconds"] / plain["seconds"], 2),
            "python_over_fast": round(python["seconds"] / fast["seconds"], 2),
        },
        "same_rows": python["rows"] == fast["rows"],
    }
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
