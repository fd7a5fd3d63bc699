"""History of published records: two successive extracts of one unit, the past state rebuilt from history
alone, and the audit trail of records of a past snapshot."""

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from orchestration.audit.trail import build_trail
from orchestration.columns import canonical_column
from orchestration.ingest.readers import read_extract
from orchestration.publish import publication
from orchestration.publish.history import (
    BASIS_COLUMNS,
    published_state,
    published_state_as_of,
    resolve_as_of,
    rows_checksum,
    versioned_columns,
)
from orchestration.warehouse import ensure_warehouse
from tests.conftest import AS_OF, PipelineData, pipeline_environment

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RANK_AND_PAY = ("ma_ngach", "bac_luong", "he_so_luong")


@dataclass
class TwoPublications:
    data_dir: Path
    unit: str
    first_load: str
    second_load: str
    first_file: str
    first_rows: pa.Table  # published.civil_servants for the unit right after the first publication
    first_history: list[tuple]
    changed_record: str  # ma_ho_so whose rank and pay changed in the second extract
    dropped_record: str  # ma_ho_so left out of the second extract

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


def _published_rows(con: duckdb.DuckDBPyConnection, unit: str) -> pa.Table:
    return con.sql("select * from published.civil_servants where unit_code = $unit order by source_file, source_row",
                   params={"unit": unit}).to_arrow_table()


def _plain_unit(pipeline: PipelineData) -> str:
    """A published unit whose files are all ordinary CSV and whose newest extract is older than AS_OF."""
    with (pipeline.data_dir / "truth" / "files.csv").open(encoding="utf-8") as handle:
        files = list(csv.DictReader(handle))
    unusual = {f["unit_code"] for f in files if f["kind"] not in ("current", "older") or f["format"] != "csv"}
    published = {u for (u,) in pipeline.query(
        "select unit_code from published.snapshots where outcome = 'published'")}
    for file in sorted(files, key=lambda f: f["unit_code"]):
        unit = file["unit_code"]
        if file["kind"] == "current" and unit not in unusual and unit in published \
                and file["source_file"].split("/")[-1][:10] < AS_OF.isoformat():
            return unit
    raise AssertionError("no ordinary CSV unit with room for a later extract")


def _column(headers: list[str], name: str) -> int:
    return next(i for i, header in enumerate(headers) if header and canonical_column(header) == name)


def _write_second_extract(first: Path, target: Path, published: pa.Table) -> tuple[str, str]:
    """A later full snapshot: one record takes another record's rank and pay, one record is left out."""
    extract = read_extract(first)
    positions = {name: _column(extract.headers, name) for name in ("ma_ho_so", "loai", *RANK_AND_PAY)}
    by_id = {row[positions["ma_ho_so"]]: row for row in extract.rows}
    ids = [i for i in published.column("ma_ho_so").to_pylist() if i in by_id]
    changed = ids[0]

    def rank_and_pay(record: str) -> tuple:
        return tuple(by_id[record][positions[c]] for c in RANK_AND_PAY)

    donor = next(i for i in ids[1:] if by_id[i][positions["loai"]] == by_id[changed][positions["loai"]]
                 and rank_and_pay(i) != rank_and_pay(changed))
    dropped = next(i for i in reversed(ids) if i not in (changed, donor))
    rows = []
    for row in extract.rows:
        if row[positions["ma_ho_so"]] == dropped:
            continue
        if row[positions["ma_ho_so"]] == changed:
            row = list(row)
            for column in RANK_AND_PAY:
                row[positions[column]] = by_id[donor][positions[column]]
        rows.append(row)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(extract.headers)
        writer.writerows(rows)
    return changed, dropped


@pytest.fixture(scope="module")
def two_publications(pipeline: PipelineData, tmp_path_factory) -> TwoPublications:
    """One unit published twice in a private data directory (with the shared trained linkage model)."""
    from orchestration.run import run_pipeline

    unit = _plain_unit(pipeline)
    data_dir = tmp_path_factory.mktemp("history")
    shutil.copytree(pipeline.data_dir / "landing" / unit, data_dir / "landing" / unit)
    shutil.copytree(pipeline.data_dir / "registry", data_dir / "registry")
    shutil.copytree(pipeline.data_dir / "models", data_dir / "models")
    with pipeline_environment(data_dir) as instance:
        run_pipeline([unit], instance)
        with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
            first_rows = _published_rows(con, unit)
            first_history = con.execute("select * from published.record_history order by all").fetchall()
        first_file = first_rows.column("source_file")[0].as_py()
        first_load = first_rows.column("load_id")[0].as_py()
        changed, dropped = _write_second_extract(
            data_dir / first_file, data_dir / "landing" / unit / f"{AS_OF.isoformat()}_extract.csv", first_rows)
        run_pipeline([unit], instance)
    history = TwoPublications(data_dir, unit, first_load, "", first_file, first_rows, first_history, changed, dropped)
    history.second_load = history.query(
        "select any_value(load_id) from published.civil_servants where unit_code = ?", [unit])[0][0]
    assert history.second_load != first_load
    return history


