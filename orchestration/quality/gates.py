"""Great Expectations gates: per unit, the input-quality suites on its records and the integrity gates on
its extract as a whole; one national checkpoint.

Two different things, kept apart: the four criterion suites (correct, sufficient, clean, living) measure
what a unit *sent* and never block; the integrity suite decides whether the extract as a set can be
trusted, and a unit that fails it is held as a whole (docs/quality-gates.md).

GX's SQL path is unreliable against DuckDB in GX 1.24 (results read after the connection closes; no
regex for the duckdb dialect), so each unit's records are read from DuckDB into a small pandas batch
and validated there. Never more than one unit is in memory at a time; the national checkpoint reads
one row per unit.

The GX context is a file context under ``<data_dir>/gx``: validation results accumulate there run after
run, and the Data Docs site (``<data_dir>/reports/gx_data_docs``) lists them all.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from orchestration.resources import EXPECTATIONS_DIR

CRITERIA = ("correct", "sufficient", "clean", "living")
INTEGRITY_SUITE = "integrity"
NATIONAL_SUITE = "national"
SUITES_DIR = EXPECTATIONS_DIR / "suites"
DATA_DOCS_SITE = "quality_gates"
# Unexpected values would be personal data (IDs, names): results keep counts and shares only.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0, "include_unexpected_rows": False}

# The columns the input-quality suites read, one unit at a time: the dbt view quality.gate_unit_batch.
_UNIT_BATCH_SQL = "select * exclude (unit_code) from quality.gate_unit_batch where unit_code = $unit"

_INTEGRITY_BATCH_SQL = "select * from quality.extract_integrity where unit_code = $unit"

# The previous accepted snapshot of a unit: the latest publication from another load than the current one.
_PREVIOUS_ACCEPTED_ROWS_SQL = """
select arg_max(rows_read, decided_at)
from published.snapshots
where unit_code = $unit and outcome = 'published'
  and load_id <> (select any_value(load_id) from marts.fct_civil_servant_records where unit_code = $unit)
"""

# The national checkpoint's batch: one row per source unit of the seed, present or not.
_NATIONAL_BATCH_SQL = """
with extracts as (
    select unit_code, max(extract_date) as extract_date, count(*) as records
    from marts.fct_civil_servant_records group by all
),
links as (
    select unit_code, avg(case when decision = 'auto_link' then 1.0 else 0.0 end) as link_rate
    from link.record_links group by all
),
latest_gate_runs as (
    select unit_code, max(evaluated_at) as evaluated_at from quality.gate_results group by all
),
latest_gates as (
    select unit_code, count(*) filter (where blocking and not success) as gates_failed
    from quality.gate_results
    join latest_gate_runs using (unit_code, evaluated_at)
    group by all
),
timeliness as (
    select unit_code, on_time_share as changes_on_time_share from quality.unit_change_timeliness
)
select
    u.unit_code,
    u.kind,
    extracts.unit_code is not null as has_current_extract,
    date_diff('day', extracts.extract_date, cast($as_of as date)) as extract_age_days,
    coalesce(extracts.records, 0) as records,
    links.link_rate,
    latest_gates.gates_failed,
    timeliness.changes_on_time_share
from reference.ref_source_units u
left join extracts using (unit_code)
left join links using (unit_code)
left join latest_gates using (unit_code)
left join timeliness using (unit_code)
order by u.unit_code
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
    gate: str | None = None  # the integrity gate an expectation belongs to (its suite meta "gate")


def load_suite_definitions(suites_dir: Path = SUITES_DIR, names: tuple[str, ...] = CRITERIA) -> dict[str, dict]:
    return {name: json.loads((suites_dir / f"{name}.json").read_text(encoding="utf-8")) for name in names}


def unit_batch(con: duckdb.DuckDBPyConnection, unit_code: str) -> pd.DataFrame:
    """The unit's records as its criterion suites read them (the view's as-of date is CBCCVC_AS_OF or today,
    as `as_of_date` here)."""
    return con.sql(_UNIT_BATCH_SQL, params={"unit": unit_code}).df()


