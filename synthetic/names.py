"""Vietnamese personal names: word lists and a vectorised name drawer.

Names are written surname first, then one or two middle names, then the given name.
All text is NFC; "Đ" is U+0110.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np


def _nfc_all(words: list[str]) -> tuple[str, ...]:
    return tuple(unicodedata.normalize("NFC", word) for word in words)


# Main surnames with their approximate national share of the population (percent). Hoàng/Huỳnh and
# Vũ/Võ are one name each, spelled by region (see _REGIONAL_SPELLING).
_MAIN_SURNAMES: dict[str, float] = {
    "Nguyễn": 38.0, "Trần": 11.0, "Lê": 9.5, "Phạm": 7.0, "Hoàng": 5.0,
    "Phan": 4.5, "Vũ": 3.9, "Đặng": 2.1, "Bùi": 2.0, "Đỗ": 1.4, "Hồ": 1.3, "Ngô": 1.3,
}
# Regions of the 2025 provinces (by province code), for the spelling of regional surname variants.
NORTH, NORTH_CENTRAL, SOUTH_CENTRAL, SOUTH = range(4)
_REGION_BOUNDS = ((38, NORTH), (48, NORTH_CENTRAL), (75, SOUTH_CENTRAL), (100, SOUTH))
# Northern spelling -> (southern spelling, share of the southern spelling in each region).
_REGIONAL_SPELLING: dict[str, tuple[str, tuple[float, float, float, float]]] = {
    "Hoàng": ("Huỳnh", (0.03, 0.15, 0.55, 0.85)),
    "Vũ": ("Võ", (0.10, 0.60, 0.85, 0.90)),
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
    "Tú", "Tuấn", "Tùng", "Tuyên", "Vinh", "Việt", "Vũ", "Vượng", "Thụy",
])
FEMALE_GIVEN = _nfc_all([
    "An", "Anh", "Ánh", "Bích", "Châm", "Chi", "Cúc", "Diệp", "Diệu", "Dung", "Duyên", "Đào",
    "Giang", "Hà", "Hạnh", "Hằng", "Hân", "Hảo", "Hiền", "Hoa", "Hòa", "Hồng", "Huế", "Huệ",
    "Hương", "Hường", "Huyền", "Khánh", "Khuê", "Lan", "Lài", "Lệ", "Liên", "Liễu", "Linh", "Loan",
    "Lụa", "Ly", "Mai", "Mến", "My", "Mỹ", "Nga", "Ngân", "Ngọc", "Nguyệt", "Nhàn", "Nhi", "Nhung",
    "Oanh", "Phương", "Phượng", "Quế", "Quyên", "Quỳnh", "Sen", "Tâm", "Thắm", "Thanh", "Thảo",
    "Thêu", "Thoa", "Thơ", "Thu", "Thủy", "Thúy", "Thùy", "Thư", "Thương", "Trang", "Trâm",
    "Trinh", "Tuyết", "Uyên", "Vân", "Vi", "Xuân", "Yến", "Hiên", "Nương", "Diễm", "Kiều", "Thụy",
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


def region_of(province_codes: np.ndarray) -> np.ndarray:
    """Region number (NORTH ... SOUTH) of each 2025 province code."""
    numbers = np.array([int(code) for code in province_codes.tolist()], dtype=np.int64)
    region = np.full(len(numbers), SOUTH, dtype=np.int64)
    for bound, value in reversed(_REGION_BOUNDS):
        region[numbers < bound] = value
    return region


def _regional_spelling(rng: np.random.Generator, surname: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Respell Hoàng as Huỳnh and Vũ as Võ with each region's own odds."""
    draw = rng.random(len(surname))
    for northern, (southern, shares) in _REGIONAL_SPELLING.items():
        southern_share = np.asarray(shares)[region]
        surname = np.where((surname == northern) & (draw < southern_share), southern, surname).astype(object)
    return surname


def _kinh_names(rng: np.random.Generator, female: np.ndarray, birth_year: np.ndarray,
                region: np.ndarray) -> np.ndarray:
    """Draw Kinh-style full names for every person."""
    n = len(female)
    surname = np.asarray(SURNAMES, dtype=object)[rng.choice(len(SURNAMES), size=n, p=SURNAME_P)]
    surname = _regional_spelling(rng, surname, region)
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
    rng: np.random.Generator, female: np.ndarray, birth_year: np.ndarray, ethnic_code: np.ndarray,
    region: np.ndarray | None = None,
) -> np.ndarray:
    """Draw one full name per person; some minority people get names in their own custom.

    ``region`` (see ``region_of``) picks the regional spelling of a few surnames; default: the north.
    """
    region = np.full(len(female), NORTH, dtype=np.int64) if region is None else region
    names = _kinh_names(rng, female, birth_year, region)
    styles = np.array([ETHNIC_STYLE.get(code, "") for code in ethnic_code], dtype=object)
    styled = np.flatnonzero((styles != "") & (rng.random(len(names)) < MINORITY_STYLE_SHARE))
    for i in styled:
        names[i] = _minority_name(rng, styles[i], bool(female[i]))
    return names


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese diacritics: "Đặng Thị Ánh" -> "Dang Thi Anh"."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def match_key(text: str) -> str:
    """Lower-case, no diacritics, Đ/Ð as D, single spaces: equal keys mean "the same letters"."""
    return " ".join(strip_diacritics(text.replace("Ð", "Đ")).lower().split())


