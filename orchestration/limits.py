"""Size limits on what a unit may send, checked before a file is parsed (docs/reliability.md).

A landing file larger than a limit is rejected with a reason, never loaded: memory and time then stay
bounded by the limits, whatever arrives. Defaults leave a wide margin over the largest real extract (a
province of about 100,000 records writes about 40 MB of CSV); the environment sets them
(``PipelineSettings`` in orchestration/resources.py):

- ``CBCCVC_MAX_FILE_MB`` (512): the file on disk;
- ``CBCCVC_MAX_ROWS`` (1,000,000): data rows in one extract;
- ``CBCCVC_MAX_WORKBOOK_MB`` (1024): the uncompressed size of a workbook's parts, from the zip directory,
  so a small file that expands to gigabytes of sheet XML (a zip bomb) is refused before it is opened;
- ``CBCCVC_MAX_NESTING_DEPTH`` (32): how deep a JSON value may nest (a record is one level).
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


# Setting name -> (environment variable, default, unit of the variable in bytes or rows).
LIMIT_VARIABLES = {
    "max_file_bytes": ("CBCCVC_MAX_FILE_MB", 512, MIB),
    "max_rows": ("CBCCVC_MAX_ROWS", 1_000_000, 1),
    "max_workbook_bytes": ("CBCCVC_MAX_WORKBOOK_MB", 1024, MIB),
    "max_nesting_depth": ("CBCCVC_MAX_NESTING_DEPTH", 32, 1),
}


@dataclass(frozen=True)
class ExtractLimits:
    max_file_bytes: int
    max_rows: int
    max_workbook_bytes: int
    max_nesting_depth: int


DEFAULT_LIMITS = ExtractLimits(**{name: default * unit for name, (_, default, unit) in LIMIT_VARIABLES.items()})
