"""Ingest assets: each unit's current extract (one partition per unit) and the registry snapshot."""


from datetime import datetime

import dagster as dg

from orchestration.asset_defaults import unit_asset, warehouse_asset
from orchestration.ingest.extracts import load_unit
from orchestration.ingest.landing import landing_file, unknown_unit_folders
from orchestration.resources import WarehouseResource
from orchestration.units import unit_codes
from orchestration.warehouse import ensure_warehouse


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
def raw_extracts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    loads = []
    with warehouse.connect() as con:
        ensure_warehouse(con)
        for unit_code in context.partition_keys:
            load = load_unit(con, warehouse.landing_path, unit_code, context.run.run_id)
            loads.append(load)
            for rejection in load.rejections:
                context.log.warning(f"{unit_code}: rejected {rejection.file.relative_path}: {rejection.reason_code}")
            if load.loaded is None:
                context.log.warning(f"{unit_code}: no readable extract; the unit keeps its last good data")
    return dg.MaterializeResult(
        metadata={
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
def landing_inventory(warehouse: WarehouseResource) -> dg.MaterializeResult:
    known = set(unit_codes())
    folders = unknown_unit_folders(warehouse.landing_path, known)
    now = datetime.now()
    with warehouse.connect() as con:
        ensure_warehouse(con)
        con.execute("DELETE FROM quarantine.files WHERE reason_code = 'unknown_unit'")
        for folder in folders:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                file = landing_file(path, warehouse.data_path)
                con.execute(
                    "INSERT INTO quarantine.files VALUES (?, ?, ?, 'unknown_unit', ?, 'inventory', ?)",
                    [folder.name, file.relative_path, file.sha256,
                     f"{path.name}: folder '{folder.name}' is not one of the 62 source unit codes", now],
                )
    return dg.MaterializeResult(metadata={"unknown_unit_folders": [folder.name for folder in folders]})


@warehouse_asset(
    key=["raw", "registry"],
    group_name="ingest",
    kinds={"duckdb", "parquet"},
    description="The population registry snapshot (reference data owned by the registry), from registry/*.parquet.",
)
def raw_registry(warehouse: WarehouseResource) -> dg.MaterializeResult:
    files = sorted(warehouse.registry_path.glob("*.parquet"))
    if not files:
        raise dg.Failure(f"No registry snapshot: expected Parquet files in {warehouse.registry_path}")
    with warehouse.connect() as con:
        ensure_warehouse(con)
        con.execute(
            "CREATE OR REPLACE TABLE raw.registry AS SELECT * FROM read_parquet(?, union_by_name = true)",
            [[str(f) for f in files]],
        )
        persons = con.execute("SELECT count(*) FROM raw.registry").fetchall()[0][0]
    return dg.MaterializeResult(metadata={"persons": persons, "files": len(files)})
