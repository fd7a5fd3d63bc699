"""Per-unit plan: how many records each unit sends, in which format, on which dates,
and which units carry the special file-level problems."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from .reference import Reference, Unit
from .shapes import PLAIN, FileShape, plan_bad_files, plan_shapes
from .table import add_months

NATIONAL_RECORDS = 1_436_507
NATIONAL_REGISTRY = 10_000_000
MIN_UNIT_RECORDS = 50
PROVINCE_SHARE = 0.75
OLDER_EVERY = 5
STALE_UNITS = 2
MAX_CURRENT_AGE_DAYS = 20
STALE_MONTHS = 3
UNKNOWN_UNIT = "so-khong-ton-tai"

# Central units with many public employees (schools, hospitals, research, broadcasting).
_LARGE_CENTRAL = {
    "bo-y-te", "bo-giao-duc-va-dao-tao", "dai-hoc-quoc-gia-ha-noi", "dai-hoc-quoc-gia-tphcm",
    "vien-han-lam-khcn", "vien-han-lam-khxh", "dai-truyen-hinh-viet-nam", "dai-tieng-noi-viet-nam",
}
_BIG_CITIES = ("ha-noi", "ho-chi-minh")


@dataclass(frozen=True)
class UnitPlan:
    """Everything decided up front about one unit's extracts."""

    index: int
    unit: Unit
    size: int
    file_format: str
    record_prefix: str
    current_date: date
    has_older: bool = False
    stale: bool = False
    bad_ids: bool = False
    missing_column: bool = False
    undated: bool = False
    ethnic_as_code: bool = False
    shape: FileShape = PLAIN  # how the unit writes its files, the same every month (shapes.py)
    bad_file: str = ""  # the whole-file defect the unit sends, if any (bad_files.py)

    @property
    def older_date(self) -> date:
        return add_months(self.current_date, -1)

    @property
    def earliest_date(self) -> date:
        return self.older_date if self.has_older else self.current_date


def _merged_counts(ref: Reference) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pre in ref.pre2025:
        code = ref.province_of_pre2025(pre.code)
        counts[code] = counts.get(code, 0) + 1
    return counts


def _unit_weights(rng: np.random.Generator, ref: Reference) -> np.ndarray:
    """Relative size of every unit; provinces hold ~75 % of records, the two big cities lead."""
    merged = _merged_counts(ref)
    provinces = [u.kind == "province" for u in ref.units]
    raw = np.empty(len(ref.units))
    for i, unit in enumerate(ref.units):
        if unit.kind == "province":
            base = {1: 1.0, 2: 1.6}.get(merged.get(unit.province_code, 1), 2.1)
            raw[i] = base * rng.lognormal(0.0, 0.25)
        else:
            raw[i] = (2.0 if unit.code in _LARGE_CENTRAL else 1.0) * rng.lognormal(0.0, 0.4)
    is_province = np.array(provinces)
    others = max(raw[i] for i, u in enumerate(ref.units) if u.kind == "province" and u.code not in _BIG_CITIES)
    for i, unit in enumerate(ref.units):
        if unit.code in _BIG_CITIES:
            raw[i] = others * (1.3 + 0.3 * rng.random())
    shares = np.where(is_province, PROVINCE_SHARE * raw / raw[is_province].sum(),
                      (1 - PROVINCE_SHARE) * raw / raw[~is_province].sum())
    return shares / shares.sum()


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer total in proportion to weights, exactly."""
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def unit_sizes(rng: np.random.Generator, ref: Reference, scale: float) -> np.ndarray:
    """Records per unit: 50 each, plus the rest of the national total split by weight."""
    weights = _unit_weights(rng, ref)
    extra = max(0, round(NATIONAL_RECORDS * scale) - MIN_UNIT_RECORDS * len(ref.units))
    return MIN_UNIT_RECORDS + largest_remainder(extra, weights)


def record_prefixes(units: tuple[Unit, ...]) -> list[str]:
    """Unit-specific record id prefixes from initials ("ha-noi" -> "HN"), made unique."""
    prefixes: list[str] = []
    for unit in units:
        base = "".join(part[0] for part in unit.code.split("-") if part).upper()
        prefix, suffix = base, 2
        while prefix in prefixes:
            prefix, suffix = f"{base}{suffix}", suffix + 1
        prefixes.append(prefix)
    return prefixes


def _special_units(rng: np.random.Generator, units: tuple[Unit, ...]) -> dict[str, list[int]]:
    """Pick which units are stale, broken, undated or have an older snapshot (all distinct roles)."""
    central = [i for i, u in enumerate(units) if u.kind == "central"]
    bad = int(rng.choice(central))
    others = [int(i) for i in rng.permutation(len(units)) if i != bad]
    stale, missing, undated = others[:STALE_UNITS], others[STALE_UNITS], others[STALE_UNITS + 1]
    excluded = {bad, missing, *stale}
    candidates = [int(i) for i in rng.permutation(len(units)) if i not in excluded]
    older = [missing, *candidates[: round(len(units) / OLDER_EVERY) - 1]]
    return {"bad": [bad], "stale": stale, "missing": [missing], "undated": [undated], "older": older}


def _current_date(rng: np.random.Generator, as_of: date, stale: bool) -> date:
    if stale:
        return add_months(as_of, -STALE_MONTHS) - timedelta(days=int(rng.integers(5, 21)))
    return as_of - timedelta(days=int(rng.integers(0, MAX_CURRENT_AGE_DAYS + 1)))


def plan_units(rng: np.random.Generator, ref: Reference, scale: float, as_of: date) -> tuple[UnitPlan, ...]:
    """Decide sizes, formats, dates and special roles of all units from one Generator."""
    sizes = unit_sizes(rng, ref, scale)
    shape_rng, bad_file_rng = rng.spawn(2)  # child streams: the draws below do not depend on them
    shapes = plan_shapes(shape_rng, len(ref.units))
    special = _special_units(rng, ref.units)
    excluded = {i for role in ("bad", "stale", "missing", "undated") for i in special[role]}
    bad_files = plan_bad_files(bad_file_rng, shapes, excluded, set(special["older"]))
    code_style = rng.random(len(ref.units)) < 0.25
    prefixes = record_prefixes(ref.units)
    plans = []
    for i, unit in enumerate(ref.units):
        stale = i in special["stale"]
        plans.append(UnitPlan(
            index=i, unit=unit, size=int(sizes[i]), file_format=shapes[i].file_format,
            record_prefix=prefixes[i], current_date=_current_date(rng, as_of, stale),
            has_older=i in special["older"], stale=stale, bad_ids=i in special["bad"],
            missing_column=i in special["missing"], undated=i in special["undated"],
            ethnic_as_code=bool(code_style[i]), shape=shapes[i], bad_file=bad_files.get(i, ""),
        ))
    return tuple(plans)
