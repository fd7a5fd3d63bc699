"""Great Expectations gates, one checkpoint run per unit on that unit's records only.

GX's SQL path against DuckDB is unreliable in GX 1.24 (results read after the connection closes; no
regex for the duckdb dialect), so each unit's records are read from DuckDB into a small pandas batch
and validated there. Never more than one unit is in memory at a time.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.resources import EXPECTATIONS_DIR

CRITERIA = ("correct", "sufficient", "clean", "living")
SUITES_DIR = EXPECTATIONS_DIR / "suites"

# The columns the suites read: what the gates need and nothing more.
_UNIT_BATCH_SQL = """
select
    r.ma_ho_so, r.ho_va_ten, r.ngay_sinh, r.gioi_tinh, r.so_dinh_danh, r.loai, r.ma_ngach,
    l.decision,
    date_diff('day', r.extract_date, cast(? as date)) as extract_age_days,
    (reg.trang_thai = 'da_mat' and r.trang_thai = 'dang_cong_tac') as deceased_but_active
from marts.fct_civil_servant_records r
left join link.record_links l on l.source_file = r.source_file and l.source_row = r.source_row
left join marts.dim_registry_persons reg on reg.so_dinh_danh = l.so_dinh_danh
where r.unit_code = ?
"""


def as_of_date() -> date:
    """The date freshness is judged against: CBCCVC_AS_OF (YYYY-MM-DD) or today."""
    value = os.environ.get("CBCCVC_AS_OF")
    return date.fromisoformat(value) if value else date.today()


@dataclass(frozen=True)
class ExpectationOutcome:
    unit_code: str
    criterion: str
    expectation: str
    column: str | None
    blocking: bool
    success: bool
    observed: str


def load_suite_definitions(suites_dir: Path = SUITES_DIR) -> dict[str, dict]:
    return {c: json.loads((suites_dir / f"{c}.json").read_text(encoding="utf-8")) for c in CRITERIA}


class GateRunner:
    """An ephemeral GX context with one checkpoint over the four criterion suites."""

    def __init__(self, suite_definitions: dict[str, dict] | None = None):
        self.suite_definitions = suite_definitions or load_suite_definitions()

    @cached_property
    def checkpoint(self):
        import great_expectations as gx

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        batch = (
            context.data_sources.add_pandas("warehouse_batches")
            .add_dataframe_asset("unit_records")
            .add_batch_definition_whole_dataframe("one_unit")
        )
        validations = []
        for criterion, definition in self.suite_definitions.items():
            suite = context.suites.add(gx.ExpectationSuite(**definition))
            validations.append(
                context.validation_definitions.add(gx.ValidationDefinition(name=criterion, data=batch, suite=suite))
            )
        return context.checkpoints.add(gx.Checkpoint(name="unit_gates", validation_definitions=validations))

    def run(self, unit_code: str, batch: pd.DataFrame) -> list[ExpectationOutcome]:
        result = self.checkpoint.run(batch_parameters={"dataframe": batch})
        outcomes = []
        for validation in result.run_results.values():
            criterion = validation.suite_name
            blocking = bool(self.suite_definitions[criterion]["meta"].get("blocking", True))
            for item in validation.results:
                config = item.expectation_config
                outcomes.append(
                    ExpectationOutcome(
                        unit_code=unit_code,
                        criterion=criterion,
                        expectation=config.type,
                        column=config.kwargs.get("column"),
                        blocking=blocking,
                        success=bool(item.success),
                        observed=_observed(item.result),
                    )
                )
        return outcomes


def _observed(result: dict) -> str:
    """A short, non-personal summary of what GX observed (counts and shares, never values)."""
    if "observed_value" in result and not isinstance(result["observed_value"], list | dict):
        return f"observed {result['observed_value']}"
    if "unexpected_percent" in result:
        return f"{result.get('unexpected_count', 0)} of {result.get('element_count', 0)} unexpected " \
               f"({(result.get('unexpected_percent') or 0):.2f} %)"
    return ""


def unit_batch(con: duckdb.DuckDBPyConnection, unit_code: str, as_of: date) -> pd.DataFrame:
    return con.execute(_UNIT_BATCH_SQL, [as_of, unit_code]).df()
