"""What a unit's run is computed from, so that `make run` skips a unit with nothing new.

A unit's inputs are its landing folder (every file's name, size and modification time), the registry
snapshot, the linkage model in use, the reviewers' decisions file, the pipeline's code and reference data
(dbt project, expectation suites, the orchestration package) and the settings that change results. When
they are those of the unit's last run that reached a publication decision, the same run would decide the
same again: the unit is skipped, and says so. `--force` runs it anyway.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import duckdb

from orchestration.resources import DBT_PROJECT_DIR

PROJECT_ROOT = DBT_PROJECT_DIR.parent
# Code and reference data whose change can change any unit's results.
_CODE_PATHS = ("dbt_project/models", "dbt_project/macros", "dbt_project/seeds", "dbt_project/tests",
               "dbt_project/dbt_project.yml", "expectations", "orchestration")
_CODE_SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".csv", ".json", ".md"}
# Settings that only change how a run waits or where it spills, never what it decides.
_OPERATIONAL_SETTINGS = {"CBCCVC_POOL_WAIT_SECONDS", "CBCCVC_LOCK_WAIT_SECONDS", "CBCCVC_REPORTS_URL",
                         "CBCCVC_DUCKDB_MEMORY_LIMIT", "CBCCVC_DUCKDB_TEMP_DIR"}

UNIT_INPUTS_DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.unit_inputs (
    unit_code VARCHAR NOT NULL,
    inputs_fingerprint VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
"""


def _digest(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _files(root: Path, suffixes: set[str] | None = None) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()
                  and "__pycache__" not in p.parts and (suffixes is None or p.suffix in suffixes))


@cache
def code_fingerprint() -> str:
    files = [f for path in _CODE_PATHS for f in _files(PROJECT_ROOT / path, _CODE_SUFFIXES)]
    return _digest(part for f in files for part in (f.relative_to(PROJECT_ROOT).as_posix().encode(), f.read_bytes()))


def _settings() -> list[bytes]:
    return [f"{k}={v}".encode() for k, v in sorted(os.environ.items())
            if k.startswith("CBCCVC_") and k not in _OPERATIONAL_SETTINGS
            and not k.endswith(("_DIR", "_WAREHOUSE", "_KEY"))]


def _folder_listing(folder: Path) -> list[bytes]:
    """Name, size and modification time of every entry of a landing folder (lstat: links are not followed)."""
    entries = []
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        stat = path.lstat()
        entries.append(f"{path.relative_to(folder).as_posix()}|{stat.st_size}|{stat.st_mtime_ns}".encode(
            "utf-8", "surrogateescape"))
    return entries


def _file_bytes(path: Path) -> bytes:
    return path.read_bytes() if path.is_file() else b""


def landing_listings(data_dir: Path, units: list[str]) -> dict[str, list[bytes]]:
    """Each unit's landing folder as it is now: taken before a run, so a file arriving during it is new."""
    return {unit: _folder_listing(data_dir / "landing" / unit) for unit in units}


def unit_fingerprints(data_dir: Path, units: list[str], registry_snapshot: str | None,
                      listings: dict[str, list[bytes]] | None = None) -> dict[str, str]:
    """Unit → the fingerprint of everything its run is computed from. The model in use is read now: after
    a run that trained the first model, that model is what the run used."""
    listings = listings if listings is not None else landing_listings(data_dir, units)
    shared = [code_fingerprint().encode(), (registry_snapshot or "").encode(), *_settings(),
              _file_bytes(data_dir / "models" / "splink" / "current.json"),
              _file_bytes(data_dir / "review" / "decisions.csv")]
    return {unit: _digest([*shared, unit.encode(), *listings[unit]]) for unit in units}


def units_with_nothing_new(con: duckdb.DuckDBPyConnection, fingerprints: dict[str, str]) -> list[str]:
    """The units whose inputs are those of their last recorded run."""
    con.execute(UNIT_INPUTS_DDL)
    last = dict(con.execute("""
        select unit_code, arg_max(inputs_fingerprint, recorded_at) from ops.unit_inputs group by 1
    """).fetchall())
    return sorted(unit for unit, fingerprint in fingerprints.items() if last.get(unit) == fingerprint)


def record_decided_units(con: duckdb.DuckDBPyConnection, fingerprints: dict[str, str], run_ids: list[str]) -> list[str]:
    """Record the inputs of every unit these runs brought to a publication decision; returns those units."""
    con.execute(UNIT_INPUTS_DDL)
    decided = dict(con.execute("""
        select unit_code, arg_max(run_id, decided_at) from published.snapshots
        where run_id in (select unnest(?)) group by 1
    """, [run_ids]).fetchall())
    rows = [(unit, fingerprints[unit], run_id) for unit, run_id in decided.items() if unit in fingerprints]
    if rows:
        con.executemany("insert into ops.unit_inputs values (?, ?, ?, now())", rows)
    return sorted(decided)
