"""Synthetic persons: where they live, who they are, and their personal ID numbers.

``make_persons`` draws one chunk of persons from a numpy Generator; ``IdAllocator`` then gives
them IDs that are unique by construction, chunk after chunk. The registry is the set of registered
persons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .names import draw_names, region_of
from .reference import Reference
from .table import DAY, Table, add_months, add_years, to_dt64, uniform_dates, year_month_day

ID_RANDOM_SPAN = 1_000_000
ID_BUCKETS = 1_000_000  # PPP G YY: the fixed first six digits of a 12-digit ID
CMND_SPAN = 1_000_000_000
OLD_ID_SHARE_OF_ELIGIBLE = 0.43
LAST_OLD_ID_BIRTH_YEAR = 2002
LOCAL_BIRTH_SHARE = 0.7
ABROAD_BIRTH_SHARE = 0.002  # births registered abroad: ID prefixes 101-295
ABROAD_PREFIXES = (101, 296)
WORKING_AGES = np.arange(20, 63)
# Employees still at work stay this many months below the statutory retirement age on the as-of date;
# persons kept on past it are between PAST_RETIREMENT_MONTHS months over it.
RETIREMENT_MARGIN_MONTHS = 1
PAST_RETIREMENT_MONTHS = (6, 36)


@dataclass(frozen=True)
class EthnicProfile:
    """How likely a resident of a province is to be Kinh, and which minorities live there."""

    kinh_share: float
    codes: tuple[str, ...]
    weights: tuple[float, ...]


_NORTH_MOUNTAIN = EthnicProfile(0.55, ("02", "03", "07", "08", "09", "06", "35", "25", "29", "40"),
                                (25, 20, 12, 18, 10, 5, 2, 3, 3, 2))
_NORTH_MIDLAND = EthnicProfile(0.85, ("06", "03", "09", "02", "29"), (45, 30, 10, 10, 5))
_HIGHLAND = EthnicProfile(0.72, ("10", "12", "13", "14", "16", "20", "02", "07"), (30, 25, 12, 8, 10, 5, 5, 5))
_MEKONG = EthnicProfile(0.88, ("05", "04", "17"), (85, 12, 3))
_SOUTH_EAST = EthnicProfile(0.95, ("04", "05", "32", "22"), (70, 15, 5, 10))
_CENTRAL_COAST = EthnicProfile(0.95, ("26", "23", "21", "17"), (30, 30, 20, 20))
_DEFAULT = EthnicProfile(0.98, ("06", "02", "04", "18"), (40, 20, 20, 20))
_PROVINCE_PROFILES: dict[str, EthnicProfile] = {
    **dict.fromkeys(("04", "08", "11", "12", "14", "15", "19", "20"), _NORTH_MOUNTAIN),
    **dict.fromkeys(("22", "25", "38", "40"), _NORTH_MIDLAND),
    **dict.fromkeys(("51", "52", "66", "68"), _HIGHLAND),
    **dict.fromkeys(("86", "91", "92", "96"), _MEKONG),
    **dict.fromkeys(("75", "79", "80", "82"), _SOUTH_EAST),
    **dict.fromkeys(("42", "44", "46", "48", "56"), _CENTRAL_COAST),
}
# Population weight of the two big cities (other provinces weigh their number of merged provinces).
_CITY_WEIGHT = {"01": 3.0, "79": 4.0}


@dataclass(frozen=True, eq=False)
class Geography:
    """Reference lists reshaped into arrays for fast vectorised draws."""

    province_codes: np.ndarray
    province_weights: np.ndarray
    ward_codes: dict[str, np.ndarray]
    pre_codes: np.ndarray
    pre_prefixes: np.ndarray
    pre_to_2025: np.ndarray
    pre_by_2025: dict[str, np.ndarray]
    ethnic: dict[str, EthnicProfile]


def build_geography(ref: Reference) -> Geography:
    """Prepare the arrays the person drawer needs from the reference lists."""
    codes = np.array(sorted(ref.provinces), dtype=object)
    pre_codes = np.array([p.code for p in ref.pre2025], dtype=object)
    pre_to_2025 = np.array([ref.province_of_pre2025(code) for code in pre_codes], dtype=object)
    merged_count = np.array([(pre_to_2025 == code).sum() for code in codes], dtype=float)
    weights = np.array([_CITY_WEIGHT.get(code, max(count, 1.0)) for code, count in zip(codes, merged_count,
                                                                                        strict=True)])
    return Geography(
        province_codes=codes,
        province_weights=weights / weights.sum(),
        ward_codes={code: np.array([w[0] for w in ref.wards[code]], dtype=object) for code in codes},
        pre_codes=pre_codes,
        pre_prefixes=np.array([int(p.id_prefix) for p in ref.pre2025], dtype=np.int64),
        pre_to_2025=pre_to_2025,
        pre_by_2025={code: np.flatnonzero(pre_to_2025 == code) for code in codes},
        ethnic={code: _PROVINCE_PROFILES.get(code, _DEFAULT) for code in codes},
    )


@dataclass(frozen=True)
class PersonSpec:
    """What kind of persons a chunk holds.

    working_age: aged 20 to just below the statutory retirement age on the as-of date (employees);
        otherwise born 1940-2007.
    home_province: most persons live here (share ``home_share``); others anywhere.
    recent_deaths: deaths fall in the last three years (deceased employees).
    past_retirement: employees 6-36 months past the statutory retirement age (overrides working_age).
    """

    working_age: bool
    home_province: str | None = None
    home_share: float = 0.0
    female_share: float = 0.5
    deceased_rate: float = 0.0
    recent_deaths: bool = False
    past_retirement: bool = False


def retirement_age_months(female: np.ndarray, year: int) -> np.ndarray:
    """Statutory retirement age in months for persons reaching it in ``year`` (Labour Code 2019,
    Decree 135/2020): men 60y3m in 2021 rising 3 months a year to 62y, women 55y4m rising 4 months
    a year to 60y; 60y and 55y before 2021. In 2026: men 61y6m (738), women 57y0m (684)."""
    steps = max(0, year - 2021)
    men = 720 if year < 2021 else min(744, 723 + 3 * steps)
    women = 660 if year < 2021 else min(720, 664 + 4 * steps)
    return np.where(female, women, men).astype(np.int64)


def _oldest_births(female: np.ndarray, as_of: date, months_over: int) -> np.ndarray:
    """Birth dates of persons exactly ``months_over`` months past retirement age on the as-of date."""
    limits = retirement_age_months(female, as_of.year) + months_over
    by_limit = {int(m): to_dt64(add_months(as_of, -int(m))) for m in np.unique(limits)}
    return np.array([by_limit[int(m)] for m in limits.tolist()], dtype="datetime64[D]")


def _working_age_births(rng: np.random.Generator, female: np.ndarray, as_of: date) -> np.ndarray:
    """Birth dates for persons aged 20 to just below retirement age on the as-of date, most 25-55."""
    weights = np.interp(WORKING_AGES, [20, 25, 35, 50, 57, 62], [0.3, 1.0, 1.2, 1.0, 0.7, 0.3])
    ends = np.array([to_dt64(add_years(as_of, -int(age))) for age in WORKING_AGES])
    starts = np.array([to_dt64(add_years(as_of, -int(age) - 1)) + DAY for age in WORKING_AGES])
    earliest = _oldest_births(female, as_of, -RETIREMENT_MARGIN_MONTHS) + DAY
    births = np.empty(len(female), dtype="datetime64[D]")
    todo = np.arange(len(female))
    while len(todo):  # redraw anyone too old: a truncated age distribution
        ages = rng.choice(WORKING_AGES, size=len(todo), p=weights / weights.sum())
        births[todo] = uniform_dates(rng, starts[ages - 20], ends[ages - 20])
        todo = todo[births[todo] < earliest[todo]]
    return births


def _past_retirement_births(rng: np.random.Generator, female: np.ndarray, as_of: date) -> np.ndarray:
    """Birth dates of persons 6 to 36 months past the statutory retirement age on the as-of date."""
    low, high = PAST_RETIREMENT_MONTHS
    return uniform_dates(rng, _oldest_births(female, as_of, high), _oldest_births(female, as_of, low))


def _population_births(rng: np.random.Generator, n: int, as_of: date) -> np.ndarray:
    """Birth dates between 1940 and 2007 (and before the as-of year), fewer in the oldest years."""
    years = np.arange(1940, min(2007, as_of.year - 1) + 1)
    weights = np.interp(years, [1940, 1975, 2007], [0.3, 1.0, 1.0])
    chosen = rng.choice(years, size=n, p=weights / weights.sum())
    starts = (chosen - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    ends = (chosen - 1969).astype("datetime64[Y]").astype("datetime64[D]") - DAY
    return uniform_dates(rng, starts, ends)


def _draw_by_group(rng: np.random.Generator, keys: np.ndarray, pools: dict[str, np.ndarray]) -> np.ndarray:
    """For every row pick a uniformly random element of the pool named by its key."""
    result = np.empty(len(keys), dtype=object)
    names, inverse = np.unique(keys.astype(str), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(names) + 1))
    for number, key in enumerate(names.tolist()):
        rows = order[bounds[number]: bounds[number + 1]]
        pool = pools[key]
        result[rows] = pool[rng.integers(0, len(pool), size=len(rows))]
    return result


def _residences(rng: np.random.Generator, n: int, geo: Geography, spec: PersonSpec) -> np.ndarray:
    anywhere = rng.choice(geo.province_codes, size=n, p=geo.province_weights)
    if spec.home_province is None:
        return anywhere
    return np.where(rng.random(n) < spec.home_share, spec.home_province, anywhere).astype(object)


def _birth_provinces(rng: np.random.Generator, residence: np.ndarray, geo: Geography) -> np.ndarray:
    """Index into the pre-2025 province list: mostly a province that is now part of the residence."""
    local = _draw_by_group(rng, residence, geo.pre_by_2025).astype(np.int64)
    anywhere = rng.integers(0, len(geo.pre_codes), size=len(residence))
    return np.where(rng.random(len(residence)) < LOCAL_BIRTH_SHARE, local, anywhere)


def _ethnic_codes(rng: np.random.Generator, residence: np.ndarray, geo: Geography) -> np.ndarray:
    codes = np.full(len(residence), "01", dtype=object)
    for province in sorted(set(residence.tolist())):
        rows = np.flatnonzero(residence == province)
        profile = geo.ethnic[province]
        minority = rows[rng.random(len(rows)) >= profile.kinh_share]
        weights = np.asarray(profile.weights, dtype=float)
        codes[minority] = np.asarray(profile.codes, dtype=object)[
            rng.choice(len(weights), size=len(minority), p=weights / weights.sum())]
    return codes


def _death_dates(rng: np.random.Generator, births: np.ndarray, dead: np.ndarray, as_of: date,
                 recent: bool) -> np.ndarray:
    today = to_dt64(as_of)
    earliest = np.full(len(births), today - (3 * 365 if recent else 15 * 365) * DAY)
    earliest = np.maximum(earliest, births + (18 * 365 if recent else 1) * DAY)
    deaths = uniform_dates(rng, earliest, np.full(len(births), today - DAY))
    return np.where(dead, deaths, np.datetime64("NaT", "D"))


def _old_id_numbers(rng: np.random.Generator, birth_year: np.ndarray) -> np.ndarray:
    """0 for persons who had a 9-digit old identity card (the number is issued later), else -1."""
    has_old = (birth_year <= LAST_OLD_ID_BIRTH_YEAR) & (rng.random(len(birth_year)) < OLD_ID_SHARE_OF_ELIGIBLE)
    return np.where(has_old, 0, -1).astype(np.int64)


def _births(rng: np.random.Generator, female: np.ndarray, as_of: date, spec: PersonSpec) -> np.ndarray:
    if spec.past_retirement:
        return _past_retirement_births(rng, female, as_of)
    if spec.working_age:
        return _working_age_births(rng, female, as_of)
    return _population_births(rng, len(female), as_of)


def _birth_prefixes(rng: np.random.Generator, birth_pre: np.ndarray, geo: Geography) -> np.ndarray:
    """ID prefix of the place of birth registration: the old province, or 101-295 for births abroad."""
    abroad = rng.random(len(birth_pre)) < ABROAD_BIRTH_SHARE
    foreign = rng.integers(*ABROAD_PREFIXES, size=len(birth_pre))
    return np.where(abroad, foreign, geo.pre_prefixes[birth_pre])


def id_buckets(prefix: np.ndarray, births: np.ndarray, female: np.ndarray) -> np.ndarray:
    """The fixed part PPP G YY of each 12-digit ID (G: 0/1 born 1900-1999 male/female, 2/3 2000-2099)."""
    year = year_month_day(births)[0]
    century_sex = (year // 100 - 19) * 2 + female.astype(np.int64)
    return prefix * 1000 + century_sex * 100 + year % 100


def make_persons(rng: np.random.Generator, n: int, geo: Geography, as_of: date, spec: PersonSpec,
                 ethnic_groups: dict[str, str]) -> Table:
    """Draw one chunk of ``n`` persons. ``id_int`` holds only the fixed part of the ID (random part
    zero) and ``cmnd_int`` is 0 for persons with an old ID, -1 otherwise: ``IdAllocator`` fills both."""
    female = rng.random(n) < spec.female_share
    births = _births(rng, female, as_of, spec)
    residence = _residences(rng, n, geo, spec)
    birth_pre = _birth_provinces(rng, residence, geo)
    prefixes = _birth_prefixes(rng, birth_pre, geo)
    hometown_province = geo.pre_to_2025[birth_pre]
    ethnic = _ethnic_codes(rng, residence, geo)
    ethnic = np.where(np.isin(ethnic, list(ethnic_groups)), ethnic, "01").astype(object)
    dead = rng.random(n) < spec.deceased_rate
    deaths = _death_dates(rng, births, dead, as_of, spec.recent_deaths)
    today = to_dt64(as_of)
    update_from = np.where(dead, deaths, np.maximum(births, today - 5 * 365 * DAY))
    birth_year = year_month_day(births)[0]
    return Table({
        "id_int": id_buckets(prefixes, births, female) * ID_RANDOM_SPAN,
        "cmnd_int": _old_id_numbers(rng, birth_year),
        "ho_va_ten": draw_names(rng, female, birth_year, ethnic, region_of(residence)),
        "ngay_sinh": births,
        "female": female,
        "gioi_tinh": np.where(female, "Nữ", "Nam").astype(object),
        "ma_tinh_khai_sinh": np.array([f"{p:03d}" for p in prefixes.tolist()], dtype=object),
        "ma_tinh_thuong_tru": residence,
        "ma_xa_thuong_tru": _draw_by_group(rng, residence, geo.ward_codes),
        "que_quan_xa": _draw_by_group(rng, hometown_province, geo.ward_codes),
        "dan_toc": ethnic,
        "trang_thai": np.where(dead, "da_mat", "song").astype(object),
        "ngay_mat": deaths,
        "ngay_cap_nhat": uniform_dates(rng, update_from, np.full(n, today)),
    })


_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_FEISTEL_ROUNDS = 4
_ROUND_KEYS = tuple(np.uint64((r * 0x9E3779B97F4A7C15) % 2**64) for r in range(1, _FEISTEL_ROUNDS + 1))


def _mix64(x: np.ndarray) -> np.ndarray:
    """A strong 64-bit integer hash (the splitmix64 finaliser); arithmetic wraps modulo 2**64."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX_1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX_2
    return x ^ (x >> np.uint64(31))


