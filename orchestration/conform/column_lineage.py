"""Column schema and column-level lineage for dbt assets, attached after dbt has finished.

dagster-dbt can fetch column metadata while dbt runs, but it does so through a second connection to
the warehouse, and DuckDB lets only one process hold the file: the dbt process has it until it exits,
so that metadata would be dropped. Instead the events are collected, dbt exits, and the columns of
each built model and of its parents are read from DuckDB's catalog; lineage is derived by
dagster-dbt's own sqlglot-based builder from the compiled SQL.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetMaterialization, Output, deserialize_value, get_dagster_logger, serialize_value
from dagster_dbt.asset_utils import default_metadata_from_dbt_resource_props
from dagster_dbt.core.dbt_cli_event import EventHistoryMetadata, _build_column_lineage_metadata
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

_COLUMNS_SQL = """
select table_schema, table_name, column_name, data_type
from information_schema.columns
order by table_schema, table_name, ordinal_position
"""


def _catalog(warehouse_path: str) -> dict[tuple[str, str], dict[str, dict[str, str]]]:
    columns: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    with duckdb.connect(warehouse_path, read_only=True) as con:
        for schema, table, column, data_type in con.execute(_COLUMNS_SQL).fetchall():
            columns.setdefault((schema, table), {})[column] = {"data_type": data_type}
    return columns


def _relation_columns(props: dict[str, Any], catalog: dict) -> dict[str, dict[str, str]]:
    identifier = props.get("identifier") if props["resource_type"] == "source" else props.get("alias")
    return catalog.get((props["schema"], identifier or props["name"]), {})


def _lineage_cache_key(props: dict[str, Any], columns: dict, parents: dict, macros: str) -> str:
    """Lineage depends on the model's code, the macros and the columns of it and its parents, not on the
    data or on the run's units: the same inputs give the same lineage, so sqlglot parses them once."""
    text = json.dumps([props.get("raw_code"), columns, parents, macros], sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _column_metadata(invocation: DbtCliInvocation, unique_id: str, catalog: dict, cache_dir: Path | None,
                     macros: str) -> dict[str, Any]:
    manifest = invocation.manifest
    props = manifest["nodes"][unique_id]
    columns = _relation_columns(props, catalog)
    if not columns:
        return {}
    metadata = dict(default_metadata_from_dbt_resource_props({"columns": columns}))
    parents = {}
    for parent_id in manifest["parent_map"].get(unique_id, []):
        parent = manifest["nodes"].get(parent_id) or manifest["sources"].get(parent_id)
        if parent and parent.get("relation_name"):
            parents[parent["relation_name"]] = _relation_columns(parent, catalog)
    cached = cache_dir / f"{_lineage_cache_key(props, columns, parents, macros)}.json" if cache_dir else None
    if cached is not None and cached.exists():
        metadata.update(deserialize_value(cached.read_text(encoding="utf-8"), dict))
        return metadata
    try:
        lineage = dict(_build_column_lineage_metadata(
            event_history_metadata=EventHistoryMetadata(columns=columns, parents=parents),
            dbt_resource_props=props,
            manifest=manifest,
            dagster_dbt_translator=invocation.dagster_dbt_translator,
            target_path=invocation.target_path,
            project=invocation.project,
        ))
        metadata.update(lineage)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(serialize_value(lineage), encoding="utf-8")
    except Exception as error:  # lineage is documentation: a parse failure must not fail the build
        # sqlglot's message names columns and relations, never values: it says which column failed.
        get_dagster_logger().warning(f"No column lineage for {unique_id}: {type(error).__name__}: {error}")
    return metadata


def with_column_metadata(invocation: DbtCliInvocation, warehouse_path: str, cache_dir: Path | None = None,
                         macros_fingerprint: str = "") -> Iterator[Any]:
    """Replay the invocation's events once dbt has exited, with column schema and lineage attached; the
    lineage of unchanged models comes from `cache_dir`."""
    events: Iterable[Any] = list(invocation.stream())
    catalog = _catalog(warehouse_path)
    for event in events:
        unique_id = getattr(event, "metadata", {}).get("unique_id")
        if isinstance(event, Output | AssetMaterialization) and unique_id is not None:
            extra = _column_metadata(invocation, unique_id.text, catalog, cache_dir, macros_fingerprint)
            if extra:
                event = event.with_metadata({**event.metadata, **extra})
        yield event
