"""The landing area: which files a unit sent, their dates and content hashes.

Contract: ``landing/<unit_code>/<YYYY-MM-DD>[_<anything>].<csv|txt|xlsx|json|jsonl>``. Each file is a
full snapshot; the newest dated file is the unit's current extract.

Only regular files inside the data directory are read: a symbolic link, a pipe or a device in a landing
folder is listed with ``kind`` saying what it is, never opened (a pipe would block the run; a link could
publish a file from elsewhere under the landing path).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from datetime import date
from pathlib import Path

EXTRACT_SUFFIXES = frozenset({".csv", ".txt", ".xlsx", ".json", ".jsonl"})
_DATED_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:_.*)?", re.DOTALL)
# Control characters (a line break, a NUL) in a name break logs, CSV reports and workbooks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative_path: str  # relative to the data directory, forward slashes
    unit_folder: str
    extract_date: date | None
    sha256: str | None  # None for what is not a regular file: it is never opened
    kind: str = "file"  # "file", or what else it is: "symlink", "outside_data_dir", "special_file"

    @property
    def display_name(self) -> str:
        """The file name as safe text: undecodable bytes and control characters made visible."""
        return display_text(self.path.name)


def display_text(name: str) -> str:
    """A name as printable UTF-8 text: bytes that were not UTF-8 become U+FFFD, control characters \\xNN."""
    text = os.fsencode(name).decode("utf-8", errors="replace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def has_unsafe_name(path: Path) -> bool:
    """A name with control characters, or bytes that are not UTF-8."""
    return bool(_CONTROL.search(path.name)) or display_text(path.name) != path.name


def extract_date_from_name(path: Path) -> date | None:
    """The snapshot date leading the file name, or None when it has no valid one."""
    match = _DATED_NAME.fullmatch(path.stem)
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


def entry_kind(path: Path, data_dir: Path) -> str:
    """What a landing entry is, without following it: only a "file" is ever opened."""
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return "symlink"
    if not stat.S_ISREG(mode):
        return "special_file"
    if not path.resolve().is_relative_to(data_dir.resolve()):
        return "outside_data_dir"  # the unit's folder itself leads elsewhere
    return "file"


def landing_file(path: Path, data_dir: Path) -> LandingFile:
    kind = entry_kind(path, data_dir)
    return LandingFile(
        path=path,
        relative_path=display_text(path.relative_to(data_dir).as_posix()),
        unit_folder=path.parent.name,
        extract_date=extract_date_from_name(path),
        sha256=file_sha256(path) if kind == "file" else None,
        kind=kind,
    )


def unit_files(landing_dir: Path, unit_code: str) -> list[LandingFile]:
    """Every entry a unit put in its folder (hidden ones and sub-folders aside), oldest first by name."""
    folder = landing_dir / unit_code
    if not folder.is_dir():
        return []
    data_dir = landing_dir.parent
    paths = sorted(
        (p for p in folder.iterdir() if not p.name.startswith(".") and (p.is_symlink() or not p.is_dir())),
        key=lambda p: os.fsencode(p.name),
    )
    return [landing_file(p, data_dir) for p in paths]


def unknown_unit_folders(landing_dir: Path, known_units: set[str]) -> list[Path]:
    if not landing_dir.is_dir():
        return []
    return sorted(p for p in landing_dir.iterdir() if p.is_dir() and p.name not in known_units)
