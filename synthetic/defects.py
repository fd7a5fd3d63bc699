"""Record-level data-quality defects injected into extract rows, each recorded as a label for the truth files.

Every rate in ``DefectRates`` is a share of the rows of one file (or, for person-level defects, of the
records of one unit). The number of rows hit in a file is the rate times the file's rows, rounded up or
down at random so that it is right on average and never far off: a 50-row file gets 0 or 1 of a 1 % defect,
never 3. Rows are then picked at random among the rows the defect can apply to; when fewer rows qualify,
all of them are hit. Defects of one field group (identity, name, date of birth, residence) exclude each
other on a row; defects of different groups can meet on one row. ``docs/synthetic-data.md`` lists every
label with its exact meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np

from .names import (
    admin_key,
    can_typo,
    has_old_tone_form,
    old_tone_placement,
    strip_diacritics,
    typo,
    with_eth,
    without_middle,
)
from .reference import Reference
from .table import DAY, Table, YearOnly, stochastic_round, year_month_day

# Every label, in the order they are listed in a record's "defects" text.
LABELS = (
    "blank_id", "mistyped_id", "old_cmnd",
    "name_no_diacritics", "name_upper", "name_eth_d", "name_old_tone", "name_typo", "name_no_middle",
    "dob_swapped", "dob_placeholder", "dob_year_only", "dob_missing", "wrong_sex",
    "blank_required", "invalid_rank", "coef_off_scale", "unknown_ethnic", "recruited_under_18",
    "stale_record", "duplicate_record_id", "dup_person_in_unit", "transfer_two_units", "concurrent_two_units",
    "old_address", "old_address_split", "old_hometown",
    "not_in_registry", "deceased_active", "past_retirement",
)
REQUIRED_FIELDS = ("ho_va_ten", "loai", "ma_ngach")
PERSON_LABELS = ("not_in_registry", "deceased_active", "past_retirement")
ROW_LABELS = ("dup_person_in_unit", "transfer_two_units", "concurrent_two_units")
UNKNOWN_ETHNIC_CODES = ("00", "55", "56", "60", "99")
UNKNOWN_ETHNIC_NAMES = ("Khác", "Không xác định", "Chưa rõ", "Người nước ngoài")
COEFFICIENT_SLIPS = (0.01, 0.02, 0.03, 0.05, 0.1, 0.15)
STALE_YEARS = (3, 8)          # a stale record was last updated 3-8 years before its current update date
UNDER_AGE_YEARS = (15, 18)    # recruited at 15 to just under 18
YEAR_DAYS = 365.25


@dataclass(frozen=True)
class DefectRates:
    """How often each defect occurs: the share of a file's rows (record-level defects) or of a unit's
    records (person-level defects: the last six fields). The defaults are one picture of the world,
    milder than the 2025 figures; the command line's ``--rate`` sets any of them. ``docs/synthetic-data.md``
    explains each."""

    # identity (one per row)
    blank_id: float = 0.02
    mistyped_id: float = 0.01
    old_cmnd: float = 0.01
    # name (one per row)
    name_no_diacritics: float = 0.005
    name_upper: float = 0.005
    name_eth_d: float = 0.003
    name_old_tone: float = 0.004
    name_typo: float = 0.003
    name_no_middle: float = 0.003
    # date of birth (one per row)
    dob_swapped: float = 0.005
    dob_placeholder: float = 0.003
    dob_year_only: float = 0.002
    dob_missing: float = 0.002
    # other fields
    wrong_sex: float = 0.002
    blank_required: float = 0.005
    invalid_rank: float = 0.003
    coef_off_scale: float = 0.003
    unknown_ethnic: float = 0.002
    recruited_under_18: float = 0.002
    stale_record: float = 0.01
    duplicate_record_id: float = 0.003
    # residence (one per row) and hometown
    old_address: float = 0.025
    old_address_split: float = 0.005
    old_hometown: float = 0.03
    # person-level: decided when each unit's persons are drawn
    not_in_registry: float = 0.015
    deceased_active: float = 0.002
    past_retirement: float = 0.003
    dup_person_in_unit: float = 0.002
    transfer_two_units: float = 0.003
    concurrent_two_units: float = 0.002

    def scaled(self, factor: float) -> DefectRates:
        """Every rate multiplied by ``factor`` (capped at 1)."""
        return replace(self, **{f.name: min(1.0, getattr(self, f.name) * factor) for f in fields(self)})

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


NO_DEFECTS = DefectRates().scaled(0.0)


@dataclass(frozen=True, eq=False)
class DefectTables:
    """Reference data the defects draw on, reshaped once per generation."""

    pay_scale: dict[str, frozenset[str]]
    old_wards: dict[str, np.ndarray]        # 2025 ward code -> pre-2025 addresses merged whole into it
    split_wards: dict[str, np.ndarray]      # 2025 ward code -> pre-2025 addresses split across it and others

    @staticmethod
    def build(ref: Reference) -> DefectTables:
        keys: dict[tuple[str, str, str], set[str]] = {}
        for old in ref.old_wards:
            keys.setdefault((admin_key(old.name), admin_key(old.district), admin_key(old.province)), set()).add(
                old.code)
        whole: dict[str, list[str]] = {}
        split: dict[str, list[str]] = {}
        for old in ref.old_wards:
            if len(keys[(admin_key(old.name), admin_key(old.district), admin_key(old.province))]) > 1:
                continue  # a reader could not tell this old ward from another of the same name
            for new in old.new_wards:
                (split if old.split else whole).setdefault(new, []).append(old.address)
        return DefectTables(
            pay_scale={group: frozenset(steps.values()) for group, steps in ref.pay_scale.items()},
            old_wards={code: np.array(sorted(v), dtype=object) for code, v in whole.items()},
            split_wards={code: np.array(sorted(v), dtype=object) for code, v in split.items()},
        )


@dataclass(frozen=True, eq=False)
class DefectContext:
    """What the defect injector needs to know about the file and the registry.

    ``registry_ids`` are the registry's 12-digit IDs as a sorted int64 array (a sorted text array also
    works). ``tables`` is needed for the defects that draw on reference data; without it they are skipped.
    ``eth_possible`` is False for files whose encoding cannot hold Ð (Windows-1258, legacy fonts).
    """

    registry_ids: np.ndarray
    rank_codes: frozenset[str]
    rates: DefectRates = DefectRates()
    has_name_column: bool = True
    tables: DefectTables | None = None
    eth_possible: bool = True  # False when the file's encoding cannot hold Ð (U+00D0)


class _Labels:
    """Collects defect labels per row."""

    def __init__(self, n: int) -> None:
        self.rows: list[list[str]] = [[] for _ in range(n)]

    def add(self, rows: np.ndarray, label: str) -> None:
        for row in rows.tolist():
            self.rows[row].append(label)

    def joined(self) -> np.ndarray:
        order = {label: i for i, label in enumerate(LABELS)}
        return np.array([",".join(sorted(set(labels), key=order.__getitem__)) for labels in self.rows],
                        dtype=object)


class _Picker:
    """Chooses the rows of each defect: rate x rows (stochastically rounded) among the eligible rows."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng = rng
        self.n = n

    def pick(self, rate: float, eligible: np.ndarray, taken: np.ndarray | None = None) -> np.ndarray:
        """Sorted row numbers; marks them in ``taken`` (the rows of the same field group) when given."""
        return self.pick_where(rate, eligible, None, taken)

    def pick_where(self, rate: float, eligible: np.ndarray, test: Callable[[int], bool] | None,
                   taken: np.ndarray | None = None) -> np.ndarray:
        """Like ``pick``, where a row must also pass ``test``; rows are tested in random order only until
        enough are found, so a rare defect costs little on a large file."""
        wanted = stochastic_round(rate * self.n, self.rng) if rate > 0 else 0
        if not wanted:
            return np.zeros(0, dtype=np.int64)
        candidates = np.flatnonzero(eligible if taken is None else eligible & ~taken)
        order = self.rng.permutation(candidates)
        if test is None:
            chosen = order[:wanted]
        else:
            found: list[int] = []
            for row in order.tolist():
                if test(row):
                    found.append(row)
                    if len(found) == wanted:
                        break
            chosen = np.array(found, dtype=np.int64)
        chosen = np.sort(chosen)
        if taken is not None:
            taken[chosen] = True
        return chosen


