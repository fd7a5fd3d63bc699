"""Per-unit publication: one transaction replaces the unit's published snapshot and its quarantine rows.

Every row of the unit's current extract ends in exactly one of published.civil_servants or
quarantine.rows. When a blocking gate failed, the previous published snapshot stays and the new
rows are all quarantined as held, with the failed gate as the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from orchestration.publish.tokens import person_token

# Accepted records: auto-linked and no blocking flag. Identity comes from the registry (reference
# data), employment from the unit (master data).
_ACCEPTED_SQL = """
select
    r.unit_code, r.source_file, r.source_row, r.ma_ho_so, l.so_dinh_danh as registry_id,
    reg.ho_va_ten, reg.ngay_sinh, case reg.gioi_tinh when 'nam' then 'Nam' when 'nu' then 'Nữ' end as gioi_tinh,
    coalesce(reg.dan_toc, r.dan_toc) as dan_toc,
    r.loai, r.co_quan, r.chuc_vu, r.ma_ngach, r.bac_luong, r.he_so_luong, r.ngay_tuyen_dung,
    r.trinh_do_chuyen_mon, r.trang_thai, r.ngay_cap_nhat, l.match_probability,
    r.extract_date, r.file_sha256, r.load_id
from marts.fct_civil_servant_records r
join link.record_links l on l.source_file = r.source_file and l.source_row = r.source_row
join marts.dim_registry_persons reg on reg.so_dinh_danh = l.so_dinh_danh
where r.unit_code = $unit and l.decision = 'auto_link'
  and not exists (
    select 1 from quality.record_flags f
    where f.source_file = r.source_file and f.source_row = r.source_row and f.severity = 'blocking')
"""

# Rows that are not accepted, each with its first blocking reason and all reasons in one sentence.
_REJECTED_SQL = """
with reasons as (
    select source_file, source_row,
        arg_min(criterion || '.' || rule, criterion || rule) as reason_code,
        string_agg(detail, ' ' order by criterion, rule) as reason
    from quality.record_flags
    where unit_code = $unit and severity = 'blocking'
    group by all
)
select r.unit_code, r.source_file, r.source_row, r.ma_ho_so,
    coalesce(reasons.reason_code, 'correct.not_linked') as reason_code,
    coalesce(reasons.reason, 'The record was not linked to the population registry.') as reason,
    r.load_id
from marts.fct_civil_servant_records r
left join link.record_links l on l.source_file = r.source_file and l.source_row = r.source_row
left join reasons on reasons.source_file = r.source_file and reasons.source_row = r.source_row
where r.unit_code = $unit
  and (reasons.source_row is not null or l.decision is distinct from 'auto_link')
"""

_HELD_SQL = """
select unit_code, source_file, source_row, ma_ho_so, $reason_code as reason_code, $reason as reason, load_id
from marts.fct_civil_servant_records
where unit_code = $unit
"""


@dataclass(frozen=True)
class PublicationOutcome:
    unit_code: str
    outcome: str  # "published" or "held"
    rows_read: int
    rows_published: int
    rows_quarantined: int
    failed_gates: tuple[str, ...]


def failed_blocking_gates(con: duckdb.DuckDBPyConnection, unit_code: str) -> tuple[str, ...]:
    rows = con.execute(
        "select distinct criterion from quality.gate_results "
        "where unit_code = ? and blocking and not success order by criterion", [unit_code]
    ).fetchall()
    return tuple(row[0] for row in rows)


def _with_tokens(accepted: pa.Table, token_key: str, published_at: datetime) -> pa.Table:
    tokens = [person_token(token_key, registry_id) for registry_id in accepted.column("registry_id").to_pylist()]
    table = accepted.drop_columns(["registry_id"])
    table = table.append_column("person_token", pa.array(tokens, pa.string()))
    return table.append_column("published_at", pa.array([published_at] * table.num_rows, pa.timestamp("us")))


def _current_extract(con: duckdb.DuckDBPyConnection, unit_code: str) -> tuple[str, object, str, int]:
    return con.execute(
        "select any_value(source_file), any_value(extract_date), any_value(load_id), count(*) "
        "from marts.fct_civil_servant_records where unit_code = ?", [unit_code]
    ).fetchall()[0]


def hold_unit(con: duckdb.DuckDBPyConnection, unit_code: str, failed_gates: tuple[str, ...]) -> PublicationOutcome:
    """Quarantine every row of the unit's new extract as held; its published snapshot is left as it is."""
    source_file, extract_date, load_id, rows_read = _current_extract(con, unit_code)
    gate_names = ", ".join(failed_gates)
    quarantined = con.sql(_HELD_SQL, params={
        "unit": unit_code,
        "reason_code": f"held.gate_{failed_gates[0]}",
        "reason": f"The unit's extract is held because its blocking quality gate(s) failed: {gate_names}. "
                  "The previous published snapshot stays until a corrected extract passes.",
    }).to_arrow_table()
    outcome = PublicationOutcome(unit_code, "held", rows_read, 0, quarantined.num_rows, failed_gates)
    _write_atomically(con, unit_code, None, quarantined, outcome, source_file, extract_date, load_id, datetime.now())
    return outcome


def publish_unit(con: duckdb.DuckDBPyConnection, unit_code: str, token_key: str) -> PublicationOutcome:
    """Publish a unit whose gates passed: accepted rows replace its snapshot, the rest are quarantined."""
    failed = failed_blocking_gates(con, unit_code)
    if failed:
        raise ValueError(f"{unit_code}: blocking gates failed ({', '.join(failed)}); hold the unit instead")
    source_file, extract_date, load_id, rows_read = _current_extract(con, unit_code)
    if rows_read == 0:
        return PublicationOutcome(unit_code, "no_extract", 0, 0, 0, ())
    now = datetime.now()
    params = {"unit": unit_code}
    accepted = _with_tokens(con.sql(_ACCEPTED_SQL, params=params).to_arrow_table(), token_key, now)
    quarantined = con.sql(_REJECTED_SQL, params=params).to_arrow_table()
    outcome = PublicationOutcome(unit_code, "published", rows_read, accepted.num_rows, quarantined.num_rows, ())
    _write_atomically(con, unit_code, accepted, quarantined, outcome, source_file, extract_date, load_id, now)
    return outcome


def _write_atomically(
    con: duckdb.DuckDBPyConnection, unit_code: str, accepted: pa.Table | None, quarantined: pa.Table,
    outcome: PublicationOutcome, source_file: str, extract_date, load_id: str, now: datetime,
) -> None:
    con.register("quarantined_rows", quarantined)
    if accepted is not None:
        con.register("accepted_rows", accepted)
    try:
        con.execute("BEGIN TRANSACTION")
        if accepted is not None:
            con.execute("DELETE FROM published.civil_servants WHERE unit_code = ?", [unit_code])
            con.execute("INSERT INTO published.civil_servants BY NAME SELECT * FROM accepted_rows")
        con.execute("DELETE FROM quarantine.rows WHERE unit_code = ?", [unit_code])
        con.execute(
            "INSERT INTO quarantine.rows BY NAME SELECT *, ? AS quarantined_at FROM quarantined_rows", [now]
        )
        con.execute(
            "INSERT INTO published.snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [load_id, unit_code, source_file, extract_date, outcome.outcome, outcome.rows_read,
             outcome.rows_published, outcome.rows_quarantined, list(outcome.failed_gates), now],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("quarantined_rows")
        if accepted is not None:
            con.unregister("accepted_rows")
