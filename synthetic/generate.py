"""Top level of the generator: persons, records, files and truth, written under one directory.

Every random draw comes from a numpy Generator seeded from ``(seed, stream, ...)``, so each part
(one unit's persons, one population chunk, one file's defects) is reproducible on its own.

The generation streams: the registry is written in chunks as it is drawn (see ``population.py``), then
units are processed one at a time: records, landing files, defects and truth rows, after which the
unit's rows are released. Only the employees of units still to be processed stay in memory.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .bad_files import BAD_FILE_STREAM, FILE_NAME_SUFFIX, RESENT_KINDS, FileLayout, render_extract
from .defects import NO_DEFECTS, DefectContext, DefectRates, DefectTables, apply_defects
from .people import build_geography
from .population import PeopleCounts, Workforce, build_workforce, people_counts
from .records import (
    ACTIVE,
    COLUMNS,
    TRANSFERRED,
    Lookups,
    make_records,
    older_snapshot,
    sort_by_record_id,
)
from .reference import Reference, Unit, load_reference
from .shapes import TRUTH_FIELDS
from .table import Table, stream
from .units import NATIONAL_REGISTRY, UNKNOWN_UNIT, UnitPlan, plan_units
from .writers import title_lines, write_csv, write_parquet

# Random stream identifiers (the second element of every SeedSequence key); population.py uses 2, 3, 8
# (key 0) and 12, bad_files.py 21.
_PLAN, _DUPLICATES, _RECORDS, _FILES, _UNKNOWN = 1, 4, 6, 7, 8

BAD_UNIT_BLANK_ID_SHARE = 0.40
UNDATED_ROWS = 25
UNKNOWN_UNIT_ROWS = 8
CONCURRENT_TITLE = "kiêm nhiệm"
TRUTH_FILES_HEADER = ("source_file", "unit_code", "kind", "rows", *TRUTH_FIELDS)
TRUTH_COLUMNS = ("unit_code", "source_file", "source_row", "ma_ho_so", "true_so_dinh_danh", "person_key",
                 "defects", "true_ma_xa_thuong_tru", "address_form")


@dataclass(frozen=True)
class GenerationSummary:
    """What was generated, for callers and tests."""

    out: Path
    seed: int
    scale: float
    as_of: date
    registry_size: int
    n_records: int
    n_files: int
    unit_sizes: dict[str, int]
    xlsx_units: tuple[str, ...]
    stale_units: tuple[str, ...]
    units_with_older: tuple[str, ...]
    bad_id_unit: str
    missing_column_unit: str
    undated_unit: str
    files: tuple[str, ...] = field(default=())


@dataclass
class Population:
    """Persons the unknown-unit file draws on: ``persons`` and the positions of that file's persons."""

    persons: Table
    unknown_unit: np.ndarray


@dataclass(frozen=True)
class ExtractFile:
    """One landing file before defects: where it goes and which rows it holds."""

    path: str
    unit_code: str
    kind: str
    file_format: str
    rows: Table
    columns: tuple[str, ...] = COLUMNS
    blank_id_share: float | None = None
    clean: bool = False
    layout: FileLayout = FileLayout()  # the unit's file shape (and, for a duplicate, the file it copies)


def default_registry_size(scale: float, records: int) -> int:
    """10 million at national scale; otherwise scaled, but at least twice the records."""
    if scale == 1.0:
        return NATIONAL_REGISTRY
    return max(round(NATIONAL_REGISTRY * scale), 2 * records)


def _visitors(workforce: Workforce, unit_index: int) -> tuple[Table, np.ndarray]:
    """Persons of other units who also appear in this one, with their cross-unit label."""
    labels = np.array([label for _, _, label in workforce.incoming[unit_index]], dtype=object)
    return workforce.visitors.pop(unit_index), labels


