"""Linkage quality against a truth table: per unit and national.

    python -m orchestration.link.quality_report [--data-dir DIR] [--json OUT]

Reads ``link.record_links`` from the warehouse and ``<data_dir>/truth/records.parquet`` (the synthetic
generator writes it; any data set with a truth table of source_file, source_row, true_so_dinh_danh works).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import duckdb

_TRUTH_SQL = """
    select l.unit_code, l.decision, l.match_status, l.so_dinh_danh, t.true_so_dinh_danh
    from link.record_links l
    join read_parquet(?) t using (source_file, source_row)
"""

# Without truth, precision and recall are unknown (null); the rest is computed from the links alone.
_NO_TRUTH_SQL = """
    select unit_code, decision, match_status, so_dinh_danh, null::varchar as true_so_dinh_danh
    from link.record_links
"""

_METRICS_SQL = """
with joined as ({source}),
grouped as (
    select
        coalesce(unit_code, 'national') as unit_code,
        count(*) as records,
        case when $has_truth then count(true_so_dinh_danh) end as in_registry,
        count(*) filter (decision = 'auto_link') as auto_links,
        case when $has_truth then count(*) filter (decision = 'auto_link' and so_dinh_danh = true_so_dinh_danh)
            end as auto_correct,
        count(*) filter (decision = 'review') as review,
        case when $has_truth then count(*) filter (decision = 'review' and so_dinh_danh = true_so_dinh_danh)
            end as review_correct,
        count(*) filter (decision = 'no_link') as no_link,
        case when $has_truth then count(*) filter (true_so_dinh_danh is null) end as not_in_registry,
        case when $has_truth then count(*) filter (true_so_dinh_danh is null and decision = 'auto_link')
            end as outsiders_linked,
        count(*) filter (match_status = 'matched') as status_matched,
        count(*) filter (match_status = 'id_wrong') as status_id_wrong,
        count(*) filter (match_status = 'name_differs') as status_name_differs,
        count(*) filter (match_status = 'dob_differs') as status_dob_differs,
        count(*) filter (match_status = 'not_found') as status_not_found
    from joined
    group by grouping sets ((unit_code), ())
)
select
    *,
    auto_links / records as link_rate,
    auto_correct / nullif(auto_links, 0) as precision,
    auto_correct / nullif(in_registry, 0) as recall,
    review / records as review_share,
    (auto_correct + review_correct) / nullif(in_registry, 0) as recall_after_review,
    outsiders_linked / nullif(not_in_registry, 0) as outsiders_linked_share
from grouped
order by unit_code = 'national', unit_code
"""


def linkage_quality_rows(con: duckdb.DuckDBPyConnection, truth_path: Path | None) -> list[dict]:
    """One row per unit and a last 'national' row."""
    has_truth = truth_path is not None
    sql = _METRICS_SQL.format(source=_TRUTH_SQL if has_truth else _NO_TRUTH_SQL).replace(
        "$has_truth", "true" if has_truth else "false")
    result = con.execute(sql, [str(truth_path)] if has_truth else [])
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def store_linkage_quality(con: duckdb.DuckDBPyConnection, rows: list[dict], load_id: str) -> None:
    """Keep each run's figures (link.linkage_quality), so progress shows over time."""
    if not rows:
        return
    columns = list(rows[0])
    con.executemany(
        f"insert into link.linkage_quality ({', '.join(columns)}, load_id, measured_at) "
        f"values ({', '.join('?' for _ in columns)}, ?, now())",
        [[row[c] for c in columns] + [load_id] for row in rows],
    )


def print_report(rows: list[dict]) -> None:
    print(f"{'unit':<34}{'records':>8}{'link rate':>10}{'precision':>10}{'recall':>8}{'review':>8}"
          f"{'after review':>13}{'outsiders':>10}")
    for row in rows:
        print(f"{row['unit_code']:<34}{row['records']:>8}{row['link_rate']:>10.2%}{(row['precision'] or 0):>10.3%}"
              f"{(row['recall'] or 0):>8.2%}{row['review_share']:>8.2%}{(row['recall_after_review'] or 0):>13.2%}"
              f"{(row['outsiders_linked_share'] or 0):>10.2%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("CBCCVC_DATA_DIR", "data")))
    parser.add_argument("--warehouse", type=Path)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    warehouse = args.warehouse or args.data_dir / "warehouse.duckdb"
    truth = args.data_dir / "truth" / "records.parquet"
    if not truth.exists():
        parser.error(f"no truth table at {truth}")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = linkage_quality_rows(con, truth)
    print_report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
