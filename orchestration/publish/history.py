"""The published state as of any past publication, rebuilt from the append-only history alone.

`published.record_history` holds one row per version of a record (a record is `unit_code, ma_ho_so`) that a
publication made new or changed, and a 'removed' row when a record left its unit's snapshot. A snapshot's
own columns — the extract file, its date and SHA-256, the load and the publication time — are the same for
every row one publication wrote, so they are kept once, in that publication's `published.snapshots` row.

A unit's state as of a time is its last publication at or before that time and, for each of its records,
the latest version recorded up to that publication, unless that version is a removal. Publications made
before history was kept have no `file_sha256` in `published.snapshots` and are not reproduced.
"""

import hashlib
import json
from datetime import datetime

import duckdb
import pyarrow as pa

# Published columns that belong to the snapshot, not to the record: the snapshots column each comes from.
SNAPSHOT_COLUMNS = {
    "source_file": "source_file",
    "extract_date": "extract_date",
    "file_sha256": "file_sha256",
    "load_id": "load_id",
    "published_at": "decided_at",
}
RECORD_KEY = ("unit_code", "ma_ho_so")
# What a version was published on besides its published columns: the link decision, its evidence, and
# the warnings the record carried. A change in any of them is a new version too.
BASIS_COLUMNS = (
    "link_decision", "link_stage", "match_status", "match_weight", "model_version", "link_evidence", "warnings",
)


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, type) of a warehouse table's columns, in table order."""
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, table],
    ).fetchall()


def published_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [name for name, _ in table_columns(con, "published", "civil_servants")]


def versioned_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The columns whose change makes a new version of a record."""
    record = [c for c in published_columns(con) if c not in SNAPSHOT_COLUMNS and c not in RECORD_KEY]
    return [*record, *BASIS_COLUMNS]


def state_sql(columns: list[str], with_basis: bool = False) -> str:
    """Published rows as of `$as_of` (for unit `$unit` and token `$token` when they are not null)."""
    selected = [
        f"s.{SNAPSHOT_COLUMNS[column]} as {column}" if column in SNAPSHOT_COLUMNS else f"v.{column}"
        for column in columns
    ]
    if with_basis:
        selected += [f"v.{column}" for column in BASIS_COLUMNS]
    return f"""
with snapshot as (
    select unit_code, load_id, source_file, extract_date, file_sha256, decided_at
    from published.snapshots
    where outcome = 'published' and file_sha256 is not null and decided_at <= $as_of
      and ($unit::VARCHAR is null or unit_code = $unit)
    qualify row_number() over (partition by unit_code order by decided_at desc) = 1
),
versions as (
    select h.* from published.record_history h
    join snapshot s on s.unit_code = h.unit_code and h.recorded_at <= s.decided_at
    qualify row_number() over (partition by h.unit_code, h.ma_ho_so order by h.recorded_at desc) = 1
)
select {", ".join(selected)}
from versions v join snapshot s on s.unit_code = v.unit_code
where v.change <> 'removed' and ($token::VARCHAR is null or v.person_token = $token)
order by v.unit_code, s.source_file, v.source_row
"""


def published_state(
    con: duckdb.DuckDBPyConnection, as_of: datetime, unit_code: str | None = None,
    person_token: str | None = None, with_basis: bool = False,
) -> pa.Table:
    """The rows `published.civil_servants` held at `as_of` (one unit, or every unit), from history alone.

    The columns are published.civil_servants' own, in its order; `with_basis` adds what each version was
    published on (link decision, evidence, warnings).
    """
    return con.sql(
        state_sql(published_columns(con), with_basis),
        params={"as_of": as_of, "unit": unit_code, "token": person_token},
    ).to_arrow_table()


def published_state_as_of(con: duckdb.DuckDBPyConnection, as_of: str | datetime, unit_code: str | None = None
                          ) -> pa.Table:
    """The published state (one unit, or the nation) as of a load id or a timestamp."""
    return published_state(con, resolve_as_of(con, as_of, unit_code), unit_code)


def resolve_as_of(con: duckdb.DuckDBPyConnection, value: str | datetime | None, unit_code: str | None = None
                  ) -> datetime:
    """A point in time from a timestamp (ISO 8601; a bare date is its midnight) or a load id.

    A load id stands for the moment its publication decision was made: for the unit when the load
    decided one for it, otherwise the last decision the load made for any unit.
    """
    if value is None:
        return datetime.now()
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    for unit in ([unit_code, None] if unit_code else [None]):
        decided = con.execute(
            "select max(decided_at) from published.snapshots "
            "where load_id = ? and (?::VARCHAR is null or unit_code = ?)", [value, unit, unit],
        ).fetchall()[0][0]
        if decided is not None:
            return decided
    raise LookupError("no publication decision belongs to that load id, and it is not a timestamp")


_LAST_PUBLISHED_SQL = """
with records as (
    select distinct unit_code, ma_ho_so from published.record_history where person_token = ?
),
versions as (
    select h.unit_code, h.ma_ho_so, h.person_token, h.change, h.recorded_at,
        lead(h.recorded_at) over (partition by h.unit_code, h.ma_ho_so order by h.recorded_at) as superseded_at
    from published.record_history h
    semi join records r on r.unit_code = h.unit_code and r.ma_ho_so = h.ma_ho_so
)
select max(s.decided_at)
from versions v
join published.snapshots s
    on s.unit_code = v.unit_code and s.outcome = 'published' and s.file_sha256 is not null
    and s.decided_at >= v.recorded_at and (v.superseded_at is null or s.decided_at < v.superseded_at)
where v.person_token = ? and v.change <> 'removed'
"""


def last_published(con: duckdb.DuckDBPyConnection, person_token: str) -> datetime | None:
    """The time of the last publication whose snapshot held a record with this token (None if never)."""
    return con.execute(_LAST_PUBLISHED_SQL, [person_token, person_token]).fetchall()[0][0]


def record_versions(con: duckdb.DuckDBPyConnection, unit_code: str, ma_ho_so: str) -> list[dict]:
    """Every history row of one record, oldest first."""
    cursor = con.execute(
        "select * from published.record_history where unit_code = ? and ma_ho_so = ? order by recorded_at",
        [unit_code, ma_ho_so],
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _canonical(value: object) -> str | None:
    return None if value is None else str(value)


def rows_checksum(rows: pa.Table) -> str:
    """SHA-256 of rows in the order and columns given: one JSON array of text values per line.

    Computed on rows as the warehouse stores them, so the same rows read back later (or rebuilt from
    history) give the same checksum.
    """
    digest = hashlib.sha256()
    for row in rows.to_pylist():
        digest.update(json.dumps([_canonical(v) for v in row.values()], ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def stored_rows_checksum(con: duckdb.DuckDBPyConnection, table: str, unit_code: str) -> str:
    """The checksum of a unit's rows in a warehouse table (`published.civil_servants`, `quarantine.rows`)."""
    rows = con.sql(
        f"select * from {table} where unit_code = $unit order by source_file, source_row",
        params={"unit": unit_code},
    ).to_arrow_table()
    return rows_checksum(rows)