def _is_registered(value: str, registry_ids: np.ndarray) -> bool:
    probe = int(value) if registry_ids.dtype.kind in "iu" else value
    at = np.searchsorted(registry_ids, probe)
    return bool(at < len(registry_ids) and registry_ids[at] == probe)


def _mistype(rng: np.random.Generator, value: str, registry_ids: np.ndarray) -> str:
    """Change one digit so that the result is not anybody's registry ID."""
    while True:
        position = int(rng.integers(len(value)))
        digit = (int(value[position]) + int(rng.integers(1, 10))) % 10
        typo_id = f"{value[:position]}{digit}{value[position + 1:]}"
        if not _is_registered(typo_id, registry_ids):
            return typo_id


def _filled(values: np.ndarray) -> np.ndarray:
    return np.array([value is not None and value != "" for value in values.tolist()], dtype=bool)


def _id_defects(pick: _Picker, rows: Table, ctx: DefectContext, labels: _Labels, blank_share: float) -> None:
    """Blank, mistyped or old 9-digit IDs; only for persons who are in the registry."""
    registered = rows["person_label"] != "not_in_registry"
    taken = np.zeros(len(rows), dtype=bool)
    blank = pick.pick(blank_share, registered, taken)
    mistyped = pick.pick(ctx.rates.mistyped_id, registered, taken)
    old = pick.pick(ctx.rates.old_cmnd, registered & _filled(rows["cmnd_cu"]), taken)
    ids = rows["so_dinh_danh"]
    ids[blank] = ""
    for row in mistyped.tolist():
        ids[row] = _mistype(pick.rng, ids[row], ctx.registry_ids)
    ids[old] = rows["cmnd_cu"][old]
    labels.add(blank, "blank_id")
    labels.add(mistyped, "mistyped_id")
    labels.add(old, "old_cmnd")


