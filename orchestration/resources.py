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

import dagster as dg
import duckdb
from dagster import BetaWarning, ConfigurableResource, MetadataValue

from orchestration.limits import LIMIT_VARIABLES, MIB, ExtractLimits

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
    return PipelineSettings.from_environment().duckdb_settings()


def configure_duckdb(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return PipelineSettings.from_environment().configure(con)


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


# Setting -> the environment variable it is read from. The one list: the Dagster resource reads these
# variables (shown by name in the UI), and the command-line tools read the same ones.
ENVIRONMENT_VARIABLES = {
    "data_dir": "CBCCVC_DATA_DIR",
    "warehouse_path": "CBCCVC_WAREHOUSE",
    "token_key": "CBCCVC_TOKEN_KEY",
    "duckdb_memory_limit": "CBCCVC_DUCKDB_MEMORY_LIMIT",
    "duckdb_temp_dir": "CBCCVC_DUCKDB_TEMP_DIR",
    "reports_url": "CBCCVC_REPORTS_URL",
    "max_file_mb": LIMIT_VARIABLES["max_file_bytes"][0],
    "max_rows": LIMIT_VARIABLES["max_rows"][0],
    "max_workbook_mb": LIMIT_VARIABLES["max_workbook_bytes"][0],
    "max_nesting_depth": LIMIT_VARIABLES["max_nesting_depth"][0],
}
_INTEGER_SETTINGS = {"max_file_mb", "max_rows", "max_workbook_mb", "max_nesting_depth"}


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


class PipelineSettings(ConfigurableResource):
    """Every setting of the pipeline, in one resource read from the environment (ENVIRONMENT_VARIABLES):
    the data directory and the one DuckDB warehouse file every layer writes to, DuckDB's memory, the limits
    on a landing file, the linkage thresholds, the person-token key (never logged) and the reports' base URL.
    """

    data_dir: str
    warehouse_path: str
    token_key: str
    duckdb_memory_limit: str = ""  # empty: half the machine's memory
    duckdb_temp_dir: str = ""  # empty: <data_dir>/duckdb_tmp
    reports_url: str = ""  # empty: file links
    max_file_mb: int = LIMIT_VARIABLES["max_file_bytes"][1]
    max_rows: int = LIMIT_VARIABLES["max_rows"][1]
    max_workbook_mb: int = LIMIT_VARIABLES["max_workbook_bytes"][1]
    max_nesting_depth: int = LIMIT_VARIABLES["max_nesting_depth"][1]
    auto_link_threshold: float = 0.99
    review_threshold: float = 0.50
    # The best candidate must beat the runner-up by this many match-weight points (log2 odds) to auto-link.
    margin_weight: float = 5.0

    @classmethod
    def from_environment(cls) -> PipelineSettings:
        """The settings as the environment holds them now (command-line tools; the resource reads the same)."""
        values = {name: os.environ[variable] for name, variable in ENVIRONMENT_VARIABLES.items()
                  if os.environ.get(variable)}
        values.setdefault("data_dir", str(PROJECT_ROOT / "data"))
        values.setdefault("warehouse_path", str(Path(values["data_dir"]) / "warehouse.duckdb"))
        values.setdefault("token_key", "")
        return cls(**{name: int(value) if name in _INTEGER_SETTINGS else value for name, value in values.items()})

    @classmethod
    def from_environment_variables(cls) -> PipelineSettings:
        """The resource of the code location: each setting bound to its variable, read when a run starts."""
        optional = {"duckdb_memory_limit", "duckdb_temp_dir", "reports_url"}
        return cls(**{
            name: dg.EnvVar.int(variable) if name in _INTEGER_SETTINGS else dg.EnvVar(variable)
            for name, variable in ENVIRONMENT_VARIABLES.items()
            if name not in optional or os.environ.get(variable)
        })

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

    def limits(self) -> ExtractLimits:
        return ExtractLimits(self.max_file_mb * MIB, self.max_rows, self.max_workbook_mb * MIB,
                             self.max_nesting_depth)

    def duckdb_settings(self) -> dict[str, str]:
        return {"memory_limit": self.duckdb_memory_limit or default_memory_limit(),
                "temp_directory": self.duckdb_temp_dir or str(self.data_path / "duckdb_tmp")}

    def report_link(self, path: Path) -> MetadataValue:
        """A link for asset metadata to a file under reports/.

        Over HTTP when CBCCVC_REPORTS_URL names a server of the reports folder (`make ui` starts one, since
        browsers do not follow file links from the Dagster UI's page); otherwise the file's own URI.
        """
        if self.reports_url:
            relative = Path(path).resolve().relative_to(self.reports_path.resolve()).as_posix()
            return MetadataValue.url(f"{self.reports_url.rstrip('/')}/{relative}")
        return MetadataValue.url(Path(path).resolve().as_uri())

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            Path(self.warehouse_path).parent.mkdir(parents=True, exist_ok=True)
        con = connect_waiting(self.warehouse_path, read_only=read_only)
        try:
            yield self.configure(con)
        finally:
            con.close()

    @contextmanager
    def scratch(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory database for work tables (Splink's), under the same memory limit and spill directory."""
        con = self.configure(duckdb.connect())
        try:
            yield con
        finally:
            con.close()

    def configure(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        for name, value in self.duckdb_settings().items():
            con.execute(f"SET {name} = ?", [value])
        return con
