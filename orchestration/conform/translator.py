"""Asset keys, groups, owners and kinds for dbt nodes, set in one place.

Keys mirror the relation a node builds: ``<schema>/<alias>`` (e.g. ``marts/fct_civil_servant_records``,
``quality/record_flags``); sources keep ``<source>/<table>`` so they meet the Python assets that write them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from orchestration.asset_defaults import OWNERS


class CbccvcTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_code_references=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        schema = dbt_resource_props["config"].get("schema") or dbt_resource_props["schema"]
        relation = dbt_resource_props.get("alias") or dbt_resource_props["name"]
        return AssetKey([schema, relation])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = set(dbt_resource_props.get("fqn", []))
        if {"quality", "ranking"} & fqn:
            return "quality"
        if "publication" in fqn:  # what publication would do with each record, read by the publish step
            return "publish"
        if "linkage" in fqn:  # the link layer's inputs, computed in the warehouse before Splink runs
            return "link"
        return "conform"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return OWNERS

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        return {"dagster/kind/duckdb": "", "dagster/kind/dbt": ""}
