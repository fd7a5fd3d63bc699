"""Ingest assets: each unit's current extract (one partition per unit) and the registry snapshot."""


from datetime import datetime

import dagster as dg

from orchestration.asset_defaults import unit_asset, warehouse_asset
from orchestration.ingest.extracts import load_unit
from orchestration.ingest.labels import labels_file, replace_linkage_labels
from orchestration.ingest.landing import display_text, landing_file, unknown_unit_folders
from orchestration.ingest.registry import (
    RegistryContractError,
    check_registry_files,
    check_registry_values,
    loaded_snapshot_id,
    registry_snapshot_id,
)
from orchestration.resources import PipelineSettings
from orchestration.unit_errors import UnitErrors
from orchestration.units import unit_codes
from orchestration.warehouse import ensure_warehouse, transaction


@unit_asset(
    key=["raw", "extracts"],
    group_name="ingest",
    kinds={"duckdb", "python"},
    description=(
        "Each unit's current extract (its newest readable landing file), one row per data row, as text, "
        "with lineage: source file, SHA-256, row number, load id (the run id) and load time. "
        "Unusable files go to quarantine.files with a reason."
    ),
)
def raw_extracts(
    context: dg.AssetExecutionContext, settings: PipelineSettings
) -> dg.MaterializeResult:
    loads = []
    errors = UnitErrors("ingest", context.run.run_id, context.log)
    limits = settings.limits()
    with settings.connect() as con:
        ensure_warehouse(con)
        for unit_code in context.partition_keys:
            load = errors.attempt(
                unit_code, lambda unit=unit_code: load_unit(con, settings.landing_path, unit, context.run.run_id,
                                                            limits))
            if load is None:
                continue
            loads.append(load)
            for rejection in load.rejections:
                context.log.warning(f"{unit_code}: rejected {rejection.file.relative_path}: {rejection.reason_code}")
            if load.loaded is None:
                context.log.warning(f"{unit_code}: no readable extract; the unit keeps its last good data")
        errors.record(con, list(context.partition_keys))
    return dg.MaterializeResult(
        metadata={
            **errors.metadata(),
            "units": len(loads),
            "units_loaded": sum(1 for load in loads if load.loaded),
            "rows_loaded": sum(load.row_count for load in loads),
            "files_rejected": sum(len(load.rejections) for load in loads),
            "unknown_columns": sorted({c for load in loads for c in load.unknown_columns})[:50],
        }
    )


@warehouse_asset(
    key=["raw", "landing_inventory"],
    group_name="ingest",
    kinds={"duckdb", "python"},
    description="Scans the landing area for folders that are not one of the 62 units and reports their files.",
)
def landing_inventory(settings: PipelineSettings) -> dg.MaterializeResult:
    known = set(unit_codes())
    folders = unknown_unit_folders(settings.landing_path, known)
    now = datetime.now()
    with settings.connect() as con:
        ensure_warehouse(con)
        con.execute("DELETE FROM quarantine.files WHERE reason_code = 'unknown_unit'")
        for folder in folders:
            for path in sorted(p for p in folder.rglob("*") if p.is_symlink() or p.is_file()):
                file = landing_file(path, settings.data_path)  # a link or a pipe is listed, never opened
                con.execute(
                    "INSERT INTO quarantine.files VALUES (?, ?, ?, 'unknown_unit', ?, 'inventory', ?)",
                    [display_text(folder.name), file.relative_path, file.sha256,
                     f"{file.display_name}: folder '{display_text(folder.name)}' is not one of the 62 source "
                     "unit codes", now],
                )
    return dg.MaterializeResult(metadata={"unknown_unit_folders": [folder.name for folder in folders]})


@warehouse_asset(
    key=["raw", "linkage_labels"],
    group_name="ingest",
    kinds={"duckdb", "parquet"},
    description=(
        "Evaluation labels: records whose true registry person is known, from labels/linkage.parquet or, in the "
        "generator's data sets, truth/records.parquet (source_file, source_row, true_so_dinh_danh). Linkage "
        "precision and recall are measured on them (quality/linkage_metrics); without a file the table is empty "
        "and both are unknown."
    ),
)
def linkage_labels(settings: PipelineSettings) -> dg.MaterializeResult:
    path = labels_file(settings.data_path)
    with settings.connect() as con:
        ensure_warehouse(con)
        labelled = replace_linkage_labels(con, path)
    return dg.MaterializeResult(metadata={"labelled_records": labelled, "file": str(path) if path else "none"})


@warehouse_asset(
    key=["raw", "registry"],
    group_name="ingest",
    kinds={"duckdb", "parquet"},
    description="The population registry snapshot (reference data owned by the registry), from registry/*.parquet.",
)
def raw_registry(settings: PipelineSettings) -> dg.MaterializeResult:
    files = sorted(settings.registry_path.glob("*.parquet"))
    if not files:
        raise dg.Failure(f"No registry snapshot: expected Parquet files in {settings.registry_path}")
    snapshot_id = registry_snapshot_id(files)
    with settings.connect() as con:
        ensure_warehouse(con)
        if loaded_snapshot_id(con) == snapshot_id:
            # The registry is sent a few times a year; reloading 10 M persons costs every run a minute.
            persons = con.execute("SELECT count(*) FROM raw.registry").fetchall()[0][0]
            return dg.MaterializeResult(metadata={
                "persons": persons, "files": len(files), "snapshot_id": snapshot_id, "reloaded": False})
        try:
            check_registry_files(con, files)
            # Loaded beside the current snapshot and swapped in only once it meets the contract.
            con.execute("CREATE OR REPLACE TABLE raw.registry_incoming AS "
                        "SELECT *, ? AS registry_snapshot_id FROM read_parquet(?, union_by_name = true)",
                        [snapshot_id, [str(f) for f in files]])
            check_registry_values(con, "raw.registry_incoming")
        except RegistryContractError as error:
            con.execute("DROP TABLE IF EXISTS raw.registry_incoming")
            raise dg.Failure(str(error)) from None
        with transaction(con):
            con.execute("DROP TABLE IF EXISTS raw.registry")
            con.execute("ALTER TABLE raw.registry_incoming RENAME TO registry")
        persons = con.execute("SELECT count(*) FROM raw.registry").fetchall()[0][0]
    return dg.MaterializeResult(
        metadata={"persons": persons, "files": len(files), "snapshot_id": snapshot_id, "reloaded": True})