def _feistel(x: np.ndarray, keys: np.ndarray, half: int) -> np.ndarray:
    """A keyed permutation of the integers below 2**(2*half) (a balanced Feistel network)."""
    mask = np.uint64((1 << half) - 1)
    left, right = x >> np.uint64(half), x & mask
    for round_key in _ROUND_KEYS:
        scramble = _mix64(right ^ (keys + round_key)) & mask
        left, right = right, left ^ scramble
    return (left << np.uint64(half)) | right


def permute(values: np.ndarray, domain: int, keys: np.ndarray) -> np.ndarray:
    """Map each serial number below ``domain`` to a scrambled number below ``domain``; for one key the
    map is one-to-one, so distinct serials always give distinct numbers (cycle-walking Feistel)."""
    bits = max(2, (domain - 1).bit_length())
    half = (bits + 1) // 2
    keys = np.broadcast_to(np.asarray(keys, dtype=np.uint64), values.shape).copy()
    result = _feistel(values.astype(np.uint64), keys, half)
    outside = np.flatnonzero(result >= domain)
    while len(outside):  # walk the cycle until the value falls back inside the domain
        result[outside] = _feistel(result[outside], keys[outside], half)
        outside = outside[result[outside] >= domain]
    return result.astype(np.int64)


class IdAllocator:
    """Issues 12-digit IDs and 9-digit old ID numbers that are unique by construction.

    Within each fixed ID part PPP G YY the n-th person gets the random part ``permute(n)``, keyed by the
    seed and the fixed part, so no ID repeats and none has to be checked against the others. Old ID
    numbers are a keyed permutation of one running serial. Chunks must be assigned in a fixed order.
    """

    def __init__(self, seed: int) -> None:
        self._key = _mix64(np.array([seed], dtype=np.uint64))[0]
        self._used = np.zeros(ID_BUCKETS, dtype=np.int64)
        self._old_ids = 0

    def assign(self, persons: Table) -> None:
        """Fill ``id_int`` and ``cmnd_int`` of a chunk from ``make_persons`` in place."""
        bucket = persons["id_int"] // ID_RANDOM_SPAN
        serial = self._used[bucket] + _rank_within_group(bucket)
        if len(serial) and serial.max() >= ID_RANDOM_SPAN:
            raise ValueError("more than a million persons share one ID prefix, sex and birth year")
        np.add.at(self._used, bucket, 1)
        keys = _mix64(bucket.astype(np.uint64) ^ self._key)
        persons["id_int"] = bucket * ID_RANDOM_SPAN + permute(serial, ID_RANDOM_SPAN, keys)
        has_old = np.flatnonzero(persons["cmnd_int"] >= 0)
        serials = self._old_ids + np.arange(len(has_old), dtype=np.int64)
        self._old_ids += len(has_old)
        old_key = _mix64(np.array([self._key ^ _GOLDEN], dtype=np.uint64))
        cmnd = persons["cmnd_int"].copy()
        cmnd[has_old] = permute(serials, CMND_SPAN, old_key)
        persons["cmnd_int"] = cmnd


def _rank_within_group(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... for the successive rows of each group value, in row order."""
    order = np.argsort(groups, kind="stable")
    ordered = groups[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    lengths = np.diff(np.r_[starts, len(ordered)])
    ranks = np.empty(len(groups), dtype=np.int64)
    ranks[order] = np.arange(len(groups)) - np.repeat(starts, lengths)
    return ranks


def format_numbers(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded text for non-negative integers, None for negative ones."""
    return np.array([f"{v:0{width}d}" if v >= 0 else None for v in values.tolist()], dtype=object)
