"""dbt assets: reference seeds, the conform models, and the record-flag model of the quality layer.

All units that run together are conformed in one dbt invocation (dbt costs seconds to start). The conform
and record-flag models are incremental per unit: the run's units reach dbt as the var `units`
(orchestration/conform/dbt_vars.py) and only their rows are read and replaced; a change to the models
rebuilds them whole.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.asset_defaults import SINGLE_RUN, WAREHOUSE_POOL
from orchestration.conform.column_lineage import with_column_metadata
from orchestration.conform.dbt_vars import dbt_build_args, dbt_vars
from orchestration.conform.docs import DOCS_PAGE, generate_dbt_docs, project_fingerprint, with_docs_links
from orchestration.conform.project import dbt_project
from orchestration.conform.translator import CbccvcTranslator
from orchestration.resources import PipelineSettings
from orchestration.units import unit_codes, unit_partitions

CONFORM_SELECT = "path:models/staging path:models/intermediate path:models/marts"
# After linkage: the record flags, and what publication would do with each record.
QUALITY_SELECT = "path:models/marts/quality path:models/marts/publication"
# The monthly ranking reads the scorecard the gate step writes: built after it (orchestration/quality/ranking.py).
RANKING_SELECT = "path:models/marts/ranking"


# dagster-dbt adds the asset selection itself; tests run once every parent they read is built.
DBT_BUILD = ["build", "--indirect-selection", "buildable"]
SEEDS_FINGERPRINT = "seeds_fingerprint"
MODELS_FINGERPRINT = "models_fingerprint"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="resource_type:seed",
    name="reference_seeds",
    dagster_dbt_translator=CbccvcTranslator(),
    pool=WAREHOUSE_POOL,
)
def reference_seeds(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: PipelineSettings
) -> Iterator[Any]:
    fingerprint = project_fingerprint(Path(dbt.project_dir), folders=("seeds",))
    if seeds_already_loaded(context, settings, fingerprint):
        # Reference lists change a few times a year; reloading them costs every run several seconds.
        context.log.info("Reference seeds unchanged since their last load: not reloaded")
        events: list[Any] = [
            dg.MaterializeResult(asset_key=key, metadata={"reloaded": False, SEEDS_FINGERPRINT: fingerprint})
            for key in context.selected_asset_keys
        ]
    else:
        events = [
            event.with_metadata({**event.metadata, "reloaded": True, SEEDS_FINGERPRINT: fingerprint})
            if isinstance(event, dg.Output) else event
            for event in dbt.cli(DBT_BUILD, context=context).stream()
        ]
    # After the seeds, so that dbt has released the warehouse before the docs read it.
    generate_dbt_docs(dbt, dbt_docs_dir(settings))
    yield from with_docs_links(events, dbt_docs_page(settings))


def seeds_already_loaded(context: dg.AssetExecutionContext, settings: PipelineSettings, fingerprint: str) -> bool:
    """True when every selected seed was last loaded from these very files and its table is still there."""
    return already_built(context, settings, fingerprint, SEEDS_FINGERPRINT)


def built_from(context: dg.AssetExecutionContext, fingerprint: str, metadata_key: str) -> bool:
    """True when every selected dbt node was last built from files of this fingerprint (recorded under
    `metadata_key` in its materialization)."""
    for key in context.selected_asset_keys:
        event = context.instance.get_latest_materialization_event(key)
        metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
        recorded = metadata.get(metadata_key)
        if recorded is None or recorded.value != fingerprint:
            return False
    return True


def already_built(
    context: dg.AssetExecutionContext, settings: PipelineSettings, fingerprint: str, metadata_key: str
) -> bool:
    """True when every selected dbt node was last built from files of this fingerprint and its relation is
    still in the warehouse."""
    if not built_from(context, fingerprint, metadata_key):
        return False
    with settings.connect() as con:
        tables = {tuple(row) for row in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
    return all(tuple(key.path[-2:]) in tables for key in context.selected_asset_keys)


def dbt_docs_dir(settings: PipelineSettings) -> Path:
    return settings.reports_path / "dbt_docs"


def dbt_docs_page(settings: PipelineSettings) -> dg.MetadataValue:
    return settings.report_link(dbt_docs_dir(settings) / DOCS_PAGE)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=CONFORM_SELECT,
    exclude=f"{QUALITY_SELECT} {RANKING_SELECT}",
    name="conform_models",
    partitions_def=unit_partitions,
    backfill_policy=SINGLE_RUN,
    dagster_dbt_translator=CbccvcTranslator(),
    pool=WAREHOUSE_POOL,
)
def conform_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: PipelineSettings
) -> Iterator[Any]:
    yield from per_unit_build(context, dbt, settings)


def per_unit_build(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: PipelineSettings,
                   ) -> Iterator[Any]:
    """`dbt build` of the selected models for the run's units only, whole when the models changed."""
    fingerprint = project_fingerprint(Path(dbt.project_dir), folders=("models", "macros"))
    full_refresh = not built_from(context, fingerprint, MODELS_FINGERPRINT)
    variables = dbt_vars(context.partition_keys, unit_codes())
    context.log.info(f"dbt build for {len(variables.get('units', unit_codes()))} unit(s)"
                     + ("; models changed: full refresh" if full_refresh else ""))
    invocation = dbt.cli(dbt_build_args(DBT_BUILD, variables, full_refresh), context=context)
    events = (event.with_metadata({**event.metadata, MODELS_FINGERPRINT: fingerprint})
              if isinstance(event, dg.Output) else event
              for event in with_column_metadata(invocation, settings.warehouse_path,
                                                settings.data_path / "dbt_lineage_cache", fingerprint))
    yield from with_docs_links(events, dbt_docs_page(settings))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=QUALITY_SELECT,
    name="record_flag_models",
    partitions_def=unit_partitions,
    backfill_policy=SINGLE_RUN,
    dagster_dbt_translator=CbccvcTranslator(),
    pool=WAREHOUSE_POOL,
)
def record_flag_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: PipelineSettings
) -> Iterator[Any]:
    yield from per_unit_build(context, dbt, settings)