def _blank_required(pick: _Picker, rows: Table, ctx: DefectContext, labels: _Labels) -> np.ndarray:
    """Blank one required field; returns which field each row lost ("" for none)."""
    fields_ = REQUIRED_FIELDS if ctx.has_name_column else REQUIRED_FIELDS[1:]
    hit = pick.pick(ctx.rates.blank_required, np.ones(len(rows), dtype=bool))
    lost = np.full(len(rows), "", dtype=object)
    lost[hit] = pick.rng.choice(np.array(fields_, dtype=object), size=len(hit))
    for field in fields_:
        rows[field][lost == field] = ""
    labels.add(hit, "blank_required")
    return lost


def _name_defects(pick: _Picker, rows: Table, ctx: DefectContext, labels: _Labels, lost: np.ndarray) -> None:
    """At most one of: no diacritics, upper case, Ð for Đ, old tone placement, a typo, no middle name."""
    if not ctx.has_name_column:
        return
    names = rows["ho_va_ten"]
    usable = (lost != "ho_va_ten") & _filled(names)
    taken = np.zeros(len(rows), dtype=bool)
    rates = ctx.rates
    changes = (
        ("name_no_diacritics", rates.name_no_diacritics, lambda s: strip_diacritics(s) != s, strip_diacritics),
        ("name_upper", rates.name_upper, lambda s: s.upper() != s, str.upper),
        ("name_eth_d", rates.name_eth_d if ctx.eth_possible else 0.0, lambda s: "Đ" in s, with_eth),
        ("name_old_tone", rates.name_old_tone, has_old_tone_form, old_tone_placement),
        ("name_typo", rates.name_typo, can_typo, None),
        ("name_no_middle", rates.name_no_middle, lambda s: len(s.split(" ")) >= 3, without_middle),
    )
    for label, rate, applies, change in changes:
        hit = pick.pick_where(rate, usable, lambda row, test=applies: test(names[row]), taken)
        for row in hit.tolist():
            names[row] = typo(pick.rng, names[row]) if change is None else change(names[row])
        labels.add(hit, label)


def _birth_date_defects(pick: _Picker, rows: Table, ctx: DefectContext, labels: _Labels) -> np.ndarray:
    """At most one of: day and month swapped, 01/01 of the true year, the year alone, blank.
    Returns the rows whose date of birth was changed."""
    births = rows["ngay_sinh"].copy()
    year, month, day = year_month_day(births)
    taken = np.zeros(len(rows), dtype=bool)
    rates = ctx.rates
    swapped = pick.pick(rates.dob_swapped, (day <= 12) & (day != month), taken)
    placeholder = pick.pick(rates.dob_placeholder, (day != 1) | (month != 1), taken)
    year_only = pick.pick(rates.dob_year_only, np.ones(len(rows), dtype=bool), taken)
    missing = pick.pick(rates.dob_missing, np.ones(len(rows), dtype=bool), taken)
    births[swapped] = [np.datetime64(f"{y:04d}-{d:02d}-{m:02d}", "D")
                       for y, m, d in zip(year[swapped], month[swapped], day[swapped], strict=True)]
    births[placeholder] = [np.datetime64(f"{y:04d}-01-01", "D") for y in year[placeholder]]
    births[missing] = np.datetime64("NaT", "D")
    if len(year_only):  # a year alone is not a date: the column becomes dates and YearOnly values
        births = births.astype(object)
        for row in year_only.tolist():
            births[row] = YearOnly(f"{year[row]:04d}")
    rows["ngay_sinh"] = births
    for hit, label in ((swapped, "dob_swapped"), (placeholder, "dob_placeholder"), (year_only, "dob_year_only"),
                       (missing, "dob_missing")):
        labels.add(hit, label)
    return taken


