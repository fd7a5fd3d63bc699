"""The landing sensor: a new or changed extract requests a run for its unit only.

Files are recognised by content (SHA-256). The cursor remembers, per unit, every content hash already
requested, so a file copied under a new name requests nothing, and a hash is computed again only when a
file's size or modification time changes. Folders that are not one of the 62 units are reported.
"""

import json
from pathlib import Path

import dagster as dg

from orchestration.ingest.landing import extract_date_from_name, file_sha256, unknown_unit_folders
from orchestration.jobs import unit_pipeline_job
from orchestration.resources import PipelineSettings
from orchestration.units import unit_codes

# How often Dagster evaluates the sensor.
MINIMUM_INTERVAL_SECONDS = 60


def newest_extract(folder: Path) -> Path | None:
    # A link or a pipe is never opened (not even hashed): ingest rejects it with its reason.
    dated = [p for p in folder.iterdir()
             if p.is_file() and not p.is_symlink() and extract_date_from_name(p) is not None]
    return max(dated, key=lambda p: (extract_date_from_name(p), p.name)) if dated else None


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


def evaluate_landing(landing: Path, cursor: dict) -> tuple[list[dg.RunRequest], list[str], dict]:
    """Run requests for units whose newest extract has content not seen before; unknown folders."""
    seen: dict = cursor.get("seen", {})
    hashed: dict = cursor.get("hashed", {})
    requests = []
    for unit in unit_codes():
        folder = landing / unit
        newest = newest_extract(folder) if folder.is_dir() else None
        if newest is None:
            continue
        fingerprint = _fingerprint(newest)
        digest = hashed.get(fingerprint) or file_sha256(newest)
        hashed[fingerprint] = digest
        if digest in seen.get(unit, []):
            continue
        seen.setdefault(unit, []).append(digest)
        requests.append(dg.RunRequest(
            run_key=f"{unit}:{digest}",
            partition_key=unit,
            tags={"cbccvc/unit": unit, "cbccvc/trigger": "new_extract", "cbccvc/file": newest.name},
        ))
    unknown = [folder.name for folder in unknown_unit_folders(landing, set(unit_codes()))]
    return requests, unknown, {"seen": seen, "hashed": hashed}


@dg.sensor(
    name="new_extracts",
    job=unit_pipeline_job,
    minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
    description="Requests a run for a unit when a new extract (by content) lands in its folder.",
)
def new_extracts(context: dg.SensorEvaluationContext, settings: PipelineSettings):
    cursor = json.loads(context.cursor) if context.cursor else {}
    requests, unknown, new_cursor = evaluate_landing(settings.landing_path, cursor)
    for folder in unknown:
        context.log.warning(f"landing folder '{folder}' is not one of the 62 unit codes; its files are not loaded")
    context.update_cursor(json.dumps(new_cursor, sort_keys=True))
    if not requests:
        return dg.SkipReason("no new extract" + (f"; unknown folders: {', '.join(unknown)}" if unknown else ""))
    return requests
