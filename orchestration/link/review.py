"""Clerical review: a queue per unit with each uncertain record beside its candidates, and the
reviewers' decisions file, read back on every run where it takes precedence over the model.
The file may be saved in any encoding a spreadsheet writes; a line that cannot be applied is kept in
``link.review_decision_problems`` with its line number and reason, and the other lines still apply.

The decisions file is ``<data_dir>/review/decisions.csv`` with columns
``source_file, source_row, decision, candidate_ref, reviewer, note``: ``decision`` is ``link`` (to the
candidate named by ``candidate_ref``, as shown in the queue) or ``no_link``. Queues show only what a
reviewer needs: name, date of birth, sex and the last four ID digits of both sides.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.ingest.encodings import DecodeError, decode_bytes
from orchestration.tokens import person_token
from orchestration.warehouse import registered, transaction

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


@dataclass(frozen=True)
class DecisionProblem:
    """A line of the decisions file that was not applied, and why (no personal data: line and unit only)."""

    line: int
    unit_code: str | None
    reason_code: str
    reason: str


@dataclass
class ClericalDecisions:
    table: pa.Table  # (record_id, registry_id, decision); the newest line per record wins
    problems: list[DecisionProblem] = field(default_factory=list)
    encoding: str | None = None


def _decisions_text(path: Path) -> tuple[str, str, list[DecisionProblem]]:
    """The file's text in whatever encoding a spreadsheet saved it (UTF-8, UTF-16, Windows-1258...)."""
    data = path.read_bytes()
    try:
        decoded = decode_bytes(data)
        return decoded.text, decoded.encoding, []
    except DecodeError as error:  # keep what can be read; the lines that cannot will not match
        problem = DecisionProblem(0, None, "unreadable_encoding", f"the file is not valid text ({error.message})")
        return data.decode("utf-8", errors="replace"), "utf-8 (with errors)", [problem]


def _unit_of(source_file: str) -> str | None:
    parts = source_file.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "landing" else None


def _decision_line(
    number: int, line: dict[str, str | None], refs: dict[str, str]
) -> tuple[str, str | None, str] | DecisionProblem:
    """One line as (record_id, registry_id, decision), or the problem that keeps it from being applied."""
    source_file = (line.get("source_file") or "").strip()
    unit = _unit_of(source_file)
    decision = (line.get("decision") or "").strip().lower()
    try:
        source_row = int((line.get("source_row") or "").strip())
    except ValueError:
        return DecisionProblem(number, unit, "bad_source_row", "source_row is not a whole number")
    if not source_file:
        return DecisionProblem(number, unit, "missing_source_file", "source_file is empty")
    if decision not in ("link", "no_link"):
        return DecisionProblem(number, unit, "unknown_decision", "decision is neither 'link' nor 'no_link'")
    registry_id = refs.get((line.get("candidate_ref") or "").strip()) if decision == "link" else None
    if decision == "link" and registry_id is None:  # a reference this database never showed: not guessed
        return DecisionProblem(number, unit, "unknown_candidate_ref", "candidate_ref was never shown in a queue")
    return f"{source_file}#{source_row}", registry_id, decision


def read_clerical_decisions(con: duckdb.DuckDBPyConnection, data_dir: Path) -> ClericalDecisions:
    """Reviewers' decisions; every line that cannot be applied is reported with its reason, not dropped."""
    path = data_dir / DECISIONS_FILE
    rows: dict[str, tuple[str | None, str]] = {}
    problems: list[DecisionProblem] = []
    encoding = None
    if path.is_file():
        refs = dict(con.execute("select candidate_ref, registry_id from link.review_candidates").fetchall())
        text, encoding, problems = _decisions_text(path)
        reader = csv.DictReader(io.StringIO(text.replace("\x00", ""), newline=""))
        missing = [c for c in ("source_file", "source_row", "decision") if c not in (reader.fieldnames or [])]
        if missing:
            problems.append(DecisionProblem(1, None, "missing_column", f"no column {', '.join(missing)}"))
        else:
            try:
                for line in reader:
                    parsed = _decision_line(reader.line_num, line, refs)
                    if isinstance(parsed, DecisionProblem):
                        problems.append(parsed)
                    else:
                        rows[parsed[0]] = parsed[1:]
            except csv.Error as error:
                problems.append(DecisionProblem(reader.line_num, None, "unreadable_csv", str(error)))
    table = pa.table({
        "record_id": pa.array(list(rows), pa.string()),
        "registry_id": pa.array([v[0] for v in rows.values()], pa.string()),
        "decision": pa.array([v[1] for v in rows.values()], pa.string()),
    })
    return ClericalDecisions(table, problems, encoding)


def store_decision_problems(con: duckdb.DuckDBPyConnection, problems: list[DecisionProblem], load_id: str) -> None:
    """Replace link.review_decision_problems with this run's reading of the decisions file."""
    con.execute("DELETE FROM link.review_decision_problems")
    if problems:
        con.executemany(
            "INSERT INTO link.review_decision_problems VALUES (?, ?, ?, ?, ?, now())",
            [[p.line, p.unit_code, p.reason_code, p.reason, load_id] for p in problems],
        )


def write_review_queue(
    con: duckdb.DuckDBPyConnection, units: list[str], candidates: pa.Table, token_key: str, load_id: str,
    data_dir: Path,
) -> int:
    """Replace the units' queue rows, remember candidate references, and export one CSV per unit."""
    refs = [person_token(token_key, registry_id)[:16] for registry_id in candidates.column("registry_id").to_pylist()]
    with registered(con, "candidates", candidates.append_column("candidate_ref", pa.array(refs, pa.string()))):
        queue = con.sql(_QUEUE_SQL, params=[load_id, datetime.now()]).to_arrow_table()
    with registered(con, "queue_rows", queue), transaction(con):
        con.execute("DELETE FROM link.review_queue WHERE unit_code IN (SELECT unnest(?))", [units])
        con.execute("INSERT INTO link.review_queue BY NAME SELECT * EXCLUDE (registry_id) FROM queue_rows")
        con.execute(
            "INSERT INTO link.review_candidates SELECT DISTINCT candidate_ref, registry_id FROM queue_rows "
            "WHERE candidate_ref NOT IN (SELECT candidate_ref FROM link.review_candidates)"
        )
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
