"""Settings and resources, configured from the environment.

One data directory (``CBCCVC_DATA_DIR``) holds the landing area, the registry snapshot and, by default,
the DuckDB warehouse (``CBCCVC_WAREHOUSE``). dbt's ``profiles.yml`` reads the same warehouse variable,
so Dagster and dbt always write to one file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import BetaWarning, ConfigurableResource, MetadataValue

# Single-run backfills (all units in one run) are marked beta; they are the design, not an experiment.
warnings.filterwarnings("ignore", category=BetaWarning)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

# Demo default only: a real deployment sets its own secret key (see README).
UNSAFE_DEMO_TOKEN_KEY = "cbccvc-demo-key-NOT-FOR-PRODUCTION"


def apply_environment_defaults() -> None:
    """Fill the pipeline's environment variables with their documented defaults."""
    data_dir = Path(os.environ.setdefault("CBCCVC_DATA_DIR", str(PROJECT_ROOT / "data"))).resolve()
    os.environ["CBCCVC_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("CBCCVC_WAREHOUSE", str(data_dir / "warehouse.duckdb"))
    os.environ.setdefault("CBCCVC_TOKEN_KEY", UNSAFE_DEMO_TOKEN_KEY)
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
        con = duckdb.connect(self.warehouse_path)
        try:
            yield con
        finally:
            con.close()


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
