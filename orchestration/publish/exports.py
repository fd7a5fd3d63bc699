"""Exports for sharing: Parquet per unit and national, with a manifest, and an append-only audit log.

Exports carry what `published.civil_servants` carries — person tokens, never a raw ID.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.ingest.landing import file_sha256
from orchestration.quality.scorecard import latest_national, latest_national_checkpoint, latest_unit_scorecard


def _export(con: duckdb.DuckDBPyConnection, where: str, params: list, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"copy (select * from published.civil_servants where {where} order by unit_code, source_file, source_row) "
        f"to '{path}' (format parquet)", params)


def _file_entry(con: duckdb.DuckDBPyConnection, folder: Path, path: Path) -> dict:
    rows = con.execute(f"select count(*) from read_parquet('{path}')").fetchall()[0][0]
    return {"file": str(path.relative_to(folder)), "rows": rows, "sha256": file_sha256(path)}


def _audit(con: duckdb.DuckDBPyConnection, run_id: str, kind: str, unit: str, rows: int, path: Path,
           checksum: str) -> None:
    con.execute("insert into published.audit_log values (?, ?, ?, ?, ?, ?, ?)",
                [datetime.now(), run_id, kind, unit, rows, str(path), checksum])


def write_exports(con: duckdb.DuckDBPyConnection, units: list[str], folder: Path, run_id: str) -> dict:
    """Export the units' published snapshots and the national table; write the manifest; audit each file."""
    files = {}
    for unit in units:
        path = folder / "units" / f"{unit}.parquet"
        _export(con, "unit_code = ?", [unit], path)
        files[unit] = _file_entry(con, folder, path)
        _audit(con, run_id, "export_unit", unit, files[unit]["rows"], path, files[unit]["sha256"])
    national = folder / "national.parquet"
    _export(con, "true", [], national)
    national_entry = _file_entry(con, folder, national)
    _audit(con, run_id, "export_national", "national", national_entry["rows"], national, national_entry["sha256"])
    manifest = {
        "exported_at": datetime.now().isoformat(timespec="seconds"),
        "run_id": run_id,
        "national": national_entry,
        "units": _unit_entries(con, folder, files),
        "scorecard": {**_rounded(latest_unit_scorecard(con)), "national": latest_national(con)},
        "national_checkpoint": latest_national_checkpoint(con),
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str)
    (folder / "manifest.json").write_text(text + "\n", encoding="utf-8")
    _audit(con, run_id, "manifest", "national", len(manifest["units"]), folder / "manifest.json",
           hashlib.sha256(text.encode("utf-8")).hexdigest())
    return manifest


def _unit_entries(con: duckdb.DuckDBPyConnection, folder: Path, fresh: dict) -> dict:
    """Every exported unit file on disk (earlier runs' too), with its snapshot date."""
    dates = dict(con.execute(
        "select unit_code, max(extract_date) from published.civil_servants group by 1").fetchall())
    entries = {}
    for path in sorted((folder / "units").glob("*.parquet")):
        unit = path.stem
        entry = fresh.get(unit) or _file_entry(con, folder, path)
        entries[unit] = {**entry, "snapshot_date": dates.get(unit)}
    return entries


def _rounded(scorecard: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    return {unit: {criterion: round(rate, 4) for criterion, rate in rates.items()} for unit, rates in scorecard.items()}
