"""Per-unit publication: one transaction replaces the unit's published snapshot and its quarantine rows.

Every row of the unit's current extract ends in exactly one of published.civil_servants or
quarantine.rows. A record is published when its identity is settled (an automatic link or a reviewer's
decision) and it carries no blocking record rule. When an integrity gate found the extract as a whole
untrustworthy, the previous published snapshot stays and the new rows are all quarantined as held, with
the gate and its reason.

The same transaction appends what an auditor needs later: the decision (published.snapshots), the gate
results it was made on (published.snapshot_gates), the record versions it made new, changed or removed
(published.record_history), and the rows written with their checksums (published.audit_log). A failure
anywhere leaves all of them, and the previous snapshot, as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pyarrow as pa

from orchestration.publish.history import RECORD_KEY, state_sql, stored_rows_checksum, table_columns, versioned_columns
from orchestration.publish.personal_ids import without_personal_ids
from orchestration.tokens import person_token
from orchestration.warehouse import registered, transaction

# What publication does with each record is the dbt view publication.candidates (fct_publication_candidates).
_ACCEPTED_SQL = """
select * exclude (accepted, reason_code, reason) from publication.candidates where unit_code = $unit and accepted
"""

_REJECTED_SQL = """
select unit_code, source_file, source_row, ma_ho_so, reason_code, reason, load_id
from publication.candidates where unit_code = $unit and not accepted
"""

_HELD_SQL = """
select unit_code, source_file, source_row, ma_ho_so, $reason_code as reason_code, $reason as reason, load_id
from marts.fct_civil_servant_records
where unit_code = $unit
"""


# Each accepted record (its published columns, typed as stored) with what it was published on: its link
# decision, the per-comparison match weights behind it, and the warnings it carries (no blocking flag).
_INCOMING_SQL = """
select {record_columns},
    l.decision as link_decision, l.stage as link_stage, l.match_status, l.match_weight, l.model_version,
    e.link_evidence, f.warnings
from accepted_rows a
left join link.record_links l on l.source_file = a.source_file and l.source_row = a.source_row
left join (
    select source_file, source_row,
        list({{'comparison': comparison, 'weight': weight}} order by comparison, weight) as link_evidence
    from link.link_evidence where unit_code = $unit group by all
) e on e.source_file = a.source_file and e.source_row = a.source_row
left join (
    select source_file, source_row, list({{'criterion': criterion, 'rule': rule}} order by criterion, rule) as warnings
    from quality.record_flags where unit_code = $unit and severity <> 'blocking' group by all
) f on f.source_file = a.source_file and f.source_row = a.source_row
"""

_SNAPSHOT_GATES_SQL = """
insert into published.snapshot_gates by name
select $load_id as load_id, unit_code, $decided_at as decided_at, load_id as gate_load_id, criterion, expectation,
    column_name, blocking, success, observed, gate
from quality.gate_results where unit_code = $unit
"""


@dataclass(frozen=True)
class PublicationOutcome:
    unit_code: str
    outcome: str  # "published" or "held"
    rows_read: int
    rows_published: int
    rows_quarantined: int
    failed_gates: tuple[str, ...]
    held_reason: str | None = None


@dataclass(frozen=True)
class _Decision:
    """One publication decision for a unit: the extract it is about, the run making it, and when."""

    unit_code: str
    source_file: str
    extract_date: date
    file_sha256: str
    load_id: str
    run_id: str
    decided_at: datetime


def failed_blocking_gates(con: duckdb.DuckDBPyConnection, unit_code: str) -> tuple[str, ...]:
    """The integrity gates holding the unit's current extract (input-quality suites never block)."""
    rows = con.execute(
        "select distinct coalesce(gate, criterion) as gate from quality.gate_results "
        "where unit_code = ? and blocking and not success order by gate", [unit_code]
    ).fetchall()
    return tuple(row[0] for row in rows)


def hold_reasons(con: duckdb.DuckDBPyConnection, unit_code: str) -> dict[str, str]:
    """Failed gate -> the sentence the unit reads, as the gates stored it."""
    return dict(con.execute(
        "select coalesce(gate, criterion), string_agg(distinct reason_vi, ' ') from quality.gate_results "
        "where unit_code = ? and blocking and not success and reason_vi is not null group by 1", [unit_code]
    ).fetchall())


