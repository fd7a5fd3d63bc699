"""Data-quality defects injected into extract rows, each recorded as a label for the truth files."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .names import strip_diacritics
from .table import Table, year_month_day

LABELS = (
    "blank_id", "mistyped_id", "old_cmnd", "name_no_diacritics", "name_upper", "dob_swapped",
    "blank_required", "invalid_rank", "duplicate_record_id", "not_in_registry", "deceased_active",
)
REQUIRED_FIELDS = ("ho_va_ten", "loai", "ma_ngach")


@dataclass(frozen=True)
class DefectRates:
    """Per-row probabilities of each row-level defect."""

    blank_id: float = 0.02
    mistyped_id: float = 0.01
    old_cmnd: float = 0.01
    name_no_diacritics: float = 0.005
    name_upper: float = 0.005
    dob_swapped: float = 0.005
    blank_required: float = 0.005
    invalid_rank: float = 0.003
    duplicate_record_id: float = 0.003


NO_DEFECTS = DefectRates(*([0.0] * 9))


@dataclass(frozen=True, eq=False)
class DefectContext:
    """What the defect injector needs to know about the file and the registry."""

    registry_ids: np.ndarray
    rank_codes: frozenset[str]
    rates: DefectRates = DefectRates()
    has_name_column: bool = True


class _Labels:
    """Collects defect labels per row."""

    def __init__(self, n: int) -> None:
        self.rows: list[list[str]] = [[] for _ in range(n)]

    def add(self, rows: np.ndarray, label: str) -> None:
        for row in rows.tolist():
            self.rows[row].append(label)

    def joined(self) -> np.ndarray:
        order = {label: i for i, label in enumerate(LABELS)}
        return np.array([",".join(sorted(labels, key=order.__getitem__)) for labels in self.rows], dtype=object)


def _mistype(rng: np.random.Generator, value: str, registry_ids: np.ndarray) -> str:
    """Change one digit so that the result is not anybody's registry ID."""
    while True:
        position = int(rng.integers(len(value)))
        digit = (int(value[position]) + int(rng.integers(1, 10))) % 10
        typo = f"{value[:position]}{digit}{value[position + 1:]}"
        at = np.searchsorted(registry_ids, typo)
        if at >= len(registry_ids) or registry_ids[at] != typo:
            return typo


def _id_defects(rng: np.random.Generator, rows: Table, ctx: DefectContext, labels: _Labels,
                blank_share: float) -> None:
    """Blank, mistyped or old 9-digit IDs; only for persons who are in the registry."""
    registered = rows["person_label"] != "not_in_registry"
    draw = rng.random(len(rows))
    blank = registered & (draw < blank_share)
    mistyped = registered & ~blank & (draw < blank_share + ctx.rates.mistyped_id)
    old = registered & ~blank & ~mistyped & (draw < blank_share + ctx.rates.mistyped_id + ctx.rates.old_cmnd)
    old &= np.array([value is not None for value in rows["cmnd_cu"]], dtype=bool)
    ids = rows["so_dinh_danh"]
    ids[blank] = ""
    for row in np.flatnonzero(mistyped):
        ids[row] = _mistype(rng, ids[row], ctx.registry_ids)
    ids[old] = rows["cmnd_cu"][old]
    labels.add(np.flatnonzero(blank), "blank_id")
    labels.add(np.flatnonzero(mistyped), "mistyped_id")
    labels.add(np.flatnonzero(old), "old_cmnd")


def _blank_required(rng: np.random.Generator, rows: Table, ctx: DefectContext, labels: _Labels) -> np.ndarray:
    """Blank one required field; returns which field each row lost ("" for none)."""
    fields = REQUIRED_FIELDS if ctx.has_name_column else REQUIRED_FIELDS[1:]
    hit = rng.random(len(rows)) < ctx.rates.blank_required
    lost = np.where(hit, rng.choice(np.array(fields, dtype=object), size=len(rows)), "").astype(object)
    for field in fields:
        rows[field][lost == field] = ""
    labels.add(np.flatnonzero(hit), "blank_required")
    return lost


