"""The registry snapshot's contract, checked when it is loaded and before anything reads it.

The snapshot is reference data owned by the population registry: the pipeline never repairs it. A file
whose columns or types differ from the contract is refused with one sentence naming the file and the
column, because a silent cast would be wrong for many units at once (a personal ID stored as a number has
lost its leading zeros: 34 units would then hold people "not in the registry").
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

_TEXT = ("VARCHAR",)
_DATE = ("DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")

# Column -> the DuckDB types it may have. Codes are text: their leading zeros are part of them.
REGISTRY_CONTRACT: dict[str, tuple[str, ...]] = {
    "so_dinh_danh": _TEXT,
    "cmnd_cu": _TEXT,
    "ho_va_ten": _TEXT,
    "ngay_sinh": _DATE,
    "gioi_tinh": _TEXT,
    "ma_tinh_khai_sinh": _TEXT,
    "ma_tinh_thuong_tru": _TEXT,
    "ma_xa_thuong_tru": _TEXT,
    "dan_toc": _TEXT,
    "trang_thai": _TEXT,
    "ngay_mat": _DATE,
    "ngay_cap_nhat": _DATE,
}


class RegistryContractError(ValueError):
    """The registry snapshot does not meet its contract; the message is one sentence for the operator."""


def check_registry_files(con: duckdb.DuckDBPyConnection, files: list[Path]) -> None:
    """Column names and types of every part file, read from the Parquet schema (no data is read)."""
    for path in files:
        try:
            schema = {row[0]: row[1] for row in con.execute("DESCRIBE SELECT * FROM read_parquet(?)",
                                                            [str(path)]).fetchall()}
        except duckdb.Error as error:
            raise RegistryContractError(f"registry file {path.name} is not a readable Parquet file "
                                        f"({type(error).__name__})") from None
        for column, types in REGISTRY_CONTRACT.items():
            if column not in schema:
                raise RegistryContractError(f"registry file {path.name} has no column {column}")
            if schema[column] not in types:
                raise RegistryContractError(
                    f"registry file {path.name}: column {column} is {schema[column]}, the contract says "
                    f"{' or '.join(types[:2])}" + (" (a number loses the leading zeros of IDs and codes)"
                                                    if types == _TEXT else ""))


def check_registry_values(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """The personal ID is 12 digits, present and unique in the loaded snapshot."""
    bad, repeated = con.execute(f"""
        select count(*) filter (where so_dinh_danh is null or not regexp_full_match(so_dinh_danh, '[0-9]{{12}}')),
               count(*) - count(distinct so_dinh_danh)
        from {table}
    """).fetchall()[0]
    if bad:
        raise RegistryContractError(f"the registry snapshot has {bad:,} rows whose so_dinh_danh is not a "
                                    "12-digit personal ID")
    if repeated:
        raise RegistryContractError(f"the registry snapshot repeats {repeated:,} values of so_dinh_danh, "
                                    "which must be unique")


def registry_snapshot_id(files: list[Path]) -> str:
    """The snapshot's identity: SHA-256 over its files' names and bytes. Linkage results are kept per
    snapshot, so a new snapshot re-links every record and an unchanged one is never reloaded."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode("utf-8") + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return "registry-" + digest.hexdigest()[:16]


def loaded_snapshot_id(con: duckdb.DuckDBPyConnection) -> str | None:
    """The snapshot id of the loaded registry, or None when none (or one from before ids) is loaded."""
    present = con.execute(
        "select count(*) from information_schema.columns where table_schema = 'raw' and table_name = 'registry' "
        "and column_name = 'registry_snapshot_id'"
    ).fetchall()[0][0]
    if not present:
        return None
    rows = con.execute("select registry_snapshot_id from raw.registry limit 1").fetchall()
    return rows[0][0] if rows else None
