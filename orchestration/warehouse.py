"""Tables that Python layers own in the warehouse (dbt owns the conform models).

Created idempotently so that any asset can run first on an empty warehouse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import duckdb

from orchestration.columns import EXTRACT_COLUMNS

_EXTRACT_TEXT_COLUMNS = ",\n    ".join(f"{column} VARCHAR" for column in EXTRACT_COLUMNS)

# A published record, stated once: published.civil_servants and its history carry the same columns.
_PUBLISHED_RECORD_COLUMNS = ",\n    ".join([
    "unit_code VARCHAR NOT NULL",
    "source_file VARCHAR NOT NULL",
    "source_row INTEGER NOT NULL",
    "ma_ho_so VARCHAR NOT NULL",
    "person_token VARCHAR NOT NULL",
    "ho_va_ten VARCHAR",
    "ngay_sinh DATE",
    "gioi_tinh VARCHAR",
    "dan_toc VARCHAR",
    "loai VARCHAR",
    "co_quan VARCHAR",
    "chuc_vu VARCHAR",
    "ma_ngach VARCHAR",
    "bac_luong INTEGER",
    "he_so_luong DECIMAL(5, 2)",
    "ngay_tuyen_dung DATE",
    "trinh_do_chuyen_mon VARCHAR",
    "trang_thai VARCHAR",
    "ngay_cap_nhat DATE",
    "match_probability DOUBLE",
    "extract_date DATE NOT NULL",
    "file_sha256 VARCHAR NOT NULL",
    "load_id VARCHAR NOT NULL",
    "published_at TIMESTAMP NOT NULL",
])

DDL = f"""
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS link;
CREATE SCHEMA IF NOT EXISTS quality;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE SCHEMA IF NOT EXISTS published;

-- One row per data row of each unit's current extract; replaced whole when a unit loads again.
CREATE TABLE IF NOT EXISTS raw.extracts (
    unit_code VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    extract_date DATE NOT NULL,
    source_row INTEGER NOT NULL,
    load_id VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    {_EXTRACT_TEXT_COLUMNS},
    extra_columns JSON
);

