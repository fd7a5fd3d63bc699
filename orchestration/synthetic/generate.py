"""Top level of the generator: persons, records, files and truth, written under one directory.

Every random draw comes from a numpy Generator seeded from ``(seed, stream, ...)``, so each part
(one unit's persons, one population chunk, one file's defects) is reproducible on its own.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from .defects import NO_DEFECTS, DefectContext, DefectRates, apply_defects
from .people import (
    ID_RANDOM_SPAN,
    Geography,
    PersonSpec,
    build_geography,
    format_numbers,
    make_old_ids_unique,
    make_persons,
    make_unique,
)
from .records import ACTIVE, COLUMNS, TRANSFERRED, Lookups, make_records, older_snapshot, sort_by_record_id
from .reference import Reference, Unit, load_reference
from .table import Table
from .units import NATIONAL_REGISTRY, UNKNOWN_UNIT, UnitPlan, plan_units
from .writers import csv_rows, date_array, text_array, write_csv, write_parquet, write_xlsx

# Random stream identifiers (the second element of every SeedSequence key).
_PLAN, _UNIT_PEOPLE, _POPULATION, _IDS, _TRANSFERS, _RECORDS, _FILES, _UNKNOWN = range(1, 9)

POPULATION_CHUNK = 250_000
DECEASED_SHARE = 0.015
NOT_IN_REGISTRY_RATE = 0.015
DECEASED_ACTIVE_RATE = 0.002
TRANSFER_RATE = 0.005
LEAVER_RATE = 0.015
BAD_UNIT_BLANK_ID_SHARE = 0.40
UNDATED_ROWS = 25
UNKNOWN_UNIT_ROWS = 8
REGISTRY_COLUMNS = ("so_dinh_danh", "cmnd_cu", "ho_va_ten", "ngay_sinh", "gioi_tinh", "ma_tinh_khai_sinh",
                    "ma_tinh_thuong_tru", "ma_xa_thuong_tru", "dan_toc", "trang_thai", "ngay_mat", "ngay_cap_nhat")
TRUTH_FILES_HEADER = ("source_file", "unit_code", "kind", "rows")


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


@dataclass(frozen=True)
class PeopleCounts:
    """How many persons of each kind one unit needs."""

    own: int
    leavers: int
    deceased: int
    not_registered: int
    transfers: int


@dataclass
class Population:
    """All persons plus, per unit, the global positions of its persons by kind."""

    persons: Table
    own: dict[int, np.ndarray]
    leavers: dict[int, np.ndarray]
    deceased: dict[int, np.ndarray]
    not_registered: dict[int, np.ndarray]
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


def stream(seed: int, *keys: int) -> np.random.Generator:
    """An independent Generator for one part of the generation."""
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def default_registry_size(scale: float, records: int) -> int:
    """10 million at national scale; otherwise scaled, but at least twice the records."""
    if scale == 1.0:
        return NATIONAL_REGISTRY
    return max(round(NATIONAL_REGISTRY * scale), 2 * records)


def _people_counts(rng: np.random.Generator, plan: UnitPlan) -> PeopleCounts:
    size = plan.size
    cap = size // 10  # keeps most rows for the unit's own employees, even for tiny units
    deceased = min(cap, int(rng.binomial(size, DECEASED_ACTIVE_RATE)))
    not_registered = min(cap, int(rng.binomial(size, NOT_IN_REGISTRY_RATE)))
    transfers = min(cap, int(rng.binomial(size, TRANSFER_RATE)))
    leavers = int(rng.binomial(size, LEAVER_RATE)) if plan.has_older else 0
    return PeopleCounts(size - deceased - not_registered - transfers, leavers, deceased, not_registered, transfers)


def _home(unit: Unit) -> tuple[str, float]:
    """Where most employees of a unit live."""
    if unit.kind == "province":
        return unit.province_code, 0.92
    return ("79" if unit.code.endswith("tphcm") else "01"), 0.85


def _unit_people(seed: int, plan: UnitPlan, counts: PeopleCounts, geo: Geography, ref: Reference,
                 as_of: date) -> list[tuple[str, Table]]:
    """The persons one unit employs (and its leavers, deceased and unregistered ones)."""
    rng = stream(seed, _UNIT_PEOPLE, plan.index)
    home, share = _home(plan.unit)
    spec = PersonSpec(working_age=True, home_province=home, home_share=share, female_share=0.55)
    dead = replace(spec, deceased_rate=1.0, recent_deaths=True)
    return [
        ("own", make_persons(rng, counts.own, geo, as_of, spec, ref.ethnic_groups)),
        ("leavers", make_persons(rng, counts.leavers, geo, as_of, spec, ref.ethnic_groups)),
        ("deceased", make_persons(rng, counts.deceased, geo, as_of, dead, ref.ethnic_groups)),
        ("not_registered", make_persons(rng, counts.not_registered, geo, as_of, spec, ref.ethnic_groups)),
    ]


def _population_chunks(seed: int, n: int, deceased_rate: float, geo: Geography, ref: Reference,
                       as_of: date) -> list[Table]:
    """Registry persons who are not employees, in fixed-size chunks."""
    spec = PersonSpec(working_age=False, deceased_rate=deceased_rate)
    return [make_persons(stream(seed, _POPULATION, k), min(POPULATION_CHUNK, n - start), geo, as_of, spec,
                         ref.ethnic_groups)
            for k, start in enumerate(range(0, n, POPULATION_CHUNK))]


def _finish_identities(seed: int, persons: Table, registered: np.ndarray, labels: np.ndarray) -> Table:
    """Make IDs unique (unregistered IDs avoid the registry) and add the text identity columns."""
    rng = stream(seed, _IDS)
    ids = persons["id_int"].copy()
    ids[registered] = make_unique(rng, ids[registered], ID_RANDOM_SPAN)
    ids[~registered] = make_unique(rng, ids[~registered], ID_RANDOM_SPAN, forbidden=ids[registered])
    cmnd = np.where(registered, persons["cmnd_int"], -1)
    cmnd = make_old_ids_unique(rng, cmnd)
    text_ids = format_numbers(ids, 12)
    persons["so_dinh_danh"] = text_ids
    persons["cmnd_cu"] = format_numbers(cmnd, 9)
    persons["true_id"] = np.where(registered, text_ids, None).astype(object)
    persons["person_key"] = np.array([f"P{i:08d}" for i in range(len(persons))], dtype=object)
    persons["person_label"] = labels
    persons["in_registry"] = registered
    return persons


def _employee_parts(seed: int, plans: tuple[UnitPlan, ...], counts: list[PeopleCounts], geo: Geography,
                    ref: Reference, as_of: date) -> tuple[list[Table], list[np.ndarray], dict[str, dict]]:
    """Per-unit person chunks, their person labels, and where each kind of person sits globally."""
    parts: list[Table] = []
    labels: list[np.ndarray] = []
    positions: dict[str, dict] = {k: {} for k in ("own", "leavers", "deceased", "not_registered")}
    label_of = {"deceased": "deceased_active", "not_registered": "not_in_registry"}
    offset = 0
    for plan, count in zip(plans, counts, strict=True):
        for kind, table in _unit_people(seed, plan, count, geo, ref, as_of):
            positions[kind][plan.index] = np.arange(offset, offset + len(table))
            parts.append(table)
            labels.append(np.full(len(table), label_of.get(kind, ""), dtype=object))
            offset += len(table)
    unknown_spec = PersonSpec(working_age=True, home_province="01", home_share=0.9)
    unknown = make_persons(stream(seed, _UNKNOWN, 0), UNKNOWN_UNIT_ROWS, geo, as_of, unknown_spec,
                           ref.ethnic_groups)
    positions["unknown_unit"] = {0: np.arange(offset, offset + len(unknown))}
    parts.append(unknown)
    labels.append(np.full(len(unknown), "", dtype=object))
    return parts, labels, positions


def build_population(seed: int, plans: tuple[UnitPlan, ...], counts: list[PeopleCounts], geo: Geography,
                     ref: Reference, as_of: date, registry_size: int) -> Population:
    """All persons: employees per unit first, then the rest of the registry in chunks."""
    parts, labels, positions = _employee_parts(seed, plans, counts, geo, ref, as_of)
    n_registered = sum(len(p) for p in parts) - sum(len(p) for p in positions["not_registered"].values())
    n_general = max(0, registry_size - n_registered)
    n_dead = sum(len(p) for p in positions["deceased"].values())
    wanted_dead = DECEASED_SHARE * (n_registered + n_general) - n_dead
    rate = min(1.0, max(0.0, wanted_dead) / max(1, n_general))
    for chunk in _population_chunks(seed, n_general, rate, geo, ref, as_of):
        parts.append(chunk)
        labels.append(np.full(len(chunk), "", dtype=object))
    all_labels = np.concatenate(labels)
    persons = _finish_identities(seed, Table.concat(parts), all_labels != "not_in_registry", all_labels)
    return Population(persons, positions["own"], positions["leavers"], positions["deceased"],
                      positions["not_registered"], positions["unknown_unit"][0])


def _pick_transfers(seed: int, plans: tuple[UnitPlan, ...], counts: list[PeopleCounts],
                    population: Population) -> dict[int, np.ndarray]:
    """Persons who left another unit for this one: each unit lists a few with "Chuyển công tác"."""
    rng = stream(seed, _TRANSFERS)
    pool = np.concatenate([population.own[p.index] for p in plans])
    owner = np.concatenate([np.full(len(population.own[p.index]), p.index) for p in plans])
    order = rng.permutation(len(pool))
    pool, owner = pool[order], owner[order]
    used = np.zeros(len(pool), dtype=bool)
    picked: dict[int, np.ndarray] = {}
    for plan, count in zip(plans, counts, strict=True):
        free = np.flatnonzero((owner != plan.index) & ~used)[: count.transfers]
        used[free] = True
        picked[plan.index] = pool[free]
    return picked


def _unit_rows(seed: int, plan: UnitPlan, population: Population, transfers: np.ndarray,
               moved_out: np.ndarray, lookups: Lookups, as_of: date) -> tuple[Table, Table]:
    """Current records of a unit and the records of its leavers (older snapshot only)."""
    people = population.persons
    stayers = population.own[plan.index]
    groups = (stayers, population.deceased[plan.index], population.not_registered[plan.index], transfers,
              population.leavers[plan.index])
    index = np.concatenate(groups)
    forced = np.full(len(index), "", dtype=object)
    edges = np.cumsum([len(g) for g in groups])
    forced[: edges[0]] = np.where(np.isin(stayers, moved_out), ACTIVE, "")
    forced[edges[0]: edges[2]] = ACTIVE
    forced[edges[2]: edges[3]] = TRANSFERRED
    rows = make_records(stream(seed, _RECORDS, plan.index), plan, people.take(index), forced, lookups, as_of)
    current = sort_by_record_id(rows.take(np.arange(edges[3])))
    leavers = rows.take(np.arange(edges[3], edges[4]))
    return current, leavers


def _landing_path(unit_code: str, day: date, file_format: str) -> str:
    return f"landing/{unit_code}/{day.isoformat()}_extract.{file_format}"


def _unit_files(seed: int, plan: UnitPlan, current: Table, leavers: Table, ref: Reference,
                as_of: date) -> list[ExtractFile]:
    """The landing files of one unit, oldest first."""
    code, fmt = plan.unit.code, plan.file_format
    files: list[ExtractFile] = []
    if plan.has_older:
        older = older_snapshot(stream(seed, _RECORDS, plan.index, 1), current, leavers, plan, ref, as_of)
        files.append(ExtractFile(_landing_path(code, plan.older_date, fmt), code, "older", fmt, older))
    newest = _landing_path(code, plan.current_date, fmt)
    if plan.missing_column:
        columns = tuple(c for c in COLUMNS if c != "ho_va_ten")
        files.append(ExtractFile(newest, code, "missing_required_column", fmt, current, columns))
    else:
        kind = "stale_current" if plan.stale else "current"
        share = BAD_UNIT_BLANK_ID_SHARE if plan.bad_ids else None
        files.append(ExtractFile(newest, code, kind, fmt, current, blank_id_share=share))
    if plan.undated:
        rng = stream(seed, _RECORDS, plan.index, 2)
        take = np.sort(rng.choice(len(current), size=min(UNDATED_ROWS, len(current)), replace=False))
        files.append(ExtractFile(f"landing/{code}/extract_latest.csv", code, "undated", "csv", current.take(take)))
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


def _write_file(out: Path, extract: ExtractFile, rows: Table, as_of: date) -> None:
    path = out / extract.path
    if extract.file_format == "xlsx":
        stamp = datetime(as_of.year, as_of.month, as_of.day)
        write_xlsx(path, extract.columns, rows, extract.columns, stamp)
    else:
        write_csv(path, extract.columns, csv_rows(rows, extract.columns))


def _truth_rows(extract: ExtractFile, rows: Table) -> dict[str, list]:
    n = len(rows)
    return {
        "unit_code": [extract.unit_code] * n,
        "source_file": [extract.path] * n,
        "source_row": list(range(1, n + 1)),
        "ma_ho_so": rows["ma_ho_so"].tolist(),
        "true_so_dinh_danh": rows["true_id"].tolist(),
        "person_key": rows["person_key"].tolist(),
        "defects": rows["defects"].tolist(),
    }


def _write_truth(out: Path, truth: list[dict[str, list]], files: list[tuple[str, str, str, int]]) -> None:
    columns = {name: [v for part in truth for v in part[name]] for name in truth[0]}
    order = sorted(range(len(columns["source_file"])), key=lambda i: (columns["source_file"][i],
                                                                      columns["source_row"][i]))
    table = pa.table({
        name: pa.array([values[i] for i in order], type=pa.int64() if name == "source_row" else pa.string())
        for name, values in columns.items()
    })
    write_parquet(out / "truth" / "records.parquet", table)
    write_csv(out / "truth" / "files.csv", TRUTH_FILES_HEADER, [[f, u, k, str(r)] for f, u, k, r in sorted(files)])


def _write_registry(out: Path, persons: Table) -> np.ndarray:
    """Write the registry sorted by ID; returns the sorted registry IDs."""
    registry = persons.take(persons["in_registry"])
    registry = registry.take(np.argsort(registry["id_int"], kind="stable"))
    arrays = {name: date_array(registry[name]) if name.startswith("ngay_") else text_array(registry[name])
              for name in REGISTRY_COLUMNS}
    write_parquet(out / "registry" / "registry.parquet", pa.table(arrays))
    return registry["so_dinh_danh"].astype("U12")


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


def generate(out: Path, scale: float, seed: int, registry_size: int | None = None,
             as_of: date | None = None) -> GenerationSummary:
    """Generate landing extracts, the population registry and the truth tables under ``out``."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    as_of = as_of or date.today()
    out = Path(out)
    ref = load_reference()
    geo, lookups = build_geography(ref), Lookups.build(ref)
    plans = plan_units(stream(seed, _PLAN), ref, scale, as_of)
    count_rng = stream(seed, _PLAN, 1)
    counts = [_people_counts(count_rng, plan) for plan in plans]
    total = sum(plan.size for plan in plans)
    wanted = registry_size if registry_size is not None else default_registry_size(scale, total)
    population = build_population(seed, plans, counts, geo, ref, as_of, wanted)
    transfers = _pick_transfers(seed, plans, counts, population)
    moved_out = np.concatenate(list(transfers.values()))
    extracts: list[ExtractFile] = []
    for plan in plans:
        current, leavers = _unit_rows(seed, plan, population, transfers[plan.index], moved_out, lookups, as_of)
        extracts.extend(_unit_files(seed, plan, current, leavers, ref, as_of))
    extracts.append(_unknown_unit_file(seed, population, lookups, as_of))

    _prepare_output(out)
    registry_ids = _write_registry(out, population.persons)
    rank_codes = frozenset(r.code for r in ref.ranks)
    truth, files = [], []
    for number, extract in enumerate(extracts):
        ctx = DefectContext(registry_ids, rank_codes, NO_DEFECTS if extract.clean else DefectRates(),
                            has_name_column="ho_va_ten" in extract.columns)
        rows = apply_defects(stream(seed, _FILES, number), extract.rows, ctx, extract.blank_id_share)
        _write_file(out, extract, rows, as_of)
        truth.append(_truth_rows(extract, rows))
        files.append((extract.path, extract.unit_code, extract.kind, len(rows)))
    for plan in plans:
        (out / "landing" / plan.unit.code).mkdir(parents=True, exist_ok=True)
    _write_truth(out, truth, files)
    return _summary(out, seed, scale, as_of, population, plans, files)


def _summary(out: Path, seed: int, scale: float, as_of: date, population: Population,
             plans: tuple[UnitPlan, ...], files: list[tuple[str, str, str, int]]) -> GenerationSummary:
    def codes(flag: str) -> tuple[str, ...]:
        return tuple(p.unit.code for p in plans if getattr(p, flag))

    return GenerationSummary(
        out=out, seed=seed, scale=scale, as_of=as_of,
        registry_size=int(population.persons["in_registry"].sum()),
        n_records=sum(f[3] for f in files), n_files=len(files),
        unit_sizes={p.unit.code: p.size for p in plans},
        xlsx_units=tuple(p.unit.code for p in plans if p.file_format == "xlsx"),
        stale_units=codes("stale"), units_with_older=codes("has_older"),
        bad_id_unit=codes("bad_ids")[0], missing_column_unit=codes("missing_column")[0],
        undated_unit=codes("undated")[0], files=tuple(sorted(f[0] for f in files)),
    )