_ADMIN_WORDS = re.compile(r"^(thanh pho|tinh|phuong|xa|thi tran|thi xa|quan|huyen|dac khu|tp\.?|tx\.?|tt\.?)\s+")


def admin_key(name: str) -> str:
    """An administrative unit's name without its type word, as a match key: "Thành phố Hà Nội" -> "ha noi"."""
    return _ADMIN_WORDS.sub("", match_key(name)).strip()


# Tone placement on open "oa", "oe", "uy" syllables: the modern rule puts the mark on the first
# vowel ("Hòa", "Thúy"), the old rule on the second ("Hoà", "Thuý"). "qu" is a consonant: "Quý" stays.
_MODERN_TO_OLD = {
    modern: old
    for vowel, second in (("o", "a"), ("o", "e"), ("u", "y"))
    for modern, old in zip(
        (unicodedata.normalize("NFC", vowel + mark) + second for mark in "\u0300\u0301\u0309\u0303\u0323"),
        (vowel + unicodedata.normalize("NFC", second + mark) for mark in "\u0300\u0301\u0309\u0303\u0323"),
        strict=True,
    )
}
_OLD_TO_MODERN = {old: modern for modern, old in _MODERN_TO_OLD.items()}
_MODERN_TONE = re.compile(f"(?<![qQ])({'|'.join(_MODERN_TO_OLD)})(?=\\s|$)")
_OLD_TONE = re.compile(f"(?<![qQ])({'|'.join(_OLD_TO_MODERN)})(?=\\s|$)")


def old_tone_placement(text: str) -> str:
    """Write open oa/oe/uy syllables with the old tone placement: "Hòa" -> "Hoà", "Thúy" -> "Thuý"."""
    return _MODERN_TONE.sub(lambda m: _MODERN_TO_OLD[m.group(1)], text)


def modern_tone_placement(text: str) -> str:
    """The inverse of ``old_tone_placement``: "Hoà" -> "Hòa"."""
    return _OLD_TONE.sub(lambda m: _OLD_TO_MODERN[m.group(1)], text)


def has_old_tone_form(text: str) -> bool:
    """True when the name has a syllable that the old tone placement writes differently."""
    return _MODERN_TONE.search(text) is not None


def with_eth(text: str) -> str:
    """Đ (U+0110) typed as the look-alike Ð (U+00D0, Icelandic eth)."""
    return text.replace("Đ", "Ð")


def without_middle(text: str) -> str:
    """Surname and given name only: "Nguyễn Văn An" -> "Nguyễn An" (names of three words or more)."""
    words = text.split(" ")
    return f"{words[0]} {words[-1]}" if len(words) >= 3 else text


_ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"


def can_typo(text: str) -> bool:
    """True when ``typo`` can change the text (it has a plain lower-case letter)."""
    return any(ch in _ASCII_LOWER for ch in text)


def typo(rng: np.random.Generator, text: str) -> str:
    """One keyboard slip on a plain lower-case letter: a wrong letter, a missing letter, or two letters
    swapped. The result always differs from the original in its letters (``match_key``), not only in marks."""
    positions = [i for i, ch in enumerate(text) if ch in _ASCII_LOWER]
    if not positions:
        return text
    at = positions[int(rng.integers(len(positions)))]
    kind = int(rng.integers(3))
    following = text[at + 1] if at + 1 < len(text) else ""
    word_length = len(text[:at].rsplit(" ", 1)[-1]) + len(text[at:].split(" ", 1)[0])
    if kind == 1 and word_length < 3:
        kind = 0  # a deletion keeps every word at least two letters long
    if kind == 2 and (not following or following not in _ASCII_LOWER or following == text[at]):
        kind = 0  # only two different plain letters are swapped
    if kind == 1:
        return text[:at] + text[at + 1:]
    if kind == 2:
        return text[:at] + following + text[at] + text[at + 2:]
    letters = _ASCII_LOWER.replace(text[at], "")
    return text[:at] + letters[int(rng.integers(len(letters)))] + text[at + 1:]