def _wrong_sex(pick: _Picker, rows: Table, ctx: DefectContext, labels: _Labels) -> None:
    sex = rows["gioi_tinh"]
    hit = pick.pick(ctx.rates.wrong_sex, np.isin(sex, ["Nam", "Nữ"]))
    sex[hit] = np.where(sex[hit] == "Nam", "Nữ", "Nam")
    labels.add(hit, "wrong_sex")


def invalid_rank_code(rng: np.random.Generator, known: frozenset[str]) -> str:
    """A well-formed rank code that is not in the catalogue, e.g. "01.999"."""
    while True:
        if rng.random() < 0.7:
            code = f"{rng.choice(['01', '02', '03', '04', '06'])}.{int(rng.integers(900, 1000)):03d}"
        else:
            code = f"V.07.05.{int(rng.integers(90, 100)):02d}"
        if code not in known:
            return code


def _off_scale(rng: np.random.Generator, coefficient: str, on_scale: frozenset[str]) -> str:
    """A coefficient near the true one that is not a step of the pay group."""
    while True:
        slip = float(rng.choice(COEFFICIENT_SLIPS)) * (1 if rng.random() < 0.5 else -1)
        value = f"{max(0.5, float(coefficient) + slip):.2f}"
        if value not in on_scale:
            return value


def _rank_defects(pick: _Picker, rows: Table, ctx: DefectContext, labels: _Labels, lost: np.ndarray) -> None:
    """Unknown (well-formed) rank codes, and coefficients that are no step of the rank's pay group."""
    has_rank = (lost != "ma_ngach") & _filled(rows["ma_ngach"])
    taken = np.zeros(len(rows), dtype=bool)
    invalid = pick.pick(ctx.rates.invalid_rank, has_rank, taken)
    for row in invalid.tolist():
        rows["ma_ngach"][row] = invalid_rank_code(pick.rng, ctx.rank_codes)
    labels.add(invalid, "invalid_rank")
    if ctx.tables is None:
        return
    off = pick.pick(ctx.rates.coef_off_scale, has_rank & _filled(rows["he_so_luong"]), taken)
    for row in off.tolist():
        scale = ctx.tables.pay_scale[rows["pay_group"][row]]
        rows["he_so_luong"][row] = _off_scale(pick.rng, rows["he_so_luong"][row], scale)
    labels.add(off, "coef_off_scale")


def _unknown_ethnic(pick: _Picker, rows: Table, ctx: DefectContext, labels: _Labels) -> None:
    """An ethnic group that is neither a code 01-54 nor a name of the list, in the unit's own style."""
    values = rows["dan_toc"]
    hit = pick.pick(ctx.rates.unknown_ethnic, _filled(values))
    for row in hit.tolist():
        pool = UNKNOWN_ETHNIC_CODES if str(values[row]).isdigit() else UNKNOWN_ETHNIC_NAMES
        values[row] = pool[int(pick.rng.integers(len(pool)))]
    labels.add(hit, "unknown_ethnic")


def _employment_dates(pick: _Picker, rows: Table, ctx: DefectContext, labels: _Labels,
                      birth_changed: np.ndarray, true_births: np.ndarray) -> None:
    """Recruitment before the 18th birthday, and records not updated for years."""
    under = pick.pick(ctx.rates.recruited_under_18, ~birth_changed)
    low, high = (int(years * YEAR_DAYS) for years in UNDER_AGE_YEARS)
    days = pick.rng.integers(low, high - 1, size=len(under))
    rows["ngay_tuyen_dung"][under] = true_births[under] + days * DAY
    labels.add(under, "recruited_under_18")
    updated, hired = rows["ngay_cap_nhat"], rows["ngay_tuyen_dung"]
    youngest, oldest = (int(years * YEAR_DAYS) for years in STALE_YEARS)
    eligible = ~np.isnat(updated) & (hired <= updated - youngest * DAY)
    stale = pick.pick(ctx.rates.stale_record, eligible)
    span = np.minimum((updated[stale] - hired[stale]).astype(np.int64), oldest)
    back = youngest + (pick.rng.random(len(stale)) * (span - youngest + 1)).astype(np.int64)
    updated[stale] = updated[stale] - back * DAY
    labels.add(stale, "stale_record")


