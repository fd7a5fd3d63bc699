"""Agency names (co_quan) and job titles (chuc_vu) that are plausible for each unit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .reference import Reference, Unit

TEACHER_RANK_PREFIX = "V.07."
DOCTOR_RANK_PREFIX = "V.08."
INSPECTOR_RANK_PREFIX = "04."
SENIOR_TITLE_AGE = 40
SENIOR_TITLE_LEVEL = 2

_PROVINCE_DEPARTMENTS = (
    "Văn phòng Ủy ban nhân dân", "Sở Nội vụ", "Sở Tài chính", "Sở Tư pháp", "Sở Xây dựng",
    "Sở Công Thương", "Sở Nông nghiệp và Môi trường", "Sở Giáo dục và Đào tạo", "Sở Y tế",
    "Sở Khoa học và Công nghệ", "Sở Văn hóa, Thể thao và Du lịch", "Sở Ngoại vụ", "Sở Dân tộc và Tôn giáo",
)
_MINISTRY_DEPARTMENTS = (
    "Văn phòng Bộ", "Vụ Tổ chức cán bộ", "Vụ Kế hoạch - Tài chính", "Vụ Pháp chế", "Vụ Hợp tác quốc tế",
    "Vụ Khoa học và Công nghệ", "Cục Chuyển đổi số",
)
_AGENCY_DEPARTMENTS = ("Văn phòng", "Ban Tổ chức cán bộ", "Ban Kế hoạch - Tài chính", "Ban Hợp tác quốc tế",
                       "Ban Pháp chế")
_SCHOOL_NAMESAKES = (
    "Chu Văn An", "Lê Quý Đôn", "Nguyễn Du", "Nguyễn Trãi", "Trần Phú", "Phan Bội Châu", "Lê Lợi",
    "Quang Trung", "Hùng Vương", "Lương Thế Vinh", "Nguyễn Huệ", "Trần Hưng Đạo", "Lý Thường Kiệt",
    "Nguyễn Thị Minh Khai", "Võ Thị Sáu", "Phan Châu Trinh", "Huỳnh Thúc Kháng", "Ngô Quyền",
    "Lê Hồng Phong", "Nguyễn Bỉnh Khiêm", "Nguyễn Đình Chiểu", "Hai Bà Trưng", "Bùi Thị Xuân",
    "Tô Hiến Thành", "Nguyễn Khuyến", "Lê Thánh Tông", "Nguyễn Văn Cừ", "Trần Quốc Toản",
)
_CENTRAL_SCHOOLS = {
    "dai-hoc-quoc-gia-ha-noi": ("Trường THPT Chuyên Khoa học Tự nhiên", "Trường THPT Chuyên Ngoại ngữ",
                                "Trường Đại học Khoa học Tự nhiên", "Trường Đại học Công nghệ"),
    "dai-hoc-quoc-gia-tphcm": ("Trường Phổ thông Năng khiếu", "Trường Đại học Bách khoa",
                               "Trường Đại học Khoa học Tự nhiên", "Trường Đại học Kinh tế - Luật"),
    "bo-giao-duc-va-dao-tao": ("Trường THPT Chuyên Đại học Sư phạm", "Trường Đại học Sư phạm Hà Nội",
                               "Trường Đại học Sư phạm Thành phố Hồ Chí Minh"),
    "bo-y-te": ("Trường Đại học Y Hà Nội", "Trường Đại học Dược Hà Nội"),
}
_CENTRAL_HOSPITALS = {
    "bo-y-te": ("Bệnh viện Bạch Mai", "Bệnh viện Chợ Rẫy", "Bệnh viện Hữu nghị Việt Đức", "Bệnh viện K",
                "Bệnh viện Nhi Trung ương", "Bệnh viện Trung ương Huế", "Bệnh viện Phổi Trung ương",
                "Bệnh viện Mắt Trung ương"),
    "dai-hoc-quoc-gia-ha-noi": ("Bệnh viện Đại học Quốc gia Hà Nội",),
}
# Teachers' share of public employees (the rest are doctors) by unit.
_TEACHER_SHARE = {"bo-y-te": 0.1, "bo-giao-duc-va-dao-tao": 0.9, "dai-hoc-quoc-gia-ha-noi": 0.9,
                  "dai-hoc-quoc-gia-tphcm": 0.9, "hoc-vien-chinh-tri-quoc-gia": 0.9}

# Job titles per agency type: (title, weight, minimum age). "" means no title given.
Position = tuple[str, float, int]
_HEAD = (("Giám đốc", 0.005, 45), ("Phó Giám đốc", 0.015, 40), ("Trưởng phòng", 0.06, 35),
         ("Phó Trưởng phòng", 0.10, 32))
_INSPECT = (("Chánh Thanh tra", 0.01, 45), ("Phó Chánh Thanh tra", 0.03, 40), ("Trưởng phòng", 0.08, 35),
            ("Phó Trưởng phòng", 0.10, 32), ("Thanh tra viên", 0.40, 0), ("", 0.38, 0))
_SCHOOL = (("Hiệu trưởng", 0.02, 40), ("Phó Hiệu trưởng", 0.04, 35), ("Tổ trưởng chuyên môn", 0.10, 30),
           ("Giáo viên", 0.50, 0), ("", 0.34, 0))
_HOSPITAL = (("Giám đốc", 0.005, 45), ("Phó Giám đốc", 0.015, 40), ("Trưởng khoa", 0.06, 38),
             ("Phó Trưởng khoa", 0.08, 35), ("Bác sĩ điều trị", 0.40, 0), ("", 0.44, 0))
_COUNCIL = (("Chủ tịch Hội đồng nhân dân", 0.15, 35), ("Phó Chủ tịch Hội đồng nhân dân", 0.35, 32),
            ("Trưởng ban", 0.30, 30), ("", 0.20, 0))
POSITIONS: dict[str, tuple[Position, ...]] = {
    "so": (*_HEAD, ("Chuyên viên", 0.45, 0), ("", 0.37, 0)),
    "ubnd_xa": (("Trưởng phòng", 0.06, 32), ("Phó Trưởng phòng", 0.08, 30), ("Chuyên viên", 0.50, 0),
                ("", 0.36, 0)),
    "ubnd_xa:can_bo": (("Chủ tịch Ủy ban nhân dân", 0.2, 35), ("Phó Chủ tịch Ủy ban nhân dân", 0.5, 30),
                       ("", 0.3, 0)),
    "hdnd_xa": _COUNCIL,
    "hdnd_tinh": _COUNCIL,
    "thanh_tra": _INSPECT,
    "school": _SCHOOL,
    "hospital": _HOSPITAL,
    "ministry_dept": (("Vụ trưởng", 0.01, 45), ("Phó Vụ trưởng", 0.03, 40), ("Trưởng phòng", 0.07, 35),
                      ("Phó Trưởng phòng", 0.10, 32), ("Chuyên viên", 0.45, 0), ("", 0.34, 0)),
    "central_dept": (("Trưởng ban", 0.01, 45), ("Phó Trưởng ban", 0.03, 40), ("Trưởng phòng", 0.07, 35),
                     ("Phó Trưởng phòng", 0.10, 32), ("Chuyên viên", 0.45, 0), ("", 0.34, 0)),
    "central_inspect": _INSPECT,
    "central_school": _SCHOOL,
    "central_hospital": _HOSPITAL,
}


def short_place(name: str) -> str:
    """Drop the administrative word: "Tỉnh Cao Bằng" -> "Cao Bằng", "Phường Ba Đình" -> "Ba Đình"."""
    for word in ("Thành phố ", "Tỉnh ", "Phường ", "Xã ", "Đặc khu "):
        if name.startswith(word):
            return name[len(word):]
    return name


def teacher_share(unit: Unit) -> float:
    """Share of public employees who are teachers (the others are doctors)."""
    if unit.kind == "province":
        return 0.65
    return _TEACHER_SHARE.get(unit.code, 0.5)


@dataclass(frozen=True)
class AgencyCatalog:
    """The agency names one unit uses, grouped by agency type."""

    names: dict[str, tuple[str, ...]]


def _province_catalog(rng: np.random.Generator, unit: Unit, ref: Reference, size: int) -> AgencyCatalog:
    province = ref.provinces[unit.province_code]
    short = short_place(province)
    wards = [name for _, name in ref.wards[unit.province_code]]
    namesakes = [*_SCHOOL_NAMESAKES, *(short_place(w) for w in wards)]
    n_schools = min(len(namesakes), max(3, size // 40))
    schools = [f"Trường THPT Chuyên {short}"] + [
        f"Trường THPT {namesakes[i]}" for i in sorted(rng.choice(len(namesakes), n_schools, replace=False))]
    n_centres = min(len(wards), max(2, size // 150))
    hospitals = [f"Bệnh viện Đa khoa {short}", f"Bệnh viện Sản - Nhi {short}", f"Bệnh viện Phổi {short}",
                 f"Bệnh viện Y dược cổ truyền {short}", f"Trung tâm Kiểm soát bệnh tật {short}"] + [
        f"Trung tâm Y tế khu vực {short_place(wards[i])}"
        for i in sorted(rng.choice(len(wards), n_centres, replace=False))]
    return AgencyCatalog({
        "so": tuple(f"{d} {province}" for d in _PROVINCE_DEPARTMENTS),
        "ubnd_xa": tuple(f"Ủy ban nhân dân {w}" for w in wards),
        "hdnd_xa": tuple(f"Hội đồng nhân dân {w}" for w in wards),
        "hdnd_tinh": (f"Hội đồng nhân dân {province}",
                      f"Văn phòng Đoàn đại biểu Quốc hội và Hội đồng nhân dân {province}"),
        "thanh_tra": (f"Thanh tra {province}",),
        "school": tuple(dict.fromkeys(schools)),
        "hospital": tuple(hospitals),
    })


def _central_catalog(unit: Unit) -> AgencyCatalog:
    ministry = unit.name.startswith("Bộ ")
    departments = _MINISTRY_DEPARTMENTS if ministry else _AGENCY_DEPARTMENTS
    inspect = (f"Thanh tra {unit.name}",) if ministry else (f"Ban Thanh tra - {unit.name}",)
    return AgencyCatalog({
        "ministry_dept" if ministry else "central_dept": tuple(f"{d} - {unit.name}" for d in departments),
        "central_inspect": inspect,
        "central_school": _CENTRAL_SCHOOLS.get(unit.code, (f"Trường Bồi dưỡng cán bộ - {unit.name}",)),
        "central_hospital": _CENTRAL_HOSPITALS.get(unit.code, (f"Trung tâm Y tế - {unit.name}",)),
    })


def build_catalog(rng: np.random.Generator, unit: Unit, ref: Reference, size: int) -> AgencyCatalog:
    """The agencies a unit's records are spread over."""
    return _province_catalog(rng, unit, ref, size) if unit.kind == "province" else _central_catalog(unit)


