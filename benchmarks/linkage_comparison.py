"""Linkage side by side on one data set: this pipeline vs an exact-ID join (the status quo) vs the
`recordlinkage` toolkit. Time, peak memory and precision / recall / F1 against the generator's truth.

    .venv/bin/python benchmarks/linkage_comparison.py [--records 20000] [--registry 200000]
        [--out benchmarks/results/linkage_comparison.json]

The data set is generated, then ingested and conformed by the pipeline itself; all three methods read
the same conformed inputs. Each method runs in its own process so its peak memory is its own. The
toolkit needs pandas < 3, so it gets its own virtual environment (benchmarks/.venv-recordlinkage).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from datetime import date, datetime
from pathlib import Path

from results_file import write_result

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NATIONAL_RECORDS = 1_436_507
TOOLKIT_VENV = PROJECT_ROOT / "benchmarks" / ".venv-recordlinkage"
TOOLKIT_PINS = ["recordlinkage==0.16", "pandas==2.3.3", "pyarrow==26.0.1"]
AS_OF = date(2026, 11, 15)


def _env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CBCCVC_DATA_DIR": str(data_dir),
        "CBCCVC_WAREHOUSE": str(data_dir / "warehouse.duckdb"),
        "CBCCVC_AS_OF": AS_OF.isoformat(),
        "DO_NOT_TRACK": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a method's process; it prints 'seconds peak_mib [extra]' on its last line."""
    completed = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"{command[:3]} failed:\n{completed.stderr[-3000:]}")
    seconds, peak, *extra = completed.stdout.strip().splitlines()[-1].split()
    return float(seconds), float(peak), " ".join(extra)


def prepare(data_dir: Path, records: int, registry: int) -> None:
    """Generate the data set and run ingest and conform (the pipeline's own code) over it."""
    sys.path.insert(0, str(PROJECT_ROOT))
    from synthetic import generate

    generate(data_dir, scale=records / NATIONAL_RECORDS, seed=7, registry_size=registry, as_of=AS_OF)
    script = textwrap.dedent("""
        import dagster as dg
        from orchestration.definitions import defs
        from orchestration.jobs import SHARED_INPUTS
        from orchestration.run import unit_run_tags
        from orchestration.units import unit_codes
        assets = list(defs.assets)
        instance = dg.DagsterInstance.ephemeral()
        dg.materialize(assets, selection=SHARED_INPUTS, instance=instance, resources=defs.resources)
        conform = dg.AssetSelection.assets(["raw", "extracts"]) | dg.AssetSelection.groups("conform")
        dg.materialize(assets, selection=conform - SHARED_INPUTS, instance=instance, resources=defs.resources,
                       tags=unit_run_tags(unit_codes()))
    """)
    subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=_env(data_dir), check=True,
                   capture_output=True)


def export_inputs(data_dir: Path) -> None:
    """The model's view of records and registry, as Parquet for the methods outside the pipeline."""
    script = textwrap.dedent(f"""
        import duckdb
        from orchestration.link.linkage import load_training_inputs, MODEL_COLUMNS
        from orchestration.units import unit_codes
        work = duckdb.connect()
        with duckdb.connect({str(data_dir / 'warehouse.duckdb')!r}, read_only=True) as wh:
            load_training_inputs(work, wh, unit_codes())
        cols = ", ".join(c for c in MODEL_COLUMNS)
        work.execute(f"copy (select {{cols}} from training_records) to {str(data_dir / 'records.parquet')!r}")
        work.execute(f"copy (select {{cols}} from training_registry) to {str(data_dir / 'registry.parquet')!r}")
    """)
    subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=_env(data_dir), check=True)


def run_pipeline_linkage(data_dir: Path) -> tuple[float, float, str]:
    script = textwrap.dedent(f"""
        import resource, time, duckdb, pyarrow as pa
        from pathlib import Path
        from orchestration.link.linkage import link_units
        from orchestration.link.model import ModelStore
        from orchestration.units import unit_codes
        from orchestration.warehouse import ensure_warehouse
        start = time.perf_counter()
        empty = pa.table({{"record_id": pa.array([], pa.string()), "registry_id": pa.array([], pa.string()),
                          "decision": pa.array([], pa.string())}})
        with duckdb.connect({str(data_dir / 'warehouse.duckdb')!r}) as con:
            ensure_warehouse(con)
            out = link_units(con, unit_codes(), ModelStore(Path({str(data_dir / 'bench_model')!r})), "bench",
                             0.99, 0.5, 5.0, empty)
            con.execute("copy (select source_file || '#' || source_row as record_id, so_dinh_danh as registry_id "
                        "from link.record_links where decision = 'auto_link') "
                        "to {str(data_dir / 'pipeline.parquet')!r}")
        print(f"{{time.perf_counter() - start:.3f}} {{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}} "
              f"{{out.predictions}}")
    """)
    return _run_measured([sys.executable, "-c", script], _env(data_dir))


