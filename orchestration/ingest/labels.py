"""Evaluation labels for linkage: records whose true registry person is known.

A data team labels a sample by clerical review and saves it as ``labels/linkage.parquet``; the generator's
data sets carry the same columns for every record in ``truth/records.parquet``. Either file has
``source_file, source_row, true_so_dinh_danh`` (null when the person is not in the registry).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.warehouse import transaction

LABEL_FILES = ("labels/linkage.parquet", "truth/records.parquet")


def labels_file(data_dir: Path) -> Path | None:
    """The first label file the data directory has, or None."""
    return next((data_dir / name for name in LABEL_FILES if (data_dir / name).is_file()), None)


def replace_linkage_labels(con: duckdb.DuckDBPyConnection, path: Path | None) -> int:
    """Replace raw.linkage_labels with the file's labels (none without a file); returns how many."""
    with transaction(con):
        con.execute("DELETE FROM raw.linkage_labels")
        if path is not None:
            con.execute(
                "INSERT INTO raw.linkage_labels BY NAME "
                "SELECT unit_code, source_file, source_row, true_so_dinh_danh FROM read_parquet(?)", [str(path)])
    return con.execute("SELECT count(*) FROM raw.linkage_labels").fetchall()[0][0]