def _duplicate_record_ids(pick: _Picker, rows: Table, ctx: DefectContext, labels: _Labels) -> None:
    """Give a few rows the record id of another row in the same file; both rows are labelled."""
    n = len(rows)
    if n < 2:
        return
    copiers = pick.pick(ctx.rates.duplicate_record_id, np.ones(n, dtype=bool))
    originals = np.setdiff1d(np.arange(n), copiers)
    if not len(copiers) or not len(originals):
        return
    sources = pick.rng.choice(originals, size=len(copiers))
    rows["ma_ho_so"][copiers] = rows["ma_ho_so"][sources]
    labels.add(copiers, "duplicate_record_id")
    labels.add(np.unique(sources), "duplicate_record_id")  # both rows now share one record id


def _old_addresses(pick: _Picker, rows: Table, ctx: DefectContext, labels: _Labels) -> np.ndarray:
    """Residence or hometown written with pre-2025 ward, district and province names.

    Returns the address form of each row's residence: "new", "old" or "old_split"."""
    form = np.full(len(rows), "new", dtype=object)
    if ctx.tables is None:
        return form
    wards = rows["ma_xa_thuong_tru"]
    taken = np.zeros(len(rows), dtype=bool)
    everyone = np.ones(len(rows), dtype=bool)
    for label, rate, pools, kind in (("old_address", ctx.rates.old_address, ctx.tables.old_wards, "old"),
                                     ("old_address_split", ctx.rates.old_address_split, ctx.tables.split_wards,
                                      "old_split")):
        hit = pick.pick_where(rate, everyone, lambda row, known=pools: wards[row] in known, taken)
        _write_old(pick.rng, rows["noi_thuong_tru"], wards, hit, pools)
        form[hit] = kind
        labels.add(hit, label)
    hometowns = rows["que_quan_xa"]
    pools = ctx.tables.old_wards
    hit = pick.pick_where(ctx.rates.old_hometown, everyone, lambda row: hometowns[row] in pools)
    _write_old(pick.rng, rows["que_quan"], hometowns, hit, pools)
    labels.add(hit, "old_hometown")
    return form


def _write_old(rng: np.random.Generator, column: np.ndarray, wards: np.ndarray, hit: np.ndarray,
               pools: dict[str, np.ndarray]) -> None:
    for row in hit.tolist():
        pool = pools[wards[row]]
        column[row] = pool[int(rng.integers(len(pool)))]


def _preset_labels(rows: Table, labels: _Labels) -> None:
    """Person-level and cross-record labels were decided when the persons and records were drawn."""
    for label in PERSON_LABELS:
        labels.add(np.flatnonzero(rows["person_label"] == label), label)
    if "row_labels" not in rows.columns:
        return
    for label in ROW_LABELS:
        labels.add(np.flatnonzero(rows["row_labels"] == label), label)
    # A person listed twice is a defect of a file only where both records are in it (an older month or
    # an extract of a few rows may hold one of them).
    twice = np.flatnonzero(rows["row_labels"] == "dup_person_in_unit")
    keys = rows["person_key"][twice]
    unique, counts = np.unique(keys.astype(str), return_counts=True)
    alone = set(unique[counts < 2].tolist())
    for row in twice.tolist():
        if rows["person_key"][row] in alone:
            labels.rows[row].remove("dup_person_in_unit")


def apply_defects(rng: np.random.Generator, rows: Table, ctx: DefectContext,
                  blank_id_share: float | None = None) -> Table:
    """A copy of the rows with defects injected, a "defects" label column and an "address_form" column."""
    rows = rows.copy()
    labels = _Labels(len(rows))
    pick = _Picker(rng, len(rows))
    share = ctx.rates.blank_id if blank_id_share is None else blank_id_share
    true_births = rows["ngay_sinh"].copy()
    _id_defects(pick, rows, ctx, labels, share)
    lost = _blank_required(pick, rows, ctx, labels)
    _name_defects(pick, rows, ctx, labels, lost)
    birth_changed = _birth_date_defects(pick, rows, ctx, labels)
    _wrong_sex(pick, rows, ctx, labels)
    _rank_defects(pick, rows, ctx, labels, lost)
    _unknown_ethnic(pick, rows, ctx, labels)
    _employment_dates(pick, rows, ctx, labels, birth_changed, true_births)
    _duplicate_record_ids(pick, rows, ctx, labels)
    address_form = _old_addresses(pick, rows, ctx, labels) if "ma_xa_thuong_tru" in rows.columns else None
    _preset_labels(rows, labels)
    rows["defects"] = labels.joined()
    if address_form is not None:
        rows["address_form"] = address_form
    return rows