def run_exact_id(data_dir: Path) -> tuple[float, float, str]:
    script = textwrap.dedent(f"""
        import resource, time, duckdb
        start = time.perf_counter()
        con = duckdb.connect()
        con.execute("copy (select r.unique_id as record_id, g.unique_id as registry_id "
                    "from read_parquet({str(data_dir / 'records.parquet')!r}) r "
                    "join read_parquet({str(data_dir / 'registry.parquet')!r}) g on r.so_dinh_danh = g.so_dinh_danh) "
                    "to {str(data_dir / 'exact_id.parquet')!r}")
        print(f"{{time.perf_counter() - start:.3f}} {{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}}")
    """)
    return _run_measured([sys.executable, "-c", script], _env(data_dir))


def toolkit_python() -> Path:
    python = TOOLKIT_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLKIT_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *TOOLKIT_PINS], check=True)
    return python


def run_recordlinkage(data_dir: Path) -> tuple[float, float, str]:
    command = [str(toolkit_python()), str(PROJECT_ROOT / "benchmarks" / "recordlinkage_baseline.py"),
               str(data_dir / "records.parquet"), str(data_dir / "registry.parquet"),
               str(data_dir / "recordlinkage.parquet")]
    return _run_measured(command, dict(os.environ))


def accuracy(data_dir: Path, links_file: str) -> dict[str, float]:
    import duckdb

    truth = data_dir / "truth" / "records.parquet"
    with duckdb.connect() as con:
        correct, linked, in_registry = con.execute(f"""
            with t as (select source_file || '#' || source_row as record_id, true_so_dinh_danh
                       from read_parquet('{truth}')
                       where source_file || '#' || source_row in
                             (select unique_id from read_parquet('{data_dir / "records.parquet"}')))
            select
                (select count(*) from read_parquet('{data_dir / links_file}') l join t using (record_id)
                 where l.registry_id = t.true_so_dinh_danh),
                (select count(*) from read_parquet('{data_dir / links_file}')),
                (select count(true_so_dinh_danh) from t)
        """).fetchall()[0]
    precision = correct / linked if linked else 0.0
    recall = correct / in_registry if in_registry else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"links": linked, "precision": round(precision, 5), "recall": round(recall, 5), "f1": round(f1, 5)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--registry", type=int, default=200_000)
    parser.add_argument("--out", type=Path,
                        default=PROJECT_ROOT / "benchmarks" / "results" / "linkage_comparison.json")
    parser.add_argument("--keep", type=Path, help="keep the data set here instead of a temporary folder")
    args = parser.parse_args()
    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="linkage-bench-"))
    try:
        prepare(data_dir, args.records, args.registry)
        export_inputs(data_dir)
        methods = {}
        for name, runner, links in (
            ("pipeline_cascade_splink", run_pipeline_linkage, "pipeline.parquet"),
            ("exact_id_join", run_exact_id, "exact_id.parquet"),
            ("recordlinkage_ecm", run_recordlinkage, "recordlinkage.parquet"),
        ):
            seconds, peak, extra = runner(data_dir)
            methods[name] = {"seconds": seconds, "peak_memory_mib": peak, **accuracy(data_dir, links)}
            if extra:
                methods[name]["candidate_pairs"] = int(extra)
        base = methods["pipeline_cascade_splink"]
        result = {
            "benchmark": "linkage_comparison",
            "measured_at": datetime.now().isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count()},
            "data": {"records_target": args.records, "registry_persons": args.registry},
            "methods": methods,
            "ratios_to_pipeline": {
                name: {"seconds": round(m["seconds"] / base["seconds"], 3), "f1": round(m["f1"] / base["f1"], 4)}
                for name, m in methods.items()
            },
        }
        write_result(result, args.out)
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
