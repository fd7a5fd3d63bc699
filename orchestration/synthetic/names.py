"""Vietnamese personal names: word lists and a vectorised name drawer.

Names are written surname first, then one or two middle names, then the given name.
All text is NFC; "Đ" is U+0110.
"""

from __future__ import annotations

import unicodedata

import numpy as np


def _nfc_all(words: list[str]) -> tuple[str, ...]:
    return tuple(unicodedata.normalize("NFC", word) for word in words)


# Main surnames with their approximate share of the population (percent).
_MAIN_SURNAMES: dict[str, float] = {
    "Nguyễn": 38.0, "Trần": 11.0, "Lê": 9.5, "Phạm": 7.0, "Hoàng": 3.0, "Huỳnh": 2.0,
    "Phan": 4.5, "Vũ": 2.1, "Võ": 1.8, "Đặng": 2.1, "Bùi": 2.0, "Đỗ": 1.4, "Hồ": 1.3, "Ngô": 1.3,
}
# The remaining ~13 % is spread over these, the earlier ones a little more common.
_OTHER_SURNAMES = [
    "Dương", "Lý", "Đinh", "Trương", "Lâm", "Mai", "Tô", "Hà", "Cao", "Lưu", "Châu", "Tạ", "Trịnh",
    "Đoàn", "Đào", "Lương", "Quách", "Kiều", "Thái", "La", "Vương", "Triệu", "Hứa", "Từ", "Chu",
    "Phùng", "Âu", "Doãn", "Khổng", "Giang",
]


def _surname_table() -> tuple[tuple[str, ...], np.ndarray]:
    names = list(_MAIN_SURNAMES) + _OTHER_SURNAMES
    rest = 100.0 - sum(_MAIN_SURNAMES.values())
    decay = 0.95 ** np.arange(len(_OTHER_SURNAMES))
    weights = np.concatenate([np.array(list(_MAIN_SURNAMES.values())), rest * decay / decay.sum()])
    return _nfc_all(names), weights / weights.sum()


SURNAMES, SURNAME_P = _surname_table()

MALE_MIDDLE = _nfc_all([
    "Hữu", "Đức", "Minh", "Quang", "Công", "Đình", "Xuân", "Thanh", "Ngọc", "Quốc", "Trọng", "Tiến",
    "Bá", "Mạnh", "Duy", "Hoàng", "Gia", "Anh", "Thành", "Việt", "Tuấn", "Huy", "Trung", "Kim",
])
FEMALE_MIDDLE = _nfc_all([
    "Ngọc", "Thanh", "Thu", "Kim", "Xuân", "Hồng", "Minh", "Thùy", "Phương", "Bảo", "Diệu", "Khánh",
    "Hoài", "Mỹ", "Thảo", "Bích", "Quỳnh", "Hải", "Tuyết", "Cẩm", "Lan", "Mai",
])

MALE_GIVEN = _nfc_all([
    "An", "Anh", "Bảo", "Bách", "Bình", "Cảnh", "Chiến", "Chính", "Công", "Cường", "Dũng", "Duy",
    "Dương", "Đạt", "Đăng", "Định", "Đông", "Đức", "Giang", "Hải", "Hào", "Hậu", "Hiển", "Hiệp",
    "Hiếu", "Hòa", "Hoàng", "Học", "Huân", "Hùng", "Hưng", "Hưởng", "Huy", "Khải", "Khang", "Khánh",
    "Khoa", "Khôi", "Kiên", "Lâm", "Linh", "Lộc", "Lợi", "Long", "Luân", "Luật", "Lực", "Mạnh",
    "Minh", "Nam", "Nghĩa", "Nhân", "Nhật", "Phát", "Phong", "Phú", "Phúc", "Phước", "Quân",
    "Quang", "Quốc", "Quý", "Sang", "Sơn", "Tài", "Tâm", "Tân", "Thái", "Thắng", "Thanh", "Thành",
    "Thiện", "Thịnh", "Thọ", "Thông", "Thuận", "Tiến", "Toàn", "Toản", "Trí", "Trung", "Trường",
    "Tú", "Tuấn", "Tùng", "Tuyên", "Vinh", "Việt", "Vũ", "Vượng",
])
FEMALE_GIVEN = _nfc_all([
    "An", "Anh", "Ánh", "Bích", "Châm", "Chi", "Cúc", "Diệp", "Diệu", "Dung", "Duyên", "Đào",
    "Giang", "Hà", "Hạnh", "Hằng", "Hân", "Hảo", "Hiền", "Hoa", "Hòa", "Hồng", "Huế", "Huệ",
    "Hương", "Hường", "Huyền", "Khánh", "Khuê", "Lan", "Lài", "Lệ", "Liên", "Liễu", "Linh", "Loan",
    "Lụa", "Ly", "Mai", "Mến", "My", "Mỹ", "Nga", "Ngân", "Ngọc", "Nguyệt", "Nhàn", "Nhi", "Nhung",
    "Oanh", "Phương", "Phượng", "Quế", "Quyên", "Quỳnh", "Sen", "Tâm", "Thắm", "Thanh", "Thảo",
    "Thêu", "Thoa", "Thơ", "Thu", "Thủy", "Thúy", "Thùy", "Thư", "Thương", "Trang", "Trâm",
    "Trinh", "Tuyết", "Uyên", "Vân", "Vi", "Xuân", "Yến", "Hiên", "Nương", "Diễm", "Kiều",
])


