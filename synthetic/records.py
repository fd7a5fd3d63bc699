"""Personnel records of one unit: the employment facts that go into its extract files.

``make_records`` turns the persons of one unit into records (one per person) from a numpy
Generator; ``older_snapshot`` derives the unit's previous month from its current records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .agencies import agency_types, build_catalog, draw_agencies, draw_positions, teacher_share
from .reference import Rank, Reference
from .table import DAY, Table, age_at, to_dt64, uniform_dates
from .units import UnitPlan

COLUMNS = (
    "ma_ho_so", "ho_va_ten", "ngay_sinh", "gioi_tinh", "so_dinh_danh", "que_quan", "noi_thuong_tru",
    "dan_toc", "loai", "co_quan", "chuc_vu", "ma_ngach", "bac_luong", "he_so_luong", "ngay_tuyen_dung",
    "trinh_do_chuyen_mon", "trang_thai", "ngay_cap_nhat",
)
DATE_COLUMNS = ("ngay_sinh", "ngay_tuyen_dung", "ngay_cap_nhat")
ACTIVE = "Đang công tác"
RETIRED = "Nghỉ hưu"
TRANSFERRED = "Chuyển công tác"
RETIRE_SHARE = 0.01
RETIRE_MIN_AGE = 55
UPDATE_WINDOW_DAYS = 360  # last-update dates fall within this many days before as-of
EDUCATION = ("Tiến sĩ", "Thạc sĩ", "Đại học", "Cao đẳng", "Trung cấp")

# Share of cán bộ / công chức / viên chức by kind of unit.
_LOAI = np.array(["can_bo", "cong_chuc", "vien_chuc"], dtype=object)
_LOAI_P_PROVINCE = (0.05, 0.25, 0.70)
_LOAI_P_CENTRAL = (0.01, 0.79, 0.20)
_LOAI_P_CENTRAL_BY_UNIT = {
    **dict.fromkeys(("dai-hoc-quoc-gia-ha-noi", "dai-hoc-quoc-gia-tphcm", "hoc-vien-chinh-tri-quoc-gia"),
                    (0.01, 0.14, 0.85)),
    # Their journalists and researchers hold ranks outside the catalogue, so fewer viên chức here.
    **dict.fromkeys(("vien-han-lam-khcn", "vien-han-lam-khxh", "dai-truyen-hinh-viet-nam",
                     "dai-tieng-noi-viet-nam", "thong-tan-xa-viet-nam"), (0.01, 0.69, 0.30)),
    **dict.fromkeys(("bo-y-te", "bo-giao-duc-va-dao-tao"), (0.01, 0.39, 0.60)),
}
# Probability of a rank level (3 = A3 senior ... 0 = A0/B/C) by age band (<35, 35-49, 50+).
_LEVEL_P = (
    {3: 0.00, 2: 0.03, 1: 0.85, 0: 0.12},
    {3: 0.03, 2: 0.30, 1: 0.60, 0: 0.07},
    {3: 0.10, 2: 0.40, 1: 0.45, 0: 0.05},
)
# Education level probabilities (in EDUCATION order) by pay-group family.
_EDUCATION_P = {
    "A3": (0.35, 0.55, 0.10, 0.0, 0.0), "A2": (0.08, 0.50, 0.42, 0.0, 0.0),
    "A1": (0.01, 0.15, 0.84, 0.0, 0.0), "A0": (0.0, 0.0, 0.30, 0.60, 0.10), "B": (0.0, 0.0, 0.0, 0.20, 0.80),
}
# Share of each civil-servant rank family among civil servants of the same level.
_CIVIL_FAMILY_WEIGHT = {"01.": 0.70, "02.": 0.15, "04.": 0.15}


def rank_level(pay_group: str) -> int:
    """Seniority level of a pay group: A3 -> 3, A2 -> 2, A1 -> 1, anything lower -> 0."""
    for prefix, level in (("A3", 3), ("A2", 2), ("A1", 1)):
        if pay_group.startswith(prefix):
            return level
    return 0


def _pay_family(pay_group: str) -> str:
    return pay_group[:2] if pay_group[:2] in ("A3", "A2", "A1", "A0") else "B"


@dataclass(frozen=True, eq=False)
class Lookups:
    """Reference data reshaped for record building."""

    ref: Reference
    ward_names: dict[str, str]
    ward_province: dict[str, str]

    @staticmethod
    def build(ref: Reference) -> Lookups:
        names = {code: name for wards in ref.wards.values() for code, name in wards}
        province = {code: prov for prov, wards in ref.wards.items() for code, _ in wards}
        return Lookups(ref, names, province)

    def address(self, ward_codes: np.ndarray) -> np.ndarray:
        """Free-text address "Phường X, Thành phố Y" for each 2025 ward code."""
        return np.array([f"{self.ward_names[w]}, {self.ref.provinces[self.ward_province[w]]}"
                         for w in ward_codes], dtype=object)


def _loai(rng: np.random.Generator, plan: UnitPlan, n: int) -> np.ndarray:
    if plan.unit.kind == "province":
        p = _LOAI_P_PROVINCE
    else:
        p = _LOAI_P_CENTRAL_BY_UNIT.get(plan.unit.code, _LOAI_P_CENTRAL)
    return rng.choice(_LOAI, size=n, p=p)


def _rank_weights(ranks: tuple[Rank, ...], band: int, teachers: float) -> np.ndarray:
    """Probability of each rank (of one category) for one age band."""
    base = np.empty(len(ranks))
    for i, rank in enumerate(ranks):
        if rank.category == "cong_chuc":
            base[i] = next((w for p, w in _CIVIL_FAMILY_WEIGHT.items() if rank.code.startswith(p)), 0.05)
        elif rank.code.startswith("V.07."):
            base[i] = teachers
        elif rank.code.startswith("V.08."):
            base[i] = 1.0 - teachers
        else:
            base[i] = 0.5
    levels = np.array([rank_level(rank.pay_group) for rank in ranks])
    weights = np.zeros(len(ranks))
    for level in set(levels.tolist()):
        same = levels == level
        if base[same].sum() > 0:
            weights[same] = _LEVEL_P[band][level] * base[same] / base[same].sum()
    if weights.sum() == 0:
        weights = np.ones(len(ranks))
    return weights / weights.sum()


def draw_ranks(rng: np.random.Generator, ref: Reference, loai: np.ndarray, ages: np.ndarray,
               teachers: float) -> np.ndarray:
    """Rank code per record, consistent with its category and plausible for its age."""
    codes = np.empty(len(loai), dtype=object)
    band = np.digitize(ages, [35, 50])
    for category in ("cong_chuc", "vien_chuc"):
        ranks = tuple(r for r in ref.ranks if r.category == category)
        wanted = (loai == "vien_chuc") if category == "vien_chuc" else (loai != "vien_chuc")
        for b in range(3):
            rows = np.flatnonzero(wanted & (band == b))
            picks = rng.choice(len(ranks), size=len(rows), p=_rank_weights(ranks, b, teachers))
            codes[rows] = np.array([r.code for r in ranks], dtype=object)[picks]
    return codes


def _hire_dates(rng: np.random.Generator, births: np.ndarray, latest: date) -> np.ndarray:
    """Recruitment dates at age 18-35 (most in the early twenties), never after ``latest``."""
    earliest = births + 6575 * DAY          # at least 18 full years
    last = np.minimum(births + 13147 * DAY, to_dt64(latest) - DAY)  # before the 36th birthday
    span = np.maximum((last - earliest).astype(np.int64), 0)
    return earliest + (rng.beta(1.5, 3.0, size=len(births)) * span).astype(np.int64) * DAY


def pay_steps(rng: np.random.Generator, ref: Reference, pay_groups: np.ndarray, hired: np.ndarray,
              on: date) -> np.ndarray:
    """Salary step from years of service, capped at the pay group's top step."""
    years = (to_dt64(on) - hired).astype(np.int64) / 365.25
    levels = np.array([rank_level(g) for g in pay_groups])
    years = np.where(levels >= 2, years * rng.uniform(0.3, 1.0, size=len(years)), years)
    interval = np.array([3 if g.startswith("A") else 2 for g in pay_groups])
    steps = 1 + (years // interval).astype(np.int64) - rng.integers(0, 2, size=len(years))
    top = np.array([max(ref.pay_scale[g]) for g in pay_groups])
    return np.clip(steps, 1, top)


def coefficients(ref: Reference, pay_groups: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The pay-scale coefficient text ("4.32") of each (pay group, step)."""
    return np.array([ref.pay_scale[g][int(s)] for g, s in zip(pay_groups, steps, strict=True)], dtype=object)


def _education(rng: np.random.Generator, pay_groups: np.ndarray) -> np.ndarray:
    result = np.empty(len(pay_groups), dtype=object)
    families = np.array([_pay_family(g) for g in pay_groups], dtype=object)
    for family, p in _EDUCATION_P.items():
        rows = np.flatnonzero(families == family)
        result[rows] = np.asarray(EDUCATION, dtype=object)[rng.choice(len(EDUCATION), size=len(rows), p=p)]
    return result


def _statuses(rng: np.random.Generator, forced: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """Employment status: forced values where given, a few retirements among the oldest, else active."""
    status = np.where(forced != "", forced, ACTIVE).astype(object)
    candidates = np.flatnonzero((forced == "") & (ages >= RETIRE_MIN_AGE))
    n_retired = min(len(candidates), int(rng.binomial(len(ages), RETIRE_SHARE)))
    status[rng.choice(candidates, size=n_retired, replace=False)] = RETIRED
    return status


def record_ids(rng: np.random.Generator, prefix: str, n: int) -> np.ndarray:
    """Distinct unit record ids like "HN-000123", in random order."""
    span = max(1000, 10 * n)
    width = max(6, len(str(span)))
    numbers = rng.choice(span, size=n, replace=False) + 1
    return np.array([f"{prefix}-{number:0{width}d}" for number in numbers], dtype=object)


def make_records(rng: np.random.Generator, plan: UnitPlan, people: Table, forced_status: np.ndarray,
                 lookups: Lookups, as_of: date, row_labels: np.ndarray | None = None) -> Table:
    """One record per person of the unit, as of the unit's current file date.

    Besides the extract ``COLUMNS`` a record keeps what the defects and the truth need: the pay group,
    the person's key, true ID, old ID and person-level label, the true 2025 wards of residence and
    hometown, and ``row_labels`` (a cross-record label such as "transfer_two_units", or "").
    """
    ref, n = lookups.ref, len(people)
    row_labels = np.full(n, "", dtype=object) if row_labels is None else row_labels
    ages = age_at(people["ngay_sinh"], as_of)
    loai = _loai(rng, plan, n)
    ranks = draw_ranks(rng, ref, loai, ages, teacher_share(plan.unit))
    rank_group = {r.code: r.pay_group for r in ref.ranks}
    pay_groups = np.array([rank_group[c] for c in ranks], dtype=object)
    hired = _hire_dates(rng, people["ngay_sinh"], plan.earliest_date)
    steps = pay_steps(rng, ref, pay_groups, hired, plan.current_date)
    types = agency_types(rng, plan.unit, loai, ranks)
    catalog = build_catalog(rng, plan.unit, ref, plan.size)
    file_day = to_dt64(plan.current_date)
    ethnic = people["dan_toc"] if plan.ethnic_as_code else np.array(
        [ref.ethnic_groups[c] for c in people["dan_toc"]], dtype=object)
    return Table({
        "ma_ho_so": record_ids(rng, plan.record_prefix, n),
        "ho_va_ten": people["ho_va_ten"].copy(),
        "ngay_sinh": people["ngay_sinh"].copy(),
        "gioi_tinh": people["gioi_tinh"].copy(),
        "so_dinh_danh": people["so_dinh_danh"].copy(),
        "que_quan": lookups.address(people["que_quan_xa"]),
        "noi_thuong_tru": lookups.address(people["ma_xa_thuong_tru"]),
        "dan_toc": ethnic,
        "loai": loai,
        "co_quan": draw_agencies(rng, catalog, types),
        "chuc_vu": draw_positions(rng, types, loai, ages, np.array([rank_level(g) for g in pay_groups])),
        "ma_ngach": ranks,
        "bac_luong": steps.astype(np.int64),
        "he_so_luong": coefficients(ref, pay_groups, steps),
        "ngay_tuyen_dung": hired,
        "trinh_do_chuyen_mon": _education(rng, pay_groups),
        "trang_thai": _statuses(rng, forced_status, ages),
        "ngay_cap_nhat": uniform_dates(rng, np.maximum(to_dt64(as_of) - UPDATE_WINDOW_DAYS * DAY, hired),
                                       np.full(n, file_day)),
        "pay_group": pay_groups,
        "person_key": people["person_key"].copy(),
        "true_id": people["true_id"].copy(),
        "cmnd_cu": people["cmnd_cu"].copy(),
        "person_label": people["person_label"].copy(),
        "ma_xa_thuong_tru": people["ma_xa_thuong_tru"].copy(),
        "que_quan_xa": people["que_quan_xa"].copy(),
        "row_labels": row_labels.copy(),
    })


def sort_by_record_id(rows: Table) -> Table:
    return rows.take(np.argsort(rows["ma_ho_so"].astype(str), kind="stable"))


def older_snapshot(rng: np.random.Generator, current: Table, leavers: Table, plan: UnitPlan,
                   ref: Reference, as_of: date) -> Table:
    """The unit's previous month: recent hires absent, leavers present, a few earlier values."""
    n = len(current)
    newly_hired = rng.random(n) < 0.02
    kept = current.take(~newly_hired)
    kept["trang_thai"] = np.full(len(kept), ACTIVE, dtype=object)  # status changes happened this month
    older = Table.concat([kept.copy(), leavers.copy()])
    m = len(older)
    older_day = to_dt64(plan.older_date)
    raised = (rng.random(m) < 0.03) & (older["bac_luong"] > 1)
    older["bac_luong"] = np.where(raised, older["bac_luong"] - 1, older["bac_luong"])
    older["he_so_luong"] = coefficients(ref, older["pay_group"], older["bac_luong"])
    promoted = rng.random(m) < 0.01
    older["chuc_vu"] = np.where(promoted, "", older["chuc_vu"]).astype(object)
    window_start = to_dt64(as_of) - UPDATE_WINDOW_DAYS * DAY
    redrawn = uniform_dates(rng, np.maximum(window_start, older["ngay_tuyen_dung"]),
                            np.full(m, older_day))
    older["ngay_cap_nhat"] = np.where(older["ngay_cap_nhat"] <= older_day, older["ngay_cap_nhat"], redrawn)
    return sort_by_record_id(older)