def test_the_past_snapshot_is_rebuilt_from_history_exactly(two_publications: TwoPublications):
    h = two_publications
    with duckdb.connect(str(h.warehouse), read_only=True) as con:
        assert published_state_as_of(con, h.first_load, h.unit).equals(h.first_rows)
        first_time = resolve_as_of(con, h.first_load, h.unit)
        # The nation as of then is this unit's snapshot: no other unit was published here.
        assert published_state(con, first_time).equals(h.first_rows)
        assert published_state(con, resolve_as_of(con, first_time.isoformat())).equals(h.first_rows)
        current = _published_rows(con, h.unit)
        assert published_state(con, datetime.now(), h.unit).equals(current)
        assert published_state(con, resolve_as_of(con, h.second_load, h.unit), h.unit).equals(current)
        assert not current.equals(h.first_rows)
        # Before the first publication there was nothing.
        assert published_state(con, datetime(2000, 1, 1), h.unit).num_rows == 0


def test_rebuilt_snapshots_match_the_checksums_in_the_audit_log(two_publications: TwoPublications):
    h = two_publications
    logged = h.query("select recorded_at, sha256, row_count from published.audit_log "
                     "where kind = 'publish' and unit_code = ? order by recorded_at", [h.unit])
    assert len(logged) == 2
    with duckdb.connect(str(h.warehouse), read_only=True) as con:
        for recorded_at, sha256, row_count in logged:
            state = published_state(con, recorded_at, h.unit)
            assert state.num_rows == row_count and rows_checksum(state) == sha256


def test_history_records_the_change_and_the_removal(two_publications: TwoPublications):
    h = two_publications
    changed = h.query(
        "select change, snapshot_load_id, ma_ngach, bac_luong, he_so_luong from published.record_history "
        "where unit_code = ? and ma_ho_so = ? order by recorded_at", [h.unit, h.changed_record])
    assert [(c[0], c[1]) for c in changed] == [("new", h.first_load), ("changed", h.second_load)]
    assert changed[0][2:] != changed[1][2:]
    first = next(r for r in h.first_rows.to_pylist() if r["ma_ho_so"] == h.dropped_record)
    removed = h.query(
        "select change, snapshot_load_id, source_file, source_row, load_id, person_token from published.record_history "
        "where unit_code = ? and ma_ho_so = ? order by recorded_at", [h.unit, h.dropped_record])
    assert removed == [
        ("new", h.first_load, h.first_file, first["source_row"], h.first_load, first["person_token"]),
        ("removed", h.second_load, h.first_file, first["source_row"], h.first_load, first["person_token"]),
    ]


def test_a_record_is_written_again_only_when_it_changed(two_publications: TwoPublications):
    """Published values, source row, link and warnings unchanged: no new version."""
    h = two_publications
    with duckdb.connect(str(h.warehouse), read_only=True) as con:
        current = {r["ma_ho_so"]: r for r in _published_rows(con, h.unit).to_pylist()}
        compared = [c for c in versioned_columns(con) if c in h.first_rows.column_names]
    first = {r["ma_ho_so"]: r for r in h.first_rows.to_pylist()}
    same_values = [k for k in first.keys() & current.keys() if all(first[k][c] == current[k][c] for c in compared)]
    basis = ", ".join(BASIS_COLUMNS)
    versions: dict[str, list[tuple]] = {}
    for record, *values in h.query(f"select ma_ho_so, {basis} from published.record_history "
                                   "where unit_code = ? order by recorded_at", [h.unit]):
        versions.setdefault(record, []).append(tuple(values))
    assert same_values
    for record in same_values:
        written = versions[record]
        assert len(written) == 1 or written[-1] != written[-2], record
    assert any(len(versions[record]) == 1 for record in same_values)


def test_history_is_only_appended(two_publications: TwoPublications):
    # Rows hold lists (evidence, warnings): compared by their text.
    rows = Counter(map(repr, two_publications.query("select * from published.record_history")))
    first = Counter(map(repr, two_publications.first_history))
    assert not first - rows  # every row of the first publication is still there, unchanged
    assert rows.total() > first.total()


