"""The dbt docs site (one static HTML page) in the reports folder, and deep links into it.

Generated with the shared inputs, not in every unit run: the site documents models, columns, tests
and lineage, which change with the code, not with the data (hence `--empty-catalog`: no row
statistics, and no second reader holding the warehouse).
"""

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dagster import AssetMaterialization, MetadataValue, Output
from dagster_dbt import DbtCliResource

DOCS_PAGE = "static_index.html"


def generate_dbt_docs(dbt: DbtCliResource, docs_dir: Path) -> Path:
    """Write the self-contained dbt docs page under `docs_dir` and return its path."""
    dbt.cli(["docs", "generate", "--static", "--empty-catalog"], target_path=docs_dir).wait()
    return docs_dir / DOCS_PAGE


def docs_link(page: MetadataValue, unique_id: str) -> MetadataValue:
    """A link to one model's (or seed's) page of the docs site, given the link to the site's page."""
    kind = unique_id.split(".", 1)[0]
    return MetadataValue.url(f"{page.value}#!/{kind}/{unique_id}")


def with_docs_links(events: Iterable[Any], page: MetadataValue) -> Iterator[Any]:
    """Add a `dbt_docs` link to each materialization of a dbt model."""
    for event in events:
        unique_id = getattr(event, "metadata", {}).get("unique_id")
        if isinstance(event, Output | AssetMaterialization) and unique_id is not None:
            event = event.with_metadata({**event.metadata, "dbt_docs": docs_link(page, unique_id.text)})
        yield event