def _own_labels(seed: int, plan: UnitPlan, count: PeopleCounts, workforce: Workforce
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row labels and forced statuses of the unit's own persons, and which of them are listed twice."""
    n = count.own
    labels = np.full(n, "", dtype=object)
    status = np.full(n, "", dtype=object)
    for row, label in workforce.outgoing[plan.index].items():
        labels[row] = label
        status[row] = TRANSFERRED if label == "transfer_two_units" else ACTIVE
    free = np.flatnonzero(labels == "")
    rng = stream(seed, _DUPLICATES, plan.index)
    twice = np.sort(rng.choice(free, size=min(count.duplicates, len(free)), replace=False))
    labels[twice] = "dup_person_in_unit"
    status[twice] = ACTIVE
    return labels, status, twice


def _unit_rows(seed: int, plan: UnitPlan, count: PeopleCounts, workforce: Workforce, lookups: Lookups,
               as_of: date) -> tuple[Table, Table]:
    """Current records of a unit and the records of its leavers (older snapshot only)."""
    people = workforce.people[plan.index]
    own_labels, own_status, twice = _own_labels(seed, plan, count, workforce)
    visitors, visitor_labels = _visitors(workforce, plan.index)
    groups = [
        (people["own"], own_labels, own_status),
        (people["own"].take(twice), own_labels[twice], own_status[twice]),
        (people["deceased"], "", ACTIVE),
        (people["not_registered"], "", ACTIVE),
        (people["past_retirement"], "", ACTIVE),
        (visitors, visitor_labels, ACTIVE),
        (people["leavers"], "", ""),
    ]
    persons = Table.concat(table for table, _, _ in groups)
    labels = np.concatenate([np.broadcast_to(np.asarray(lab, dtype=object), len(t)) for t, lab, _ in groups])
    forced = np.concatenate([np.broadcast_to(np.asarray(st, dtype=object), len(t)) for t, _, st in groups])
    rows = make_records(stream(seed, _RECORDS, plan.index), plan, persons, forced, lookups, as_of, labels)
    concurrent = rows["row_labels"] == "concurrent_two_units"
    rows["chuc_vu"][concurrent] = [f"{title} ({CONCURRENT_TITLE})" if title else CONCURRENT_TITLE.capitalize()
                                   for title in rows["chuc_vu"][concurrent].tolist()]
    n_leavers = len(people["leavers"])
    current = sort_by_record_id(rows.take(np.arange(len(rows) - n_leavers)))
    leavers = rows.take(np.arange(len(rows) - n_leavers, len(rows)))
    return current, leavers


def _landing_path(unit_code: str, day: date, file_format: str, name: str = "extract") -> str:
    return f"landing/{unit_code}/{day.isoformat()}_{name}.{file_format}"


def _resent_date(seed: int, plan: UnitPlan, as_of: date) -> date:
    """A re-sent or copied file comes on or after the unit's current file (its name sorts after it on
    the same day), never after the as-of date."""
    rng = stream(seed, BAD_FILE_STREAM, plan.index)
    return plan.current_date + timedelta(days=int(rng.integers(0, max(0, (as_of - plan.current_date).days) + 1)))


def _unit_files(seed: int, plan: UnitPlan, current: Table, leavers: Table, ref: Reference,
                as_of: date) -> list[ExtractFile]:
    """The landing files of one unit, oldest first, all in the unit's shape."""
    code, fmt = plan.unit.code, plan.file_format
    layout = FileLayout(plan.shape, plan.unit.name)
    files: list[ExtractFile] = []
    if plan.has_older:
        older = older_snapshot(stream(seed, _RECORDS, plan.index, 1), current, leavers, plan, ref, as_of)
        files.append(ExtractFile(_landing_path(code, plan.older_date, fmt), code, "older", fmt, older, layout=layout))
    newest = _landing_path(code, plan.current_date, fmt)
    if plan.missing_column:
        columns = tuple(c for c in COLUMNS if c != "ho_va_ten")
        files.append(ExtractFile(newest, code, "missing_required_column", fmt, current, columns, layout=layout))
    else:
        kind = "stale_current" if plan.stale else "current"
        if plan.bad_file in ("formula_injection", "hostile_headers", "shifted_columns"):
            kind = plan.bad_file  # the current file itself carries the defect
        share = BAD_UNIT_BLANK_ID_SHARE if plan.bad_ids else None
        files.append(ExtractFile(newest, code, kind, fmt, current, blank_id_share=share, layout=layout))
    if plan.bad_file in RESENT_KINDS:
        path = _landing_path(code, _resent_date(seed, plan, as_of), fmt, FILE_NAME_SUFFIX[plan.bad_file])
        if plan.bad_file == "duplicate":  # last month's file sent again under a new name
            files.append(ExtractFile(path, code, "duplicate", fmt, files[0].rows,
                                     layout=replace(layout, copy_of=files[0].path)))
        else:
            files.append(ExtractFile(path, code, plan.bad_file, fmt, current, layout=layout))
    if plan.undated:
        rng = stream(seed, _RECORDS, plan.index, 2)
        take = np.sort(rng.choice(len(current), size=min(UNDATED_ROWS, len(current)), replace=False))
        files.append(ExtractFile(f"landing/{code}/extract_latest.{fmt}", code, "undated", fmt, current.take(take),
                                 layout=layout))
    return files


def _unknown_unit_file(seed: int, population: Population, lookups: Lookups, as_of: date) -> ExtractFile:
    """A few valid rows from a folder that matches no known unit."""
    unit = Unit(UNKNOWN_UNIT, "province", "Sở không tồn tại", "01")
    day = as_of - timedelta(days=3)
    plan = UnitPlan(index=-1, unit=unit, size=UNKNOWN_UNIT_ROWS, file_format="csv", record_prefix="SKTT",
                    current_date=day)
    people = population.persons.take(population.unknown_unit)
    forced = np.full(len(people), ACTIVE, dtype=object)
    rows = make_records(stream(seed, _UNKNOWN, 1), plan, people, forced, lookups, as_of)
    return ExtractFile(_landing_path(UNKNOWN_UNIT, day, "csv"), UNKNOWN_UNIT, "unknown_unit", "csv",
                       sort_by_record_id(rows), clean=True)


def _write_file(out: Path, extract: ExtractFile, rows: Table, as_of: date) -> int:
    """Write one landing file in its unit's shape; returns how many of ``rows`` it holds in full."""
    path = out / extract.path
    path.parent.mkdir(parents=True, exist_ok=True)
    layout = extract.layout
    if layout.copy_of:
        shutil.copyfile(out / layout.copy_of, path)
        return len(rows)
    try:
        day = date.fromisoformat(path.name[:10])
    except ValueError:
        day = as_of
    titles = title_lines(layout.shape, layout.unit_name, day)
    stamp = datetime(as_of.year, as_of.month, as_of.day)
    data, count = render_extract(extract.kind, layout, extract.columns, rows, stamp, titles)
    path.write_bytes(data)
    return count


def _truth_rows(extract: ExtractFile, rows: Table) -> pa.Table:
    n = len(rows)
    wards = rows["ma_xa_thuong_tru"] if "ma_xa_thuong_tru" in rows.columns else np.full(n, None, dtype=object)
    forms = rows["address_form"] if "address_form" in rows.columns else np.full(n, "new", dtype=object)
    columns = {
        "unit_code": [extract.unit_code] * n,
        "source_file": [extract.path] * n,
        "source_row": np.arange(1, n + 1, dtype=np.int64),
        "ma_ho_so": rows["ma_ho_so"].tolist(),
        "true_so_dinh_danh": rows["true_id"].tolist(),
        "person_key": rows["person_key"].tolist(),
        "defects": rows["defects"].tolist(),
        "true_ma_xa_thuong_tru": wards.tolist(),
        "address_form": forms.tolist(),
    }
    return pa.table({name: pa.array(values, type=pa.int64() if name == "source_row" else pa.string())
                     for name, values in columns.items()})


def _write_truth(out: Path, truth: list[pa.Table], files: list[tuple]) -> None:
    table = pa.concat_tables(truth)
    order = pc.sort_indices(table, sort_keys=[("source_file", "ascending"), ("source_row", "ascending")])
    write_parquet(out / "truth" / "records.parquet", table.take(order))
    write_csv(out / "truth" / "files.csv", TRUTH_FILES_HEADER, [[str(v) for v in f] for f in sorted(files)])


def _prepare_output(out: Path) -> None:
    """Remove a previous generator run's outputs; refuse to clobber anything else."""
    owned = [out / name for name in ("landing", "registry", "truth")]
    if not any(p.exists() for p in owned):
        return
    if not (out / "truth" / "files.csv").is_file():
        raise FileExistsError(f"{out} already has landing/registry/truth folders not made by this generator")
    for path in owned:
        if path.exists():
            shutil.rmtree(path)


def _can_hold_eth(extract: ExtractFile) -> bool:
    """Whether the file's encoding can hold Ð (U+00D0): Windows-1258 and the legacy fonts cannot."""
    shape = extract.layout.shape
    return shape.encoding not in ("cp1258", "cp1252") and shape.text_form in ("nfc", "nfd")


def _extracts(seed: int, plans: tuple[UnitPlan, ...], counts: list[PeopleCounts], workforce: Workforce,
              lookups: Lookups, ref: Reference, as_of: date) -> Iterator[ExtractFile]:
    """Every landing file, unit after unit; a unit's persons are released once its files are made."""
    for plan, count in zip(plans, counts, strict=True):
        current, leavers = _unit_rows(seed, plan, count, workforce, lookups, as_of)
        yield from _unit_files(seed, plan, current, leavers, ref, as_of)
        workforce.people[plan.index] = {}
    unknown = workforce.unknown_unit
    yield _unknown_unit_file(seed, Population(unknown, np.arange(len(unknown))), lookups, as_of)


def generate(out: Path, scale: float, seed: int, registry_size: int | None = None,
             as_of: date | None = None, rates: DefectRates | None = None) -> GenerationSummary:
    """Generate landing extracts, the population registry and the truth tables under ``out``.

    ``rates`` sets how often each defect occurs (default ``DefectRates()``; ``NO_DEFECTS`` for none).
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    as_of = as_of or date.today()
    rates = rates or DefectRates()
    out = Path(out)
    ref = load_reference()
    geo, lookups = build_geography(ref), Lookups.build(ref)
    plans = plan_units(stream(seed, _PLAN), ref, scale, as_of)
    count_rng = stream(seed, _PLAN, 1)
    counts = [people_counts(count_rng, plan, rates) for plan in plans]
    total = sum(plan.size for plan in plans)
    wanted = registry_size if registry_size is not None else default_registry_size(scale, total)
    _prepare_output(out)
    workforce = build_workforce(out, seed, plans, counts, geo, ref, as_of, wanted, UNKNOWN_UNIT_ROWS)
    rank_codes = frozenset(r.code for r in ref.ranks)
    tables = DefectTables.build(ref)
    truth, files = [], []
    written: dict[str, Table] = {}  # rows of this unit's files already written, by path
    for number, extract in enumerate(_extracts(seed, plans, counts, workforce, lookups, ref, as_of)):
        ctx = DefectContext(workforce.registry_ids, rank_codes, NO_DEFECTS if extract.clean else rates,
                            has_name_column="ho_va_ten" in extract.columns, tables=tables,
                            eth_possible=_can_hold_eth(extract))
        copy_of = extract.layout.copy_of  # a byte copy repeats the rows of the file it copies
        rows = written[copy_of] if copy_of else apply_defects(stream(seed, _FILES, number), extract.rows, ctx,
                                                              extract.blank_id_share)
        count = _write_file(out, extract, rows, as_of)
        written = {p: r for p, r in written.items() if p.startswith(f"landing/{extract.unit_code}/")}
        written[extract.path] = rows
        truth.append(_truth_rows(extract, rows if count == len(rows) else rows.take(np.arange(count))))
        files.append((extract.path, extract.unit_code, extract.kind, count, *extract.layout.shape.truth_fields()))
    for plan in plans:
        (out / "landing" / plan.unit.code).mkdir(parents=True, exist_ok=True)
    _write_truth(out, truth, files)
    return _summary(out, seed, scale, as_of, workforce.registry_size, plans, files)


def _summary(out: Path, seed: int, scale: float, as_of: date, registry_size: int,
             plans: tuple[UnitPlan, ...], files: list[tuple[str, str, str, int]]) -> GenerationSummary:
    def codes(flag: str) -> tuple[str, ...]:
        return tuple(p.unit.code for p in plans if getattr(p, flag))

    return GenerationSummary(
        out=out, seed=seed, scale=scale, as_of=as_of, registry_size=registry_size,
        n_records=sum(f[3] for f in files), n_files=len(files),
        unit_sizes={p.unit.code: p.size for p in plans},
        xlsx_units=tuple(p.unit.code for p in plans if p.file_format == "xlsx"),
        stale_units=codes("stale"), units_with_older=codes("has_older"),
        bad_id_unit=codes("bad_ids")[0], missing_column_unit=codes("missing_column")[0],
        undated_unit=codes("undated")[0], files=tuple(sorted(f[0] for f in files)),
    )
