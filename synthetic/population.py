"""Everybody the generator knows: each unit's employees (kept in memory, unit by unit) and the rest of
the population registry (streamed to Parquet in chunks, never held whole).

Persons get their IDs from one ``IdAllocator`` in a fixed order (units in seed order, the unknown unit's
persons, then the population chunks), so the same seed always gives the same IDs and no ID repeats.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from .defects import DefectRates
from .people import Geography, IdAllocator, PersonSpec, format_numbers, make_persons
from .reference import Reference, Unit
from .table import Table, stochastic_round, stream
from .units import UnitPlan
from .writers import date_array, text_array, write_parquet

# Random stream identifiers (the second element of every SeedSequence key); generate.py uses 1, 4, 6-8.
UNIT_PEOPLE, POPULATION, CROSS_UNIT, UNKNOWN_PEOPLE = 2, 3, 12, 8
POPULATION_CHUNK = 500_000
DECEASED_SHARE = 0.015
LEAVER_RATE = 0.015
REGISTRY_COLUMNS = ("so_dinh_danh", "cmnd_cu", "ho_va_ten", "ngay_sinh", "gioi_tinh", "ma_tinh_khai_sinh",
                    "ma_tinh_thuong_tru", "ma_xa_thuong_tru", "dan_toc", "trang_thai", "ngay_mat", "ngay_cap_nhat")
KINDS = ("own", "leavers", "deceased", "not_registered", "past_retirement")
PERSON_LABEL_OF_KIND = {"deceased": "deceased_active", "not_registered": "not_in_registry",
                        "past_retirement": "past_retirement"}


@dataclass(frozen=True)
class PeopleCounts:
    """How many persons of each kind one unit needs; ``own + deceased + not_registered + past_retirement
    + duplicates + transfers_in + concurrent_in`` is the unit's size (its current file's rows)."""

    own: int
    leavers: int
    deceased: int
    not_registered: int
    past_retirement: int
    duplicates: int
    transfers_in: int
    concurrent_in: int

    @property
    def unit_people(self) -> dict[str, int]:
        return {kind: getattr(self, kind) for kind in KINDS}


@dataclass
class Workforce:
    """Per unit, the persons of each kind (tables with identity columns), and the incoming cross-unit
    persons: for each receiving unit, (origin unit index, row in the origin's "own" table, label)."""

    people: dict[int, dict[str, Table]]
    incoming: dict[int, list[tuple[int, int, str]]]
    outgoing: dict[int, dict[int, str]]
    visitors: dict[int, Table]
    unknown_unit: Table
    registry_ids: np.ndarray
    registry_size: int


def people_counts(rng: np.random.Generator, plan: UnitPlan, rates: DefectRates) -> PeopleCounts:
    """Split a unit's size into persons of each kind; special kinds take at most a tenth of a unit."""
    size = plan.size
    cap = size // 10

    def share(rate: float) -> int:
        return min(cap, stochastic_round(rate * size, rng))

    deceased, not_registered, past = (share(r) for r in (rates.deceased_active, rates.not_in_registry,
                                                         rates.past_retirement))
    duplicates, transfers, concurrent = (share(r) for r in (rates.dup_person_in_unit, rates.transfer_two_units,
                                                            rates.concurrent_two_units))
    leavers = stochastic_round(LEAVER_RATE * size, rng) if plan.has_older else 0
    own = size - deceased - not_registered - past - duplicates - transfers - concurrent
    return PeopleCounts(own, leavers, deceased, not_registered, past, duplicates, transfers, concurrent)


def _home(unit: Unit) -> tuple[str, float]:
    """Where most employees of a unit live."""
    if unit.kind == "province":
        return unit.province_code, 0.92
    return ("79" if unit.code.endswith("tphcm") else "01"), 0.85


def _specs(unit: Unit) -> dict[str, PersonSpec]:
    home, share = _home(unit)
    spec = PersonSpec(working_age=True, home_province=home, home_share=share, female_share=0.55)
    return {"own": spec, "leavers": spec, "deceased": replace(spec, deceased_rate=1.0, recent_deaths=True),
            "not_registered": spec, "past_retirement": replace(spec, past_retirement=True)}


class _Identities:
    """Turns drawn persons into identified ones: IDs, text IDs, person keys and labels."""

    def __init__(self, seed: int) -> None:
        self.allocator = IdAllocator(seed)
        self.next_key = 0

    def finish(self, persons: Table, label: str, registered: bool, keyed: bool = True) -> Table:
        self.allocator.assign(persons)
        n = len(persons)
        text_ids = format_numbers(persons["id_int"], 12)
        persons["so_dinh_danh"] = text_ids
        persons["cmnd_cu"] = format_numbers(persons["cmnd_int"] if registered else np.full(n, -1), 9)
        persons["true_id"] = text_ids.copy() if registered else np.full(n, None, dtype=object)
        if keyed:
            persons["person_key"] = np.array([f"P{k:08d}" for k in range(self.next_key, self.next_key + n)],
                                             dtype=object)
            self.next_key += n
        persons["person_label"] = np.full(n, label, dtype=object)
        persons["in_registry"] = np.full(n, registered, dtype=bool)
        return persons


def _unit_people(seed: int, plan: UnitPlan, counts: PeopleCounts, geo: Geography, ref: Reference,
                 as_of: date, identities: _Identities) -> dict[str, Table]:
    rng = stream(seed, UNIT_PEOPLE, plan.index)
    specs = _specs(plan.unit)
    people = {}
    for kind, n in counts.unit_people.items():
        drawn = make_persons(rng, n, geo, as_of, specs[kind], ref.ethnic_groups)
        people[kind] = identities.finish(drawn, PERSON_LABEL_OF_KIND.get(kind, ""), kind != "not_registered")
    return people


def _cross_unit(seed: int, plans: tuple[UnitPlan, ...], counts: list[PeopleCounts]
                ) -> tuple[dict[int, list[tuple[int, int, str]]], dict[int, dict[int, str]]]:
    """Persons of one unit who also appear in another (transferred, or holding a concurrent post).

    Each origin person is used once; both sides carry the label."""
    rng = stream(seed, CROSS_UNIT)
    sizes = [count.own for count in counts]
    order = rng.permutation(sum(sizes))
    owner = np.repeat([plan.index for plan in plans], sizes)[order]
    local = np.concatenate([np.arange(n) for n in sizes])[order]
    used = np.zeros(len(order), dtype=bool)
    incoming: dict[int, list[tuple[int, int, str]]] = {}
    outgoing: dict[int, dict[int, str]] = {plan.index: {} for plan in plans}
    for plan, count in zip(plans, counts, strict=True):
        labels = ["transfer_two_units"] * count.transfers_in + ["concurrent_two_units"] * count.concurrent_in
        free = np.flatnonzero((owner != plan.index) & ~used)[: len(labels)]
        used[free] = True
        incoming[plan.index] = [(int(owner[i]), int(local[i]), label)
                                for i, label in zip(free.tolist(), labels, strict=False)]
        for unit, row, label in incoming[plan.index]:
            outgoing[unit][row] = label
    return incoming, outgoing


def _registry_table(persons: Table) -> pa.Table:
    persons = persons.take(np.argsort(persons["id_int"], kind="stable"))
    return pa.table({name: date_array(persons[name]) if name.startswith("ngay_") else text_array(persons[name])
                     for name in REGISTRY_COLUMNS})


def _general_chunk(seed: int, k: int, n: int, rate: float, geo: Geography, ref: Reference, as_of: date,
                   identities: _Identities) -> Table:
    spec = PersonSpec(working_age=False, deceased_rate=rate)
    drawn = make_persons(stream(seed, POPULATION, k), n, geo, as_of, spec, ref.ethnic_groups)
    return identities.finish(drawn, "", True, keyed=False)


def _write_registry(out: Path, seed: int, people: dict[int, dict[str, Table]], n_general: int, geo: Geography,
                    ref: Reference, as_of: date, identities: _Identities) -> np.ndarray:
    """Write the registry as part files of at most ``POPULATION_CHUNK`` general persons each, the employees
    spread over the parts; each part is sorted by ID. Returns every registry ID, sorted, as int64."""
    tables = [table for unit in people.values() for table in unit.values()]
    n_employees = sum(int(t["in_registry"].sum()) for t in tables)
    n_dead = sum(int(((t["trang_thai"] == "da_mat") & t["in_registry"]).sum()) for t in tables)
    rate = min(1.0, max(0.0, DECEASED_SHARE * (n_employees + n_general) - n_dead) / max(1, n_general))
    parts = max(1, -(-n_general // POPULATION_CHUNK))
    units = sorted(people)
    ids: list[np.ndarray] = []
    for k in range(parts):
        size = min(POPULATION_CHUNK, n_general - k * POPULATION_CHUNK)
        chunk = [_general_chunk(seed, k, size, rate, geo, ref, as_of, identities)] if size > 0 else []
        chunk += [t.take(t["in_registry"]) for u in units[k::parts] for t in people[u].values()]
        persons = Table.concat(chunk)
        ids.append(persons["id_int"])
        write_parquet(out / "registry" / f"registry-{k:03d}.parquet", _registry_table(persons))
    return np.sort(np.concatenate(ids))


def build_workforce(out: Path, seed: int, plans: tuple[UnitPlan, ...], counts: list[PeopleCounts], geo: Geography,
                    ref: Reference, as_of: date, registry_size: int, unknown_unit_rows: int) -> Workforce:
    """Draw every unit's persons, the unknown unit's persons and the registry (written under ``out``)."""
    identities = _Identities(seed)
    people = {plan.index: _unit_people(seed, plan, count, geo, ref, as_of, identities)
              for plan, count in zip(plans, counts, strict=True)}
    spec = PersonSpec(working_age=True, home_province="01", home_share=0.9)
    unknown = identities.finish(make_persons(stream(seed, UNKNOWN_PEOPLE, 0), unknown_unit_rows, geo, as_of, spec,
                                             ref.ethnic_groups), "", True)
    people_with_unknown = {**people, -1: {"own": unknown}}
    n_registered = sum(int(t["in_registry"].sum()) for unit in people_with_unknown.values() for t in unit.values())
    n_general = max(0, registry_size - n_registered)
    registry_ids = _write_registry(out, seed, people_with_unknown, n_general, geo, ref, as_of, identities)
    incoming, outgoing = _cross_unit(seed, plans, counts)
    visitors = {unit: _visiting(people, pairs) for unit, pairs in incoming.items()}
    return Workforce(people, incoming, outgoing, visitors, unknown, registry_ids, len(registry_ids))


def _visiting(people: dict[int, dict[str, Table]], pairs: list[tuple[int, int, str]]) -> Table:
    """The origin rows of a unit's incoming cross-unit persons, in the order of ``pairs``."""
    return Table.concat(people[origin]["own"].take(np.array([row])) for origin, row, _ in pairs)
