"""The Dagster code location: every layer's assets and checks, and the resources, assembled once."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.audit.assets import trail_report
from orchestration.conform.assets import conform_models, record_flag_models, reference_seeds
from orchestration.conform.project import dbt_project
from orchestration.ingest.assets import landing_inventory, linkage_labels, raw_extracts, raw_registry
from orchestration.jobs import retrain_job, shared_inputs_job, unit_pipeline_job
from orchestration.link.assets import record_links, splink_model
from orchestration.publish.assets import civil_servants, exports, feedback_workbooks
from orchestration.quality.assets import gate_results, scorecard
from orchestration.quality.linkage import linkage_quality
from orchestration.quality.ranking import ranking_models
from orchestration.resources import PipelineSettings
from orchestration.schedules import shared_inputs_schedule, unit_schedules
from orchestration.sensors import new_extracts

# The dbt installed beside this interpreter, whether or not the virtual environment is activated.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

defs = dg.Definitions(
    assets=[
        raw_extracts, landing_inventory, raw_registry, linkage_labels,
        reference_seeds, conform_models,
        splink_model, record_links,
        record_flag_models, linkage_quality, gate_results, scorecard, ranking_models,
        civil_servants, feedback_workbooks, exports,
        trail_report,
    ],
    jobs=[unit_pipeline_job, shared_inputs_job, retrain_job],
    schedules=[shared_inputs_schedule, *unit_schedules],
    sensors=[new_extracts],
    # Every step needs the one warehouse slot: one process per run, not one per step (docs/operations.md).
    executor=dg.in_process_executor,
    resources={
        "settings": PipelineSettings.from_environment_variables(),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    },
)