def not_decidable_by(con: duckdb.DuckDBPyConnection, unit_code: str, run_id: str) -> str | None:
    """Why this run may not decide the unit's publication, or None when it may.

    Runs interleave their steps in the pool: a run decides only on the gates it evaluated itself, about
    the load those gates saw. Otherwise the run that evaluated the newer load decides.
    """
    total, own, evaluated_load = con.execute(
        "select count(*), count(*) filter (where load_id = $run), any_value(extract_load_id) filter "
        "(where load_id = $run) from quality.gate_results where unit_code = $unit",
        {"run": run_id, "unit": unit_code}).fetchall()[0]
    current = con.execute("select any_value(load_id) from marts.fct_civil_servant_records where unit_code = ?",
                          [unit_code]).fetchall()[0][0]
    if total == 0:
        return None if current is None else "its current load has no gate results"
    if own < total:
        return "its gates were last evaluated by another run, which decides its publication"
    if current != evaluated_load:
        return "a newer load arrived after this run evaluated its gates; the run of that load decides"
    return None


def _with_tokens(accepted: pa.Table, token_key: str, published_at: datetime) -> pa.Table:
    tokens = [person_token(token_key, registry_id) for registry_id in accepted.column("registry_id").to_pylist()]
    table = accepted.drop_columns(["registry_id"])
    table = table.append_column("person_token", pa.array(tokens, pa.string()))
    return table.append_column("published_at", pa.array([published_at] * table.num_rows, pa.timestamp("us")))


def _current_extract(con: duckdb.DuckDBPyConnection, unit_code: str) -> tuple[str, date, str, str, int]:
    return con.execute(
        "select any_value(source_file), any_value(extract_date), any_value(file_sha256), any_value(load_id), "
        "count(*) from marts.fct_civil_servant_records where unit_code = ?", [unit_code]
    ).fetchall()[0]


def _decision(con: duckdb.DuckDBPyConnection, unit_code: str, run_id: str | None) -> tuple[_Decision, int]:
    """The decision about the unit's current extract, made now; and the extract's row count."""
    source_file, extract_date, file_sha256, load_id, rows_read = _current_extract(con, unit_code)
    # A publication normally runs in the run that loaded the extract: its run id is then the load id.
    decision = _Decision(unit_code, source_file, extract_date, file_sha256, load_id, run_id or load_id,
                         datetime.now())
    return decision, rows_read


HELD_CONSEQUENCE_VI = ("Toàn bộ tệp được tạm giữ, chưa công bố; dữ liệu đã công bố lần trước của đơn vị (nếu có) được "
                       "giữ nguyên cho đến khi đơn vị gửi lại tệp đã sửa.")


def hold_unit(
    con: duckdb.DuckDBPyConnection, unit_code: str, failed_gates: tuple[str, ...],
    reasons: dict[str, str] | None = None, run_id: str | None = None,
) -> PublicationOutcome:
    """Quarantine every row of the unit's new extract as held; its published snapshot is left as it is.

    `reasons` gives, per failed gate, the sentence the unit reads (the measure and its bound).
    """
    decision, rows_read = _decision(con, unit_code, run_id)
    if rows_read == 0:
        return PublicationOutcome(unit_code, "no_extract", 0, 0, 0, ())
    sentences = [(reasons or {}).get(gate) or f"Tệp không đạt kiểm tra toàn vẹn ({gate})." for gate in failed_gates]
    held_reason = " ".join([*sentences, HELD_CONSEQUENCE_VI])
    quarantined = con.sql(_HELD_SQL, params={
        "unit": unit_code, "reason_code": f"held.{failed_gates[0]}", "reason": held_reason,
    }).to_arrow_table()
    outcome = PublicationOutcome(unit_code, "held", rows_read, 0, quarantined.num_rows, failed_gates, held_reason)
    _write_atomically(con, decision, None, quarantined, outcome)
    return outcome


def publish_unit(
    con: duckdb.DuckDBPyConnection, unit_code: str, token_key: str, run_id: str | None = None
) -> PublicationOutcome:
    """Publish a unit whose gates passed: accepted rows replace its snapshot, the rest are quarantined."""
    failed = failed_blocking_gates(con, unit_code)
    if failed:
        raise ValueError(f"{unit_code}: integrity gates failed ({', '.join(failed)}); hold the unit instead")
    decision, rows_read = _decision(con, unit_code, run_id)
    if rows_read == 0:
        return PublicationOutcome(unit_code, "no_extract", 0, 0, 0, ())
    params = {"unit": unit_code}
    accepted = without_personal_ids(con.sql(_ACCEPTED_SQL, params=params).to_arrow_table(), token_key)
    accepted = _with_tokens(accepted, token_key, decision.decided_at)
    _require_one_row_per_record(accepted, unit_code)
    quarantined = con.sql(_REJECTED_SQL, params=params).to_arrow_table()
    outcome = PublicationOutcome(unit_code, "published", rows_read, accepted.num_rows, quarantined.num_rows, ())
    _write_atomically(con, decision, accepted, quarantined, outcome)
    return outcome


