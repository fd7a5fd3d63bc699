"""Settings and resources, configured from the environment.

One data directory (``CBCCVC_DATA_DIR``) holds the landing area, the registry snapshot and, by default,
the DuckDB warehouse (``CBCCVC_WAREHOUSE``). dbt's ``profiles.yml`` reads the same warehouse variable,
so Dagster and dbt always write to one file.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import BetaWarning, ConfigurableResource, MetadataValue

from orchestration.limits import LIMIT_VARIABLES, ExtractLimits

# Single-run backfills (all units in one run) are marked beta; they are the design, not an experiment.
warnings.filterwarnings("ignore", category=BetaWarning)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

# Demo default only: a real deployment sets its own secret key (see README).
UNSAFE_DEMO_TOKEN_KEY = "cbccvc-demo-key-NOT-FOR-PRODUCTION"


# How long a connection waits for a warehouse lock held by another process before it gives up.
DEFAULT_LOCK_WAIT_SECONDS = 120


def default_memory_limit() -> str:
    """Half the machine's memory for DuckDB: the rest is for Python (Splink, GX, workbooks) and the OS."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, total // 2 // 1024**3)}GB"


def duckdb_settings() -> dict[str, str]:
    """DuckDB's memory limit and spill directory, for every connection (warehouse, scratch, dbt's profile):
    work larger than the limit spills to the directory instead of being killed."""
    data_dir = Path(os.environ.get("CBCCVC_DATA_DIR", PROJECT_ROOT / "data"))
    return {"memory_limit": os.environ.get("CBCCVC_DUCKDB_MEMORY_LIMIT") or default_memory_limit(),
            "temp_directory": os.environ.get("CBCCVC_DUCKDB_TEMP_DIR") or str(data_dir / "duckdb_tmp")}


def configure_duckdb(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    for name, value in duckdb_settings().items():
        con.execute(f"SET {name} = ?", [value])
    return con


def is_lock_conflict(error: duckdb.Error) -> bool:
    return "lock" in str(error).lower() and "conflicting" in str(error).lower()


def connect_waiting(path: str, read_only: bool = False, wait_seconds: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting while another process holds its lock (one writer at a time).

    Gives up after ``CBCCVC_LOCK_WAIT_SECONDS`` with `WarehouseBusy`, a one-line reason.
    """
    limit = float(os.environ.get("CBCCVC_LOCK_WAIT_SECONDS", DEFAULT_LOCK_WAIT_SECONDS)
                  if wait_seconds is None else wait_seconds)
    deadline = time.monotonic() + limit
    pause = 0.2
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as error:
            if not is_lock_conflict(error):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"the warehouse {path} is in use by another process (a run in progress) and stayed locked "
                    f"for {limit:.0f} s; try again when the run has finished"
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


class WarehouseBusy(RuntimeError):
    """The warehouse stayed locked by another process for longer than the wait allowed."""


def apply_environment_defaults() -> None:
    """Fill the pipeline's environment variables with their documented defaults."""
    data_dir = Path(os.environ.setdefault("CBCCVC_DATA_DIR", str(PROJECT_ROOT / "data"))).resolve()
    os.environ["CBCCVC_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("CBCCVC_WAREHOUSE", str(data_dir / "warehouse.duckdb"))
    os.environ.setdefault("CBCCVC_TOKEN_KEY", UNSAFE_DEMO_TOKEN_KEY)
    os.environ.setdefault("CBCCVC_DUCKDB_MEMORY_LIMIT", default_memory_limit())
    os.environ.setdefault("CBCCVC_DUCKDB_TEMP_DIR", str(data_dir / "duckdb_tmp"))
    os.environ.setdefault("CBCCVC_LOCK_WAIT_SECONDS", str(DEFAULT_LOCK_WAIT_SECONDS))
    for variable, default, _ in LIMIT_VARIABLES.values():
        os.environ.setdefault(variable, str(default))
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


class WarehouseResource(ConfigurableResource):
    """The data directory and the one DuckDB warehouse file every layer writes to."""

    data_dir: str
    warehouse_path: str

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def landing_path(self) -> Path:
        return self.data_path / "landing"

    @property
    def registry_path(self) -> Path:
        return self.data_path / "registry"

    @property
    def reports_path(self) -> Path:
        return self.data_path / "reports"

    def report_link(self, path: Path) -> MetadataValue:
        """A link for asset metadata to a file under reports/.

        Over HTTP when CBCCVC_REPORTS_URL names a server of the reports folder (`make ui` starts one, since
        browsers do not follow file links from the Dagster UI's page); otherwise the file's own URI.
        """
        base = os.environ.get("CBCCVC_REPORTS_URL")
        if base:
            relative = Path(path).resolve().relative_to(self.reports_path.resolve()).as_posix()
            return MetadataValue.url(f"{base.rstrip('/')}/{relative}")
        return MetadataValue.url(Path(path).resolve().as_uri())

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.warehouse_path).parent.mkdir(parents=True, exist_ok=True)
        con = configure_duckdb(connect_waiting(self.warehouse_path))
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def scratch(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory database for work tables (Splink's), under the same memory limit and spill directory."""
        con = configure_duckdb(duckdb.connect())
        try:
            yield con
        finally:
            con.close()


class IngestSettings(ConfigurableResource):
    """The limits on what one landing file may be (orchestration/limits.py), from the environment."""

    max_file_mb: int
    max_rows: int
    max_workbook_mb: int
    max_nesting_depth: int

    def limits(self) -> ExtractLimits:
        mib = 1024 * 1024
        return ExtractLimits(self.max_file_mb * mib, self.max_rows, self.max_workbook_mb * mib,
                             self.max_nesting_depth)


class LinkageSettings(ConfigurableResource):
    """Decision thresholds for record linkage; the key that makes reviewers' candidate references."""

    token_key: str
    auto_link_threshold: float = 0.99
    review_threshold: float = 0.50
    # The best candidate must beat the runner-up by this many match-weight points (log2 odds) to auto-link.
    margin_weight: float = 5.0


class PublishSettings(ConfigurableResource):
    """The keyed-hash secret for person tokens; never logged."""

    token_key: str
