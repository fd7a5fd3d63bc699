"""Linkage quality per unit and national, as the dbt view quality.linkage_metrics computes it.

    python -m orchestration.quality.linkage_report [--json OUT]

Precision and recall are measured on the records with an evaluation label (raw.linkage_labels: a reviewed
sample, or the generator's truth for its synthetic data sets); without labels they are unknown.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

from orchestration.resources import PipelineSettings, apply_environment_defaults

_ROWS_SQL = "select * from quality.linkage_metrics order by unit_code = 'national', unit_code"


def linkage_quality_rows(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """One row per unit and a last 'national' row."""
    result = con.execute(_ROWS_SQL)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def store_linkage_quality(con: duckdb.DuckDBPyConnection, load_id: str) -> None:
    """Keep this run's figures (link.linkage_quality), so progress shows over time."""
    con.execute("insert into link.linkage_quality by name "
                "select *, ? as load_id, now() as measured_at from quality.linkage_metrics", [load_id])


def _share(value: float | None, width: int, digits: int = 2) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}%}"


def print_report(rows: list[dict]) -> None:
    print(f"{'unit':<34}{'records':>8}{'link rate':>10}{'precision':>10}{'recall':>8}{'review':>8}"
          f"{'after review':>13}{'outsiders':>10}")
    for row in rows:
        print(f"{row['unit_code']:<34}{row['records']:>8}{_share(row['link_rate'], 10)}"
              f"{_share(row['precision'], 10, 3)}{_share(row['recall'], 8)}{_share(row['review_share'], 8)}"
              f"{_share(row['recall_after_review'], 13)}{_share(row['outsiders_linked_share'], 10)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    apply_environment_defaults()
    with PipelineSettings.from_environment().connect(read_only=True) as con:
        rows = linkage_quality_rows(con)
    print_report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
