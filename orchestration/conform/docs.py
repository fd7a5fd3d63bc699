"""The dbt docs site (one static HTML page) in the reports folder, and deep links into it.

Generated with the shared inputs, not in every unit run: the site documents models, columns, tests
and lineage, which change with the code, not with the data (hence `--empty-catalog`: no row
statistics, and no second reader holding the warehouse).
"""

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dagster import AssetMaterialization, MetadataValue, Output
from dagster_dbt import DbtCliResource

DOCS_PAGE = "static_index.html"


def generate_dbt_docs(dbt: DbtCliResource, docs_dir: Path) -> Path:
    """Write the self-contained dbt docs page under `docs_dir` unless it is already up to date with the
    project's files (dbt takes seconds to start, and most runs change data, not code); return its path."""
    page, stamp = docs_dir / DOCS_PAGE, docs_dir / ".project_fingerprint"
    fingerprint = project_fingerprint(Path(dbt.project_dir))
    if page.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == fingerprint:
        return page
    dbt.cli(["docs", "generate", "--static", "--empty-catalog"], target_path=docs_dir).wait()
    stamp.write_text(fingerprint, encoding="utf-8")
    return page


def project_fingerprint(
    project_dir: Path, folders: tuple[str, ...] = ("models", "macros", "seeds", "tests", "snapshots")
) -> str:
    """SHA-256 over the dbt project's own files in `folders`, and its dbt_project.yml."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted((project_dir / folder).rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(project_dir).as_posix().encode())
                digest.update(path.read_bytes())
    digest.update((project_dir / "dbt_project.yml").read_bytes())
    return digest.hexdigest()


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