def national_batch(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    return con.sql(_NATIONAL_BATCH_SQL, params={"as_of": as_of}).df()


def integrity_batch(con: duckdb.DuckDBPyConnection, unit_code: str) -> pd.DataFrame:
    """The unit's one row of quality.extract_integrity (the measures of its extract as a whole)."""
    return con.sql(_INTEGRITY_BATCH_SQL, params={"unit": unit_code}).df()


def previous_accepted_rows(con: duckdb.DuckDBPyConnection, unit_code: str) -> int | None:
    return con.sql(_PREVIOUS_ACCEPTED_ROWS_SQL, params={"unit": unit_code}).fetchall()[0][0]


def row_count_parameters(previous: int | None, band: dict[str, float]) -> dict[str, Any]:
    """The suite parameter bounding a unit's row count below by its previous accepted snapshot.

    Without a previous accepted snapshot (a unit's first publication) any non-empty extract passes. There is
    no upper bound: a unit that merged with another can legitimately double its roster.
    """
    if previous is None:
        return {"row_count_min": 1}
    return {"row_count_min": max(1, int(previous * band["min_ratio"]))}


class GateRunner:
    """A GX context holding one checkpoint over the four criterion suites and one national checkpoint.

    With `project_dir`, the context is a file context there and results feed the Data Docs site at
    `docs_dir`; without it (tests of the suites alone) the context is ephemeral.
    """

    def __init__(
        self,
        suite_definitions: dict[str, dict] | None = None,
        project_dir: Path | None = None,
        docs_dir: Path | None = None,
    ):
        self.suite_definitions = suite_definitions or load_suite_definitions()
        self.national_definition = load_suite_definitions(names=(NATIONAL_SUITE,))[NATIONAL_SUITE]
        self.integrity_definition = load_suite_definitions(names=(INTEGRITY_SUITE,))[INTEGRITY_SUITE]
        self.project_dir = project_dir
        self.docs_dir = docs_dir
        self.result_ids: list[Any] = []

    @property
    def row_count_band(self) -> dict[str, float]:
        return self.integrity_definition["meta"]["row_count_band"]

    @property
    def integrity_gates(self) -> tuple[str, ...]:
        return integrity_gates(self.integrity_definition)

    @cached_property
    def context(self):
        import great_expectations as gx

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        if self.project_dir is None:
            context = gx.get_context(mode="ephemeral")
        else:
            context = gx.get_context(mode="file", project_root_dir=str(self.project_dir))
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        if self.docs_dir is not None:
            _point_data_docs_at(context, self.docs_dir)
        return context

    def _checkpoint(self, name: str, asset_name: str, definitions: dict[str, dict]):
        import great_expectations as gx

        batch = _dataframe_batch_definition(self.context, asset_name)
        validations = []
        for suite_name, definition in definitions.items():
            suite = self.context.suites.add_or_update(gx.ExpectationSuite(**definition))
            validations.append(self.context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=f"{asset_name}.{suite_name}", data=batch, suite=suite)
            ))
        return self.context.checkpoints.add_or_update(
            gx.Checkpoint(name=name, validation_definitions=validations, result_format=RESULT_FORMAT)
        )

    @cached_property
    def unit_checkpoint(self):
        return self._checkpoint("unit_gates", "unit_records", self.suite_definitions)

    @cached_property
    def integrity_checkpoint(self):
        return self._checkpoint("unit_integrity", "unit_extracts", {INTEGRITY_SUITE: self.integrity_definition})

    @cached_property
    def national_checkpoint(self):
        return self._checkpoint("national_gate", "units", {NATIONAL_SUITE: self.national_definition})

    def run(self, unit_code: str, batch: pd.DataFrame, run_name: str = "adhoc") -> list[ExpectationOutcome]:
        """Validate one unit's records against the four input-quality suites."""
        result = self.unit_checkpoint.run(
            batch_parameters={"dataframe": batch}, run_id=_run_identifier(f"{run_name}.{unit_code}"),
        )
        return self._outcomes(unit_code, result, self.suite_definitions)

    def run_integrity(
        self, unit_code: str, batch: pd.DataFrame, parameters: dict[str, Any] | None = None, run_name: str = "adhoc"
    ) -> list[ExpectationOutcome]:
        """Validate one unit's integrity row; `parameters` fill the suite's $PARAMETERs (the row-count floor)."""
        parameters = {"row_count_min": 1, **(parameters or {})}
        result = self.integrity_checkpoint.run(
            batch_parameters={"dataframe": batch}, expectation_parameters=parameters,
            run_id=_run_identifier(f"{run_name}.{unit_code}.integrity"),
        )
        return self._outcomes(unit_code, result, {INTEGRITY_SUITE: self.integrity_definition})

    def run_national(self, batch: pd.DataFrame, run_name: str = "adhoc") -> list[ExpectationOutcome]:
        result = self.national_checkpoint.run(
            batch_parameters={"dataframe": batch}, run_id=_run_identifier(f"{run_name}.national")
        )
        return self._outcomes("national", result, {NATIONAL_SUITE: self.national_definition})

    def _outcomes(self, unit_code: str, result, definitions: dict[str, dict]) -> list[ExpectationOutcome]:
        outcomes = []
        for identifier, validation in result.run_results.items():
            self.result_ids.append(identifier)
            criterion = validation.suite_name
            blocking = bool(definitions[criterion]["meta"].get("blocking", True))
            for item in validation.results:
                config = item.expectation_config
                outcomes.append(ExpectationOutcome(
                    unit_code=unit_code,
                    criterion=criterion,
                    expectation=config.type,
                    column=config.kwargs.get("column"),
                    blocking=blocking,
                    success=bool(item.success),
                    observed=_observed(item.result),
                    gate=(config.meta or {}).get("gate"),
                ))
        return outcomes

    def build_data_docs(self) -> Path | None:
        """Render this runner's validation results into the Data Docs site; returns the site's index page."""
        if self.docs_dir is None or not self.result_ids:
            return None
        self.context.build_data_docs(site_names=[DATA_DOCS_SITE], resource_identifiers=self.result_ids)
        return self.docs_dir / "index.html"


