"""How long the synthetic generator takes, and how much memory it needs, at national scale.

    .venv/bin/python benchmarks/generate_national.py [--scale 1.0] [--data-dir DIR] [--seed 2025]
        [--out benchmarks/results/generate_national.json]

Runs ``python -m synthetic`` in a fresh process (imports included) into ``--data-dir``
(default: a temporary directory, deleted afterwards) and measures the wall time and the peak resident
memory of that process: the kernel's high-water mark (``VmHWM``) sampled while it runs, and the peak
RSS the kernel reports for the finished child (``getrusage(RUSAGE_CHILDREN).ru_maxrss``); the larger
is reported. Also counts records, registry persons, files and bytes written. The result for each
scale is stored under ``runs`` in the JSON file, keyed by scale, so runs at several scales coexist;
the targets (national scale: <= 900 s and <= 8 GiB) are checked at scale 1.0.
"""

from __future__ import annotations

import argparse
import json
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

import pyarrow.parquet as pq

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULT = PROJECT_ROOT / "benchmarks" / "results" / "generate_national.json"
TARGETS = {"seconds": 900, "peak_rss_mib": 8 * 1024}
AS_OF = date(2026, 11, 15)
SAMPLE_SECONDS = 0.2


def _high_water_kib(pid: int) -> int:
    """The process's peak resident set so far (VmHWM, KiB), 0 once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _sample_peak(process: subprocess.Popen, peak: list[int]) -> None:
    while process.poll() is None:
        peak[0] = max(peak[0], _high_water_kib(process.pid))
        time.sleep(SAMPLE_SECONDS)


def run_generator(data_dir: Path, scale: float, seed: int) -> dict:
    """Generate into ``data_dir`` in a child process; wall time and peak memory of that process."""
    command = [sys.executable, "-m", "synthetic", "--out", str(data_dir), "--scale", str(scale),
               "--seed", str(seed), "--as-of", AS_OF.isoformat()]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    sampler = threading.Thread(target=_sample_peak, args=(process, peak), daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"generator failed:\n{stderr[-3000:]}")
    rusage_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return {"seconds": round(seconds, 1), "peak_rss_mib": round(max(peak[0], rusage_kib) / 1024, 1),
            "peak_rss_sampled_mib": round(peak[0] / 1024, 1), "peak_rss_rusage_mib": round(rusage_kib / 1024, 1),
            "generator_output": stdout.strip()}


def measure_output(data_dir: Path) -> dict:
    """Records, registry persons, files and bytes under the data directory."""
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    registry = sorted((data_dir / "registry").glob("*.parquet"))
    landing = [p for p in files if "landing" in p.relative_to(data_dir).parts]
    return {
        "records": pq.ParquetFile(data_dir / "truth" / "records.parquet").metadata.num_rows,
        "registry_persons": sum(pq.ParquetFile(p).metadata.num_rows for p in registry),
        "registry_files": len(registry),
        "landing_files": len(landing),
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "landing_bytes": sum(p.stat().st_size for p in landing),
    }


def _save(result: dict, path: Path) -> None:
    """Store the run under its scale, keeping the runs at other scales."""
    previous = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    runs = previous.get("runs", {})
    runs[str(result["scale"])] = result
    document = {"benchmark": "generate_national", "targets_at_scale_1": TARGETS,
                "runs": dict(sorted(runs.items(), key=lambda item: float(item[0])))}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the generated data here")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cbccvc-national-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        run = run_generator(data_dir, args.scale, args.seed)
        output = measure_output(data_dir)
    result = {
        "scale": args.scale,
        "seed": args.seed,
        "as_of": AS_OF.isoformat(),
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        **output,
        **run,
    }
    if args.scale == 1.0:
        result["meets_targets"] = run["seconds"] <= TARGETS["seconds"] and run["peak_rss_mib"] <= TARGETS[
            "peak_rss_mib"]
    _save(result, args.out)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