-- Append-only: every load of every unit.
CREATE TABLE IF NOT EXISTS raw.extract_loads (
    load_id VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    extract_date DATE NOT NULL,
    row_count INTEGER NOT NULL,
    unknown_columns VARCHAR[],
    loaded_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS quarantine.files (
    unit_code VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    file_sha256 VARCHAR,
    reason_code VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    load_id VARCHAR NOT NULL,
    detected_at TIMESTAMP NOT NULL
);

-- A unit that a step could not handle (orchestration/unit_errors.py); replaced per unit and step.
CREATE TABLE IF NOT EXISTS quarantine.unit_errors (
    run_id VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    step VARCHAR NOT NULL,
    reason_code VARCHAR NOT NULL,
    error_type VARCHAR NOT NULL,
    reason_vi VARCHAR NOT NULL,
    detected_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS link.record_links (
    unit_code VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    ma_ho_so VARCHAR,
    so_dinh_danh VARCHAR,
    match_probability DOUBLE,
    match_weight DOUBLE,
    decision VARCHAR NOT NULL,
    match_status VARCHAR NOT NULL,
    load_id VARCHAR NOT NULL,
    linked_at TIMESTAMP NOT NULL,
    stage VARCHAR,
    model_version VARCHAR
);

-- Per-comparison match weights of each record's best model candidate: the evidence for a decision.
CREATE TABLE IF NOT EXISTS link.link_evidence (
    unit_code VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    comparison VARCHAR NOT NULL,
    weight DOUBLE,
    load_id VARCHAR NOT NULL
);

-- Splink's best three candidates for each set of compared features, per model version and registry snapshot:
-- a record whose features were scored before is not scored again. registry_id is null when no pair scored.
CREATE TABLE IF NOT EXISTS link.record_scores (
    features_hash VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    registry_snapshot_id VARCHAR NOT NULL,
    registry_id VARCHAR,
    match_probability DOUBLE,
    match_weight DOUBLE,
    id_conflicts BOOLEAN,
    weights MAP(VARCHAR, DOUBLE),
    scored_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS link.review_queue (
    unit_code VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    ma_ho_so VARCHAR,
    candidate_rank INTEGER NOT NULL,
    candidate_ref VARCHAR NOT NULL,
    match_probability DOUBLE,
    record_name VARCHAR,
    candidate_name VARCHAR,
    record_dob DATE,
    candidate_dob DATE,
    record_sex VARCHAR,
    candidate_sex VARCHAR,
    record_id_last4 VARCHAR,
    candidate_id_last4 VARCHAR,
    load_id VARCHAR NOT NULL,
    queued_at TIMESTAMP NOT NULL
);

-- Linkage quality per unit and national ('national'), one set of rows per run; truth-based columns are
-- null when the data set has no truth table.
-- Records whose true registry person is known (a reviewed sample; the generator's truth for synthetic data):
-- linkage precision and recall are measured on them (quality.linkage_metrics).
CREATE TABLE IF NOT EXISTS raw.linkage_labels (
    unit_code VARCHAR,
    source_file VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    true_so_dinh_danh VARCHAR  -- null: the person is not in the registry
);

CREATE TABLE IF NOT EXISTS link.linkage_quality (
    unit_code VARCHAR NOT NULL,
    records BIGINT, in_registry BIGINT, auto_links BIGINT, auto_correct BIGINT, review BIGINT,
    review_correct BIGINT, no_link BIGINT, not_in_registry BIGINT, outsiders_linked BIGINT,
    status_matched BIGINT, status_id_wrong BIGINT, status_name_differs BIGINT, status_dob_differs BIGINT,
    status_not_found BIGINT,
    link_rate DOUBLE, precision DOUBLE, recall DOUBLE, review_share DOUBLE, recall_after_review DOUBLE,
    outsiders_linked_share DOUBLE,
    load_id VARCHAR NOT NULL,
    measured_at TIMESTAMP NOT NULL
);

-- Internal: what each candidate reference shown to reviewers stands for.
CREATE TABLE IF NOT EXISTS link.review_candidates (
    candidate_ref VARCHAR PRIMARY KEY,
    registry_id VARCHAR NOT NULL
);

-- The lines of review/decisions.csv that were not applied in the latest run, and why.
CREATE TABLE IF NOT EXISTS link.review_decision_problems (
    line INTEGER NOT NULL,
    unit_code VARCHAR,
    reason_code VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    load_id VARCHAR NOT NULL,
    detected_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS quality.gate_results (
    load_id VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    criterion VARCHAR NOT NULL,
    expectation VARCHAR NOT NULL,
    column_name VARCHAR,
    blocking BOOLEAN NOT NULL,
    success BOOLEAN NOT NULL,
    observed VARCHAR,
    evaluated_at TIMESTAMP NOT NULL,
    gate VARCHAR  -- the integrity gate of a blocking expectation; null for input-quality expectations
);

CREATE TABLE IF NOT EXISTS quality.scorecard (
    snapshot_date DATE NOT NULL,
    unit_code VARCHAR NOT NULL,
    criterion VARCHAR NOT NULL,
    pass_rate DOUBLE NOT NULL,
    records INTEGER NOT NULL,
    load_id VARCHAR NOT NULL,
    measured_at TIMESTAMP,
    meets_target BOOLEAN  -- the criterion's GX suite passed for the unit
);

-- One row per criterion each time the national scorecard is rolled up: the month-by-month figure.
CREATE TABLE IF NOT EXISTS quality.national_scorecard (
    snapshot_date DATE,
    criterion VARCHAR NOT NULL,
    pass_rate DOUBLE NOT NULL,
    records BIGINT NOT NULL,
    units INTEGER NOT NULL,
    load_id VARCHAR NOT NULL,
    measured_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS published.civil_servants (
    {_PUBLISHED_RECORD_COLUMNS}
);

-- Append-only record of every publication decision.
CREATE TABLE IF NOT EXISTS published.snapshots (
    load_id VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    extract_date DATE NOT NULL,
    outcome VARCHAR NOT NULL,
    rows_read INTEGER NOT NULL,
    rows_published INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL,
    failed_gates VARCHAR[],
    decided_at TIMESTAMP NOT NULL,  -- also the published_at of the rows this decision published
    file_sha256 VARCHAR,  -- null on decisions made before history was kept (they cannot be reproduced)
    held_reason VARCHAR  -- why the extract as a whole was held, in Vietnamese, as the unit reads it
);

-- Append-only history of published records, written in the transaction of each unit's publication: one
-- row per record version that is new or changed (any published column, its source row, or the link and
-- warnings it was published on), and a 'removed' row (the last version's values) when a record leaves its
-- unit's snapshot. A record is (unit_code, ma_ho_so); a snapshot's file, date, checksum, load and time are
-- its published.snapshots row. Never updated or deleted.
CREATE TABLE IF NOT EXISTS published.record_history (
    change VARCHAR NOT NULL,
    snapshot_load_id VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    {_PUBLISHED_RECORD_COLUMNS},
    link_decision VARCHAR,
    link_stage VARCHAR,
    match_status VARCHAR,
    match_weight DOUBLE,
    model_version VARCHAR,
    link_evidence STRUCT(comparison VARCHAR, weight DOUBLE)[],
    warnings STRUCT(criterion VARCHAR, rule VARCHAR)[]
);

-- Append-only: the unit's gate results each publication decision was made on.
CREATE TABLE IF NOT EXISTS published.snapshot_gates (
    load_id VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    gate_load_id VARCHAR NOT NULL,
    criterion VARCHAR NOT NULL,
    expectation VARCHAR NOT NULL,
    column_name VARCHAR,
    blocking BOOLEAN NOT NULL,
    success BOOLEAN NOT NULL,
    observed VARCHAR,
    gate VARCHAR
);

-- Append-only: every publication decision (publish / hold / quarantine rows written, with a checksum of
-- those rows) and every export file and manifest (with the file's checksum).
CREATE TABLE IF NOT EXISTS published.audit_log (
    recorded_at TIMESTAMP NOT NULL,
    run_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    row_count BIGINT,
    path VARCHAR,
    sha256 VARCHAR
);

CREATE TABLE IF NOT EXISTS quarantine.rows (
    unit_code VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    ma_ho_so VARCHAR,
    reason_code VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    load_id VARCHAR NOT NULL,
    quarantined_at TIMESTAMP NOT NULL
);
"""


# Columns added after a table was first released: existing warehouses gain them in place.
MIGRATIONS = """
ALTER TABLE link.record_links ADD COLUMN IF NOT EXISTS stage VARCHAR;
ALTER TABLE link.record_links ADD COLUMN IF NOT EXISTS model_version VARCHAR;
ALTER TABLE published.snapshots ADD COLUMN IF NOT EXISTS file_sha256 VARCHAR;
ALTER TABLE quality.scorecard ADD COLUMN IF NOT EXISTS measured_at TIMESTAMP;
ALTER TABLE quality.scorecard ADD COLUMN IF NOT EXISTS meets_target BOOLEAN;
ALTER TABLE quality.gate_results ADD COLUMN IF NOT EXISTS gate VARCHAR;
ALTER TABLE published.snapshot_gates ADD COLUMN IF NOT EXISTS gate VARCHAR;
ALTER TABLE published.snapshots ADD COLUMN IF NOT EXISTS held_reason VARCHAR;
ALTER TABLE published.snapshots ADD COLUMN IF NOT EXISTS run_id VARCHAR;
ALTER TABLE quality.gate_results ADD COLUMN IF NOT EXISTS extract_load_id VARCHAR;
ALTER TABLE quality.gate_results ADD COLUMN IF NOT EXISTS reason_vi VARCHAR;
ALTER TABLE link.linkage_quality ADD COLUMN IF NOT EXISTS labelled_records BIGINT;
"""


def ensure_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)
    con.execute(MIGRATIONS)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All the block's writes or none: committed when it ends, rolled back when it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        # A failed COMMIT has already ended the transaction; the first error is the one to report.
        with suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, rows: object) -> Iterator[None]:
    """Rows visible to SQL as `name` for the block's duration only."""
    con.register(name, rows)
    try:
        yield
    finally:
        con.unregister(name)