def integrity_gates(definition: dict) -> tuple[str, ...]:
    """The integrity suite's gates, in the order of their first expectation."""
    return tuple(dict.fromkeys(e["meta"]["gate"] for e in definition["expectations"]))


def hold_reasons(
    definition: dict, outcomes: list[ExpectationOutcome], measures: dict[str, Any], previous_rows: int | None
) -> dict[str, str]:
    """Gate -> the Vietnamese sentence a unit reads on why its extract is held, with the measure and its bound."""
    failed = {(o.gate, o.column) for o in outcomes if o.gate and not o.success}
    band = definition["meta"]["row_count_band"]
    reasons: dict[str, str] = {}
    for expectation in definition["expectations"]:
        gate, column = expectation["meta"]["gate"], expectation["kwargs"]["column"]
        if (gate, column) not in failed:
            continue
        values = {**measures, **expectation["kwargs"], "min_ratio": band["min_ratio"], "previous_rows": previous_rows}
        sentence = expectation["meta"]["reason_vi"].format(**values)
        reasons[gate] = f"{reasons[gate]} {sentence}" if gate in reasons else sentence
    return reasons


def _point_data_docs_at(context, docs_dir: Path) -> None:
    """One local Data Docs site, in the reports folder beside the feedback workbooks."""
    site = {
        "class_name": "SiteBuilder",
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
    }
    sites = context.get_site_names()
    if "local_site" in sites:
        context.delete_data_docs_site("local_site")
    if DATA_DOCS_SITE in sites:
        context.update_data_docs_site(DATA_DOCS_SITE, site)
    else:
        context.add_data_docs_site(DATA_DOCS_SITE, site)


def _dataframe_batch_definition(context, asset_name: str):
    """A whole-dataframe batch definition on the one pandas data source, created once per context."""
    try:
        source = context.data_sources.get("warehouse_batches")
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas("warehouse_batches")
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition("whole")
    except KeyError:
        return asset.add_batch_definition_whole_dataframe("whole")


def _run_identifier(run_name: str):
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name=run_name)


def _observed(result: dict) -> str:
    """A short, non-personal summary of what GX observed (counts and shares, never values)."""
    if "observed_value" in result and not isinstance(result["observed_value"], list | dict):
        return f"observed {result['observed_value']}"
    if "unexpected_percent" in result:
        return f"{result.get('unexpected_count', 0)} of {result.get('element_count', 0)} unexpected " \
               f"({(result.get('unexpected_percent') or 0):.2f} %)"
    return ""