# Minority-style naming customs, keyed by style. Each style lists surnames, middle names for
# men and women, and given names for men and women.
_MINORITY_STYLES: dict[str, dict[str, tuple[str, ...]]] = {
    "tai": {
        "surname": _nfc_all(["Lò", "Lường", "Cầm", "Quàng", "Hà", "Vi", "Lộc", "Nông", "Bế", "Ma"]),
        "male_middle": _nfc_all(["Văn"]),
        "female_middle": _nfc_all(["Thị"]),
        "male_given": _nfc_all(["Pành", "Khăm", "Ún", "Bun", "Phăn", "Xiêng", "Tòng", "Inh", "Piên", "Chăn"]),
        "female_given": _nfc_all(["Lả", "Ín", "Pọm", "Ươi", "Bua", "Ón", "Hặc", "Xuyên", "Phòng", "Kim"]),
    },
    "hmong": {
        "surname": _nfc_all(["Sùng", "Giàng", "Hầu", "Mùa", "Vàng", "Thào", "Lầu", "Vừ", "Cứ", "Hờ"]),
        "male_middle": _nfc_all(["A"]),
        "female_middle": _nfc_all(["Thị"]),
        "male_given": _nfc_all(["Páo", "Chứ", "Sử", "Dơ", "Lử", "Tủa", "Sinh", "Pó", "Dình", "Chơ"]),
        "female_given": _nfc_all(["Mỷ", "Dua", "Xá", "Chư", "Pà", "Sua", "Dế", "Mày", "Chá", "Say"]),
    },
    "dao": {
        "surname": _nfc_all(["Triệu", "Bàn", "Đặng", "Lý", "Chảo", "Tẩn"]),
        "male_middle": _nfc_all(["Văn", "Tòn", "Tà"]),
        "female_middle": _nfc_all(["Thị", "Mùi"]),
        "male_given": _nfc_all(["Tả", "Kiềm", "Phin", "Chài", "Quẩy", "Sành", "Lở", "Chỉn"]),
        "female_given": _nfc_all(["May", "Nhất", "Chiêm", "Slai", "Mẩy", "Xuân", "Liều", "Cói"]),
    },
    "highland": {
        "surname": _nfc_all(["Ksor", "Siu", "Rơ Mah", "Nay", "Kpă", "Niê", "Êban", "Mlô", "Byă", "Y"]),
        "male_middle": _nfc_all(["Y"]),
        "female_middle": _nfc_all(["H'"]),
        "male_given": _nfc_all(["Blim", "Thông", "Nuê", "Bhin", "Moan", "Ngông", "Djap", "Wơn", "Khâm"]),
        "female_given": _nfc_all(["Nga", "Hen", "Bia", "Zút", "Lim", "Nhi", "Dơn", "Blư", "Yơn"]),
    },
    "khmer": {
        "surname": _nfc_all(["Thạch", "Sơn", "Kim", "Danh", "Chau", "Lâm"]),
        "male_middle": _nfc_all(["Sa", "Sô", "Văn"]),
        "female_middle": _nfc_all(["Thị"]),
        "male_given": _nfc_all(["Sóc", "Phanh", "Ra", "Phăl", "Kha", "Rây", "Sal", "Đa Ra"]),
        "female_given": _nfc_all(["Sa Ly", "Sà Phi", "Pha Ly", "Na", "Sóc Thi", "Ry", "Mây", "Chanh"]),
    },
}