def _require_one_row_per_record(accepted: pa.Table, unit_code: str) -> None:
    # History follows a record by its unit's record id; a repeated id is a blocking flag, so never published.
    if len(set(accepted.column("ma_ho_so").to_pylist())) != accepted.num_rows:
        raise ValueError(f"{unit_code}: a record id appears more than once among the accepted rows")


def _write_atomically(
    con: duckdb.DuckDBPyConnection, decision: _Decision, accepted: pa.Table | None, quarantined: pa.Table,
    outcome: PublicationOutcome,
) -> None:
    with registered(con, "quarantined_rows", quarantined), transaction(con):
        if accepted is not None:
            _replace_snapshot(con, decision, accepted)
        con.execute("DELETE FROM quarantine.rows WHERE unit_code = ?", [decision.unit_code])
        con.execute(
            "INSERT INTO quarantine.rows BY NAME SELECT *, ? AS quarantined_at FROM quarantined_rows",
            [decision.decided_at],
        )
        _append_decision(con, decision, outcome)


def _replace_snapshot(con: duckdb.DuckDBPyConnection, decision: _Decision, accepted: pa.Table) -> None:
    with registered(con, "accepted_rows", accepted):
        # History first: it compares the new rows with the state history holds before this decision.
        _append_history(con, decision)
        con.execute("DELETE FROM published.civil_servants WHERE unit_code = ?", [decision.unit_code])
        con.execute("INSERT INTO published.civil_servants BY NAME SELECT * FROM accepted_rows")


def _append_decision(con: duckdb.DuckDBPyConnection, decision: _Decision, outcome: PublicationOutcome) -> None:
    """The decision, the gate results it was made on, and the rows it wrote, in the append-only tables."""
    con.execute(
        "INSERT INTO published.snapshots (load_id, unit_code, source_file, extract_date, outcome, rows_read, "
        "rows_published, rows_quarantined, failed_gates, decided_at, file_sha256, held_reason, run_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [decision.load_id, decision.unit_code, decision.source_file, decision.extract_date, outcome.outcome,
         outcome.rows_read, outcome.rows_published, outcome.rows_quarantined, list(outcome.failed_gates),
         decision.decided_at, decision.file_sha256, outcome.held_reason, decision.run_id],
    )
    con.execute(_SNAPSHOT_GATES_SQL, {
        "load_id": decision.load_id, "decided_at": decision.decided_at, "unit": decision.unit_code})
    if outcome.outcome == "published":
        _audit(con, decision, "publish", outcome.rows_published, "published.civil_servants")
        _audit(con, decision, "quarantine", outcome.rows_quarantined, "quarantine.rows")
    else:
        _audit(con, decision, "hold", outcome.rows_quarantined, "quarantine.rows")


def _audit(con: duckdb.DuckDBPyConnection, decision: _Decision, kind: str, rows: int, table: str) -> None:
    """One audit-log row: the extract the rows came from, how many were written, and their checksum."""
    con.execute(
        "INSERT INTO published.audit_log (recorded_at, run_id, kind, unit_code, row_count, path, sha256) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [decision.decided_at, decision.run_id, kind, decision.unit_code, rows, decision.source_file,
         stored_rows_checksum(con, table, decision.unit_code)],
    )


def _append_history(con: duckdb.DuckDBPyConnection, decision: _Decision) -> None:
    """Record versions this publication makes new or changed, and records it removes from the snapshot."""
    types = dict(table_columns(con, "published", "record_history"))
    published = [name for name, _ in table_columns(con, "published", "civil_servants")]
    # Typed as history stores them, so that unchanged values compare equal.
    record_columns = ", ".join(f"cast(a.{column} as {types[column]}) as {column}" for column in published)
    changed = " or ".join(f"i.{column} is distinct from p.{column}" for column in versioned_columns(con))
    key = " and ".join(f"i.{column} = p.{column}" for column in RECORD_KEY)
    con.execute(f"""
        insert into published.record_history by name
        with incoming as ({_INCOMING_SQL.format(record_columns=record_columns)}),
        previous as ({state_sql(published, with_basis=True)}),
        events as (
            select 'new' as change, i.* from incoming i where not exists (select 1 from previous p where {key})
            union all by name
            select 'changed' as change, i.* from incoming i join previous p on {key} where {changed}
            union all by name
            select 'removed' as change, p.* from previous p where not exists (select 1 from incoming i where {key})
        )
        select *, $load_id as snapshot_load_id, $decided_at as recorded_at from events
    """, {"unit": decision.unit_code, "as_of": decision.decided_at, "token": None,
          "load_id": decision.load_id, "decided_at": decision.decided_at})
