"""Clerical review: a queue per unit with each uncertain record beside its candidates, and the
reviewers' decisions file, read back on every run where it takes precedence over the model.

The decisions file is ``<data_dir>/review/decisions.csv`` with columns
``source_file, source_row, decision, candidate_ref, reviewer, note``: ``decision`` is ``link`` (to the
candidate named by ``candidate_ref``, as shown in the queue) or ``no_link``. Queues show only what a
reviewer needs: name, date of birth, sex and the last four ID digits of both sides.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.publish.tokens import person_token

DECISIONS_FILE = Path("review") / "decisions.csv"
QUEUE_DIR = Path("review") / "queue"
_QUEUE_COLUMNS = (
    "unit_code", "source_file", "source_row", "ma_ho_so", "candidate_rank", "candidate_ref", "match_probability",
    "record_name", "candidate_name", "record_dob", "candidate_dob", "record_sex", "candidate_sex",
    "record_id_last4", "candidate_id_last4",
)

_QUEUE_SQL = """
select
    c.unit_code, c.source_file, c.source_row, c.ma_ho_so, c.candidate_rank, c.candidate_ref,
    round(c.match_probability, 4) as match_probability,
    f.ho_va_ten as record_name, g.ho_va_ten as candidate_name,
    f.ngay_sinh as record_dob, g.ngay_sinh as candidate_dob,
    f.gioi_tinh as record_sex, g.gioi_tinh as candidate_sex,
    right(f.so_dinh_danh, 4) as record_id_last4, right(g.so_dinh_danh, 4) as candidate_id_last4,
    c.registry_id, ? as load_id, ? as queued_at
from candidates c
join marts.fct_civil_servant_records f using (source_file, source_row)
join marts.dim_registry_persons g on g.so_dinh_danh = c.registry_id
order by c.unit_code, c.source_file, c.source_row, c.candidate_rank
"""


def read_clerical_decisions(con: duckdb.DuckDBPyConnection, data_dir: Path) -> pa.Table:
    """Reviewers' decisions as (record_id, registry_id, decision); the newest line per record wins."""
    path = data_dir / DECISIONS_FILE
    rows: dict[str, tuple[str | None, str]] = {}
    if path.exists():
        refs = dict(con.execute("select candidate_ref, registry_id from link.review_candidates").fetchall())
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for line in csv.DictReader(handle):
                decision = (line.get("decision") or "").strip().lower()
                if decision not in ("link", "no_link"):
                    continue
                registry_id = refs.get((line.get("candidate_ref") or "").strip()) if decision == "link" else None
                if decision == "link" and registry_id is None:
                    continue  # a reference this database never showed: ignored, not guessed
                rows[f"{line['source_file'].strip()}#{int(line['source_row'])}"] = (registry_id, decision)
    return pa.table({
        "record_id": pa.array(list(rows), pa.string()),
        "registry_id": pa.array([v[0] for v in rows.values()], pa.string()),
        "decision": pa.array([v[1] for v in rows.values()], pa.string()),
    })


def write_review_queue(
    con: duckdb.DuckDBPyConnection, units: list[str], candidates: pa.Table, token_key: str, load_id: str,
    data_dir: Path,
) -> int:
    """Replace the units' queue rows, remember candidate references, and export one CSV per unit."""
    refs = [person_token(token_key, registry_id)[:16] for registry_id in candidates.column("registry_id").to_pylist()]
    con.register("candidates", candidates.append_column("candidate_ref", pa.array(refs, pa.string())))
    try:
        queue = con.sql(_QUEUE_SQL, params=[load_id, datetime.now()]).to_arrow_table()
        con.register("queue_rows", queue)
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM link.review_queue WHERE unit_code IN (SELECT unnest(?))", [units])
        con.execute("INSERT INTO link.review_queue BY NAME SELECT * EXCLUDE (registry_id) FROM queue_rows")
        con.execute(
            "INSERT INTO link.review_candidates SELECT DISTINCT candidate_ref, registry_id FROM queue_rows "
            "WHERE candidate_ref NOT IN (SELECT candidate_ref FROM link.review_candidates)"
        )
        con.execute("COMMIT")
    finally:
        con.unregister("candidates")
    _export_queues(con, units, data_dir)
    return queue.num_rows


def _export_queues(con: duckdb.DuckDBPyConnection, units: list[str], data_dir: Path) -> None:
    folder = data_dir / QUEUE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for unit in units:
        rows = con.execute(
            f"select {', '.join(_QUEUE_COLUMNS)} from link.review_queue where unit_code = ? "
            "order by source_file, source_row, candidate_rank", [unit]
        ).fetchall()
        path = folder / f"{unit}.csv"
        if not rows:
            path.unlink(missing_ok=True)
            continue
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(_QUEUE_COLUMNS)
            writer.writerows(rows)