# Ethnic code -> naming style. Groups not listed use Kinh-style names.
ETHNIC_STYLE: dict[str, str] = {
    "02": "tai", "03": "tai", "07": "tai", "25": "tai", "08": "hmong", "09": "dao",
    "10": "highland", "12": "highland", "13": "highland", "14": "highland", "16": "highland",
    "20": "highland", "21": "highland", "22": "highland", "19": "highland", "05": "khmer",
}

# Share of minority people with a naming style who actually carry a minority-style name.
MINORITY_STYLE_SHARE = 0.5


def _pick(rng: np.random.Generator, words: tuple[str, ...], n: int) -> np.ndarray:
    return np.asarray(words, dtype=object)[rng.integers(0, len(words), size=n)]


def _classic_middle_share(birth_year: np.ndarray) -> np.ndarray:
    """Probability that the first middle name is the classic "Văn"/"Thị"; it fades for the young."""
    return np.where(birth_year < 1970, 0.55, np.where(birth_year < 1990, 0.40, 0.20))


def _kinh_names(rng: np.random.Generator, female: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
    """Draw Kinh-style full names for every person."""
    n = len(female)
    surname = np.asarray(SURNAMES, dtype=object)[rng.choice(len(SURNAMES), size=n, p=SURNAME_P)]
    classic = np.where(female, "Thị", "Văn").astype(object)
    other_middle = np.where(female, _pick(rng, FEMALE_MIDDLE, n), _pick(rng, MALE_MIDDLE, n))
    second_middle = np.where(female, _pick(rng, FEMALE_MIDDLE, n), _pick(rng, MALE_MIDDLE, n))
    given = np.where(female, _pick(rng, FEMALE_GIVEN, n), _pick(rng, MALE_GIVEN, n))
    use_classic = rng.random(n) < _classic_middle_share(birth_year)
    two_middles = rng.random(n) < 0.10
    first_middle = np.where(use_classic, classic, other_middle)
    # Avoid a middle name repeating the given name ("Nguyễn Anh Anh").
    first_middle = np.where(first_middle == given, classic, first_middle)
    names = np.empty(n, dtype=object)
    for i in range(n):
        parts = [surname[i], first_middle[i]]
        if two_middles[i] and second_middle[i] not in (first_middle[i], given[i]):
            parts.append(second_middle[i])
        parts.append(given[i])
        names[i] = " ".join(parts)
    return names


def _minority_name(rng: np.random.Generator, style: str, female: bool) -> str:
    words = _MINORITY_STYLES[style]
    sex = "female" if female else "male"
    surname = words["surname"][rng.integers(len(words["surname"]))]
    middle = words[f"{sex}_middle"][rng.integers(len(words[f"{sex}_middle"]))]
    given = words[f"{sex}_given"][rng.integers(len(words[f"{sex}_given"]))]
    if middle.endswith("'"):
        return f"{surname} {middle}{given}"
    return f"{surname} {middle} {given}"


def draw_names(
    rng: np.random.Generator, female: np.ndarray, birth_year: np.ndarray, ethnic_code: np.ndarray
) -> np.ndarray:
    """Draw one full name per person; some minority people get names in their own custom."""
    names = _kinh_names(rng, female, birth_year)
    styles = np.array([ETHNIC_STYLE.get(code, "") for code in ethnic_code], dtype=object)
    styled = np.flatnonzero((styles != "") & (rng.random(len(names)) < MINORITY_STYLE_SHARE))
    for i in styled:
        names[i] = _minority_name(rng, styles[i], bool(female[i]))
    return names


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese diacritics: "Đặng Thị Ánh" -> "Dang Thi Anh"."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
