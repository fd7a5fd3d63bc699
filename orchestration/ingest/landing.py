"""The landing area: which files a unit sent, their dates and content hashes.

Contract: ``landing/<unit_code>/<YYYY-MM-DD>[_<anything>].<csv|txt|xlsx|json|jsonl>``. Each file is a
full snapshot; the newest dated file is the unit's current extract.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

EXTRACT_SUFFIXES = frozenset({".csv", ".txt", ".xlsx", ".json", ".jsonl"})
_DATED_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:_.*)?$")


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative_path: str  # relative to the data directory, forward slashes
    unit_folder: str
    extract_date: date | None
    sha256: str


def extract_date_from_name(path: Path) -> date | None:
    """The snapshot date leading the file name, or None when it has no valid one."""
    match = _DATED_NAME.match(path.stem)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def landing_file(path: Path, data_dir: Path) -> LandingFile:
    return LandingFile(
        path=path,
        relative_path=path.relative_to(data_dir).as_posix(),
        unit_folder=path.parent.name,
        extract_date=extract_date_from_name(path),
        sha256=file_sha256(path),
    )


def unit_files(landing_dir: Path, unit_code: str) -> list[LandingFile]:
    """Every file a unit put in its folder (hidden files aside), oldest first by name."""
    folder = landing_dir / unit_code
    if not folder.is_dir():
        return []
    data_dir = landing_dir.parent
    paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    return [landing_file(p, data_dir) for p in paths]


def unknown_unit_folders(landing_dir: Path, known_units: set[str]) -> list[Path]:
    if not landing_dir.is_dir():
        return []
    return sorted(p for p in landing_dir.iterdir() if p.is_dir() and p.name not in known_units)