def test_a_failed_publication_leaves_history_and_logs_as_they_were(two_publications: TwoPublications, tmp_path,
                                                                   monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(two_publications.warehouse, warehouse)

    def broken_tokens(accepted: pa.Table, token_key: str, published_at) -> pa.Table:
        table = accepted.drop_columns(["registry_id"])
        table = table.append_column("person_token", pa.array([None] * table.num_rows, pa.string()))
        return table.append_column("published_at", pa.array([published_at] * table.num_rows, pa.timestamp("us")))

    monkeypatch.setattr(publication, "_with_tokens", broken_tokens)
    tables = ["published.civil_servants", "published.record_history", "published.snapshots",
              "published.snapshot_gates", "published.audit_log", "quarantine.rows"]
    with duckdb.connect(str(warehouse)) as con:
        before = {t: con.execute(f"select * from {t} order by all").fetchall() for t in tables}
        with pytest.raises(duckdb.Error):
            publication.publish_unit(con, two_publications.unit, "test-key")
        after = {t: con.execute(f"select * from {t} order by all").fetchall() for t in tables}
    assert after == before


def _token_of(h: TwoPublications, record: str) -> str:
    return h.query("select any_value(person_token) from published.record_history where unit_code = ? and ma_ho_so = ?",
                   [h.unit, record])[0][0]


def test_trail_of_a_record_no_longer_published_reaches_its_past_source_row(two_publications: TwoPublications):
    h = two_publications
    token = _token_of(h, h.dropped_record)
    with duckdb.connect(str(h.warehouse), read_only=True) as con:
        trail = build_trail(con, token, None, h.data_dir)
    assert trail.basis == "history" and len(trail.records) == 1
    record = trail.records[0]
    assert record.ma_ho_so == h.dropped_record
    assert record.snapshot.load_id == h.first_load and not record.snapshot.is_current
    source = record.source
    assert source.source_file == h.first_file
    assert source.file_sha256 == hashlib.sha256((h.data_dir / h.first_file).read_bytes()).hexdigest()
    assert source.file_on_disk == "matches"
    # The working tables hold the second load now: the row is read back from the landing file.
    assert (source.row_checked_in, source.row_ma_ho_so_matches) == ("landing file", True)
    assert record.link.read_from == "published.record_history" and record.link.decision == "auto_link"
    assert record.gates_read_from == "published.snapshot_gates" and record.gates
    assert all(g.success for g in record.gates if g.blocking)
    assert [v.change for v in record.versions] == ["new", "removed"]


def test_cli_shows_the_trail_as_of_the_first_load(two_publications: TwoPublications):
    h = two_publications
    token = _token_of(h, h.changed_record)
    env = {**os.environ, "CBCCVC_DATA_DIR": str(h.data_dir), "CBCCVC_WAREHOUSE": str(h.warehouse)}
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.audit", "--token", token, "--as-of", h.first_load, "--json"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=env,
    )
    assert completed.returncode == 0, completed.stderr
    trail = json.loads(completed.stdout)
    assert trail["basis"] == "history"
    record = trail["records"][0]
    assert record["snapshot"]["load_id"] == h.first_load
    assert record["source"]["source_file"] == h.first_file
    shown = [v for v in record["versions"] if v["in_effect"]]
    assert [v["change"] for v in shown] == ["new"]
    later = record["versions"][-1]
    assert later["change"] == "changed" and {"ma_ngach", "he_so_luong"} & set(later["changed_columns"])


def test_an_existing_warehouse_gains_the_history_tables(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        # published.snapshots as first released, before history was kept.
        con.execute("""
            create schema published;
            create table published.snapshots (load_id varchar not null, unit_code varchar not null,
                source_file varchar not null, extract_date date not null, outcome varchar not null,
                rows_read integer not null, rows_published integer not null, rows_quarantined integer not null,
                failed_gates varchar[], decided_at timestamp not null);
            insert into published.snapshots values ('old', 'ha-noi', 'landing/ha-noi/a.csv', '2026-01-01',
                'published', 1, 1, 0, [], '2026-01-02');
        """)
        ensure_warehouse(con)
        ensure_warehouse(con)
        columns = [name for (name,) in con.execute(
            "select column_name from information_schema.columns where table_name = 'snapshots'").fetchall()]
        assert columns[-3:] == ["file_sha256", "held_reason", "run_id"]
        assert con.execute("select count(*) from published.record_history").fetchall() == [(0,)]
        # A publication made before history was kept is not reproduced: history starts after the upgrade.
        assert published_state(con, datetime(2026, 6, 1), "ha-noi").num_rows == 0
