"""Shared fixtures: a small generated national data set and one full pipeline run over it.

Everything is real: files on disk, DuckDB, dbt, Splink, Great Expectations and Dagster runs in process.
"""

import csv
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from synthetic import generate

AS_OF = date(2026, 11, 15)
SMALL_SCALE = 0.002  # every unit gets its minimum of 50 records: about 3,100 records in all
REGISTRY_SIZE = 8000
TEST_TOKEN_KEY = "test-key"  # the person-token key the test pipelines publish with


@dataclass
class PipelineData:
    data_dir: Path
    warehouse: Path
    instance: dg.DagsterInstance

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: list | None = None):
        return self.query(sql, params)[0][0]


def _point_environment_at(data_dir: Path) -> dict[str, str | None]:
    settings = {
        "CBCCVC_DATA_DIR": str(data_dir),
        "CBCCVC_WAREHOUSE": str(data_dir / "warehouse.duckdb"),
        "CBCCVC_AS_OF": AS_OF.isoformat(),
        "CBCCVC_TOKEN_KEY": TEST_TOKEN_KEY,
        "DO_NOT_TRACK": "1",
    }
    previous = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    return previous


def _restore_environment(previous: dict[str, str | None]) -> None:
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextmanager
def pipeline_environment(data_dir: Path) -> Iterator[dg.DagsterInstance]:
    """The pipeline's environment pointed at `data_dir`, and a fresh Dagster instance, for one block."""
    previous = _point_environment_at(data_dir)
    instance = dg.DagsterInstance.ephemeral()
    try:
        yield instance
    finally:
        instance.dispose()
        _restore_environment(previous)


@pytest.fixture(scope="session")
def generated_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("national")
    generate(out, scale=SMALL_SCALE, seed=11, registry_size=REGISTRY_SIZE, as_of=AS_OF)
    return out


@pytest.fixture(scope="session")
def pipeline(generated_data) -> Iterator[PipelineData]:
    """The whole pipeline, all 62 units, run once over the generated data set."""
    from orchestration.run import run_pipeline
    from orchestration.units import unit_codes

    with pipeline_environment(generated_data) as instance:
        run_pipeline(unit_codes(), instance)
        yield PipelineData(generated_data, generated_data / "warehouse.duckdb", instance)


def truth_files(data_dir: Path) -> list[dict]:
    """The generator's truth about every landing file (kind: current, older, stale_current, ...)."""
    with (data_dir / "truth" / "files.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def ordinary_units(data_dir: Path, count: int) -> list[str]:
    """`count` neighbouring provinces (adjacent partitions, so one run) whose files carry no whole-file defect."""
    from orchestration.units import source_units

    unusual = {row["unit_code"] for row in truth_files(data_dir) if row["kind"] not in ("current", "older")}
    provinces = [u.unit_code for u in source_units() if u.kind == "province"]
    for start in range(len(provinces) - count + 1):
        window = provinces[start:start + count]
        if not set(window) & unusual:
            return window
    raise AssertionError(f"no {count} neighbouring ordinary provinces in the generated data")


def resend_extract(unit_dir: Path, change: Callable[[list[str], list[list]], list[list]]) -> Path:
    """A newer extract of the unit, as a plain CSV: its newest file's rows, changed by `change(headers, rows)`.

    Dated the as-of day; "_resent" sorts after "_extract" on the same day, so it becomes the current file.
    """
    from orchestration.ingest.readers import read_extract

    extract = read_extract(max(p for p in unit_dir.iterdir() if p.name[:4].isdigit()))
    target = unit_dir / f"{AS_OF.isoformat()}_resent.csv"
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(extract.headers)
        writer.writerows(change(extract.headers, extract.rows))
    return target


def swap_birth_date_and_sex(headers: list[str], rows: list[list]) -> list[list]:
    """A broken export: date of birth and sex values exchanged under their headers on every row."""
    from orchestration.columns import canonical_column
    from synthetic.bad_files import SWAPPED_COLUMNS, swap_cells

    columns = [canonical_column(h) for h in headers]
    return swap_cells(rows, *(columns.index(column) for column in SWAPPED_COLUMNS))


def run_dbt_build(warehouse: Path, select: str, *options: str) -> subprocess.CompletedProcess:
    """`dbt build --select SELECT [OPTIONS]` of the project on `warehouse`, its own dbt tests included."""
    env = {**os.environ, "CBCCVC_WAREHOUSE": str(warehouse), "DO_NOT_TRACK": "1",
           "CBCCVC_DUCKDB_TEMP_DIR": str(warehouse.parent / "duckdb_tmp")}
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--select", select, "--profiles-dir", ".",
         "--target-path", str(warehouse.parent / "target"), *options],
        cwd=Path(__file__).resolve().parents[1] / "dbt_project", env=env, capture_output=True, text=True,
        timeout=600,
    )


def dbt_build(warehouse: Path, select: str, *options: str) -> None:
    """`run_dbt_build`, failing the test when dbt fails."""
    build = run_dbt_build(warehouse, select, *options)
    assert build.returncode == 0, build.stdout[-4000:]