def _name_defects(rng: np.random.Generator, rows: Table, ctx: DefectContext, labels: _Labels,
                  lost: np.ndarray) -> None:
    if not ctx.has_name_column:
        return
    draw = rng.random(len(rows))
    names = rows["ho_va_ten"]
    usable = lost != "ho_va_ten"
    plain = usable & (draw < ctx.rates.name_no_diacritics)
    upper = usable & ~plain & (draw < ctx.rates.name_no_diacritics + ctx.rates.name_upper)
    for row in np.flatnonzero(plain):
        names[row] = strip_diacritics(names[row])
    for row in np.flatnonzero(upper):
        names[row] = names[row].upper()
    labels.add(np.flatnonzero(plain), "name_no_diacritics")
    labels.add(np.flatnonzero(upper), "name_upper")


def _swap_birth_dates(rng: np.random.Generator, rows: Table, ctx: DefectContext, labels: _Labels) -> None:
    """Swap day and month of the birth date where that gives a different valid date."""
    year, month, day = year_month_day(rows["ngay_sinh"])
    eligible = (day <= 12) & (day != month)
    share = min(1.0, ctx.rates.dob_swapped * len(rows) / max(1, int(eligible.sum())))
    swap = np.flatnonzero(eligible & (rng.random(len(rows)) < share))
    births = rows["ngay_sinh"]
    for row in swap:
        births[row] = np.datetime64(f"{year[row]:04d}-{day[row]:02d}-{month[row]:02d}", "D")
    labels.add(swap, "dob_swapped")


def invalid_rank_code(rng: np.random.Generator, known: frozenset[str]) -> str:
    """A well-formed rank code that is not in the catalogue, e.g. "01.999"."""
    while True:
        if rng.random() < 0.7:
            code = f"{rng.choice(['01', '02', '03', '04', '06'])}.{int(rng.integers(900, 1000)):03d}"
        else:
            code = f"V.07.05.{int(rng.integers(90, 100)):02d}"
        if code not in known:
            return code


def _invalid_ranks(rng: np.random.Generator, rows: Table, ctx: DefectContext, labels: _Labels,
                   lost: np.ndarray) -> None:
    hit = np.flatnonzero((lost != "ma_ngach") & (rng.random(len(rows)) < ctx.rates.invalid_rank))
    for row in hit:
        rows["ma_ngach"][row] = invalid_rank_code(rng, ctx.rank_codes)
    labels.add(hit, "invalid_rank")


def _duplicate_record_ids(rng: np.random.Generator, rows: Table, ctx: DefectContext, labels: _Labels) -> None:
    """Give a few rows the record id of another row in the same file."""
    n = len(rows)
    if n < 2:
        return
    copiers = np.flatnonzero(rng.random(n) < ctx.rates.duplicate_record_id)
    originals = np.setdiff1d(np.arange(n), copiers)
    if not len(copiers) or not len(originals):
        return
    sources = rng.choice(originals, size=len(copiers))
    rows["ma_ho_so"][copiers] = rows["ma_ho_so"][sources]
    labels.add(copiers, "duplicate_record_id")


def _person_defects(rows: Table, labels: _Labels) -> None:
    """Person-level defects were decided when the persons were drawn."""
    for label in ("not_in_registry", "deceased_active"):
        labels.add(np.flatnonzero(rows["person_label"] == label), label)


def apply_defects(rng: np.random.Generator, rows: Table, ctx: DefectContext,
                  blank_id_share: float | None = None) -> Table:
    """A copy of the rows with defects injected and a "defects" label column added."""
    rows = rows.copy()
    labels = _Labels(len(rows))
    share = ctx.rates.blank_id if blank_id_share is None else blank_id_share
    _id_defects(rng, rows, ctx, labels, share)
    lost = _blank_required(rng, rows, ctx, labels)
    _name_defects(rng, rows, ctx, labels, lost)
    _swap_birth_dates(rng, rows, ctx, labels)
    _invalid_ranks(rng, rows, ctx, labels, lost)
    _duplicate_record_ids(rng, rows, ctx, labels)
    _person_defects(rows, labels)
    rows["defects"] = labels.joined()
    return rows