def _province_types(rng: np.random.Generator, loai: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    n = len(loai)
    council = rng.choice(np.array(["ubnd_xa", "hdnd_xa", "hdnd_tinh"], dtype=object), n, p=[0.6, 0.25, 0.15])
    civil = np.where(rng.random(n) < 0.55, "so", "ubnd_xa").astype(object)
    public = np.where(_starts(ranks, DOCTOR_RANK_PREFIX), "hospital", "school").astype(object)
    civil = np.where(_starts(ranks, INSPECTOR_RANK_PREFIX), "thanh_tra", civil)
    return np.where(loai == "can_bo", council, np.where(loai == "cong_chuc", civil, public)).astype(object)


def _central_types(unit: Unit, loai: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    dept = "ministry_dept" if unit.name.startswith("Bộ ") else "central_dept"
    civil = np.where(_starts(ranks, INSPECTOR_RANK_PREFIX) & (loai == "cong_chuc"), "central_inspect", dept)
    public = np.where(_starts(ranks, DOCTOR_RANK_PREFIX), "central_hospital", "central_school")
    return np.where(loai == "vien_chuc", public, civil).astype(object)


def _starts(values: np.ndarray, prefix: str) -> np.ndarray:
    return np.array([value.startswith(prefix) for value in values], dtype=bool)


def agency_types(rng: np.random.Generator, unit: Unit, loai: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """The kind of agency each record works in, consistent with its category and rank."""
    if unit.kind == "province":
        return _province_types(rng, loai, ranks)
    return _central_types(unit, loai, ranks)


def draw_agencies(rng: np.random.Generator, catalog: AgencyCatalog, types: np.ndarray) -> np.ndarray:
    """An agency name per record; the first names of each type are a little more common."""
    names = np.empty(len(types), dtype=object)
    for kind in sorted(set(types.tolist())):
        rows = np.flatnonzero(types == kind)
        pool = catalog.names[kind]
        weights = 1.0 / np.sqrt(np.arange(1, len(pool) + 1))
        names[rows] = np.asarray(pool, dtype=object)[rng.choice(len(pool), len(rows), p=weights / weights.sum())]
    return names


def draw_positions(rng: np.random.Generator, types: np.ndarray, loai: np.ndarray, ages: np.ndarray,
                   levels: np.ndarray) -> np.ndarray:
    """A job title per record; senior titles only go to people old and senior enough to hold them.

    ``levels`` is the rank level of each record (see ``records.rank_level``); titles whose minimum
    age is 40 or more also need a rank of level 2 (A2) or above.
    """
    titles = np.empty(len(types), dtype=object)
    keys = np.where((loai == "can_bo") & (types == "ubnd_xa"), "ubnd_xa:can_bo", types)
    for key in sorted(set(keys.tolist())):
        rows = np.flatnonzero(keys == key)
        options = POSITIONS[key]
        base = np.array([weight for _, weight, _ in options])
        min_ages = np.array([min_age for _, _, min_age in options])
        allowed = (ages[rows][:, None] >= min_ages[None, :]) & (
            (min_ages[None, :] < SENIOR_TITLE_AGE) | (levels[rows][:, None] >= SENIOR_TITLE_LEVEL))
        weights = base[None, :] * allowed
        cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
        picks = (rng.random((len(rows), 1)) > cumulative).sum(axis=1)
        picks = np.minimum(picks, len(options) - 1)
        titles[rows] = np.array([title for title, _, _ in options], dtype=object)[picks]
    return titles
