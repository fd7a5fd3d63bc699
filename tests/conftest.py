"""Shared fixtures: a small generated national data set and one full pipeline run over it.

Everything is real: files on disk, DuckDB, dbt, Splink, Great Expectations and Dagster runs in process.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.synthetic import generate

AS_OF = date(2026, 11, 15)
SMALL_SCALE = 0.002  # every unit gets its minimum of 50 records: about 3,100 records in all
REGISTRY_SIZE = 8000


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
        "CBCCVC_TOKEN_KEY": "test-key",
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
