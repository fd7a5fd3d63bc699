"""Synthetic persons: where they live, who they are, and their personal ID numbers.

``make_persons`` draws one chunk of persons from a numpy Generator; IDs are made unique
across chunks afterwards by ``make_unique``. The registry is the set of registered persons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .names import draw_names
from .reference import Reference
from .table import DAY, Table, add_years, to_dt64, uniform_dates, year_month_day

ID_RANDOM_SPAN = 1_000_000
CMND_SPAN = 1_000_000_000
OLD_ID_SHARE_OF_ELIGIBLE = 0.43
LAST_OLD_ID_BIRTH_YEAR = 2002
LOCAL_BIRTH_SHARE = 0.7
WORKING_AGES = np.arange(20, 63)


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

    working_age: aged 20-62 on the as-of date (employees); otherwise born 1940-2007.
    home_province: most persons live here (share ``home_share``); others anywhere.
    recent_deaths: deaths fall in the last three years (deceased employees).
    """

    working_age: bool
    home_province: str | None = None
    home_share: float = 0.0
    female_share: float = 0.5
    deceased_rate: float = 0.0
    recent_deaths: bool = False


def _working_age_births(rng: np.random.Generator, n: int, as_of: date) -> np.ndarray:
    """Birth dates for persons aged 20-62 on the as-of date, most of them 25-55."""
    weights = np.interp(WORKING_AGES, [20, 25, 35, 50, 57, 62], [0.3, 1.0, 1.2, 1.0, 0.7, 0.3])
    ages = rng.choice(WORKING_AGES, size=n, p=weights / weights.sum())
    ends = np.array([to_dt64(add_years(as_of, -int(age))) for age in WORKING_AGES])
    starts = np.array([to_dt64(add_years(as_of, -int(age) - 1)) + DAY for age in WORKING_AGES])
    return uniform_dates(rng, starts[ages - 20], ends[ages - 20])


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
    for key in sorted(set(keys.tolist())):
        rows = np.flatnonzero(keys == key)
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
    """9-digit old identity card numbers (-1 when the person never had one)."""
    has_old = (birth_year <= LAST_OLD_ID_BIRTH_YEAR) & (rng.random(len(birth_year)) < OLD_ID_SHARE_OF_ELIGIBLE)
    return np.where(has_old, rng.integers(0, CMND_SPAN, size=len(birth_year)), -1)


def id_numbers(rng: np.random.Generator, prefix: np.ndarray, births: np.ndarray,
               female: np.ndarray) -> np.ndarray:
    """12-digit IDs as integers: PPP G YY RRRRRR with a random RRRRRR."""
    year = year_month_day(births)[0]
    century_sex = np.where(year >= 2000, 2, 0) + female.astype(np.int64)
    fixed = prefix * 1_000_000_000 + century_sex * 100_000_000 + (year % 100) * ID_RANDOM_SPAN
    return fixed + rng.integers(0, ID_RANDOM_SPAN, size=len(year))


def make_persons(rng: np.random.Generator, n: int, geo: Geography, as_of: date, spec: PersonSpec,
                 ethnic_groups: dict[str, str]) -> Table:
    """Draw one chunk of ``n`` persons (IDs not yet guaranteed unique across chunks)."""
    female = rng.random(n) < spec.female_share
    births = _working_age_births(rng, n, as_of) if spec.working_age else _population_births(rng, n, as_of)
    residence = _residences(rng, n, geo, spec)
    birth_pre = _birth_provinces(rng, residence, geo)
    hometown_province = geo.pre_to_2025[birth_pre]
    ethnic = _ethnic_codes(rng, residence, geo)
    ethnic = np.where(np.isin(ethnic, list(ethnic_groups)), ethnic, "01").astype(object)
    dead = rng.random(n) < spec.deceased_rate
    deaths = _death_dates(rng, births, dead, as_of, spec.recent_deaths)
    today = to_dt64(as_of)
    update_from = np.where(dead, deaths, np.maximum(births, today - 5 * 365 * DAY))
    birth_year = year_month_day(births)[0]
    return Table({
        "id_int": id_numbers(rng, geo.pre_prefixes[birth_pre], births, female),
        "cmnd_int": _old_id_numbers(rng, birth_year),
        "ho_va_ten": draw_names(rng, female, birth_year, ethnic),
        "ngay_sinh": births,
        "female": female,
        "gioi_tinh": np.where(female, "Nữ", "Nam").astype(object),
        "ma_tinh_khai_sinh": np.array([f"{p:03d}" for p in geo.pre_prefixes[birth_pre]], dtype=object),
        "ma_tinh_thuong_tru": residence,
        "ma_xa_thuong_tru": _draw_by_group(rng, residence, geo.ward_codes),
        "que_quan_xa": _draw_by_group(rng, hometown_province, geo.ward_codes),
        "dan_toc": ethnic,
        "trang_thai": np.where(dead, "da_mat", "song").astype(object),
        "ngay_mat": deaths,
        "ngay_cap_nhat": uniform_dates(rng, update_from, np.full(n, today)),
    })


def _repeated_or_forbidden(values: np.ndarray, forbidden: np.ndarray | None) -> np.ndarray:
    """Mask of values that repeat an earlier value or appear in the forbidden array."""
    mask = np.ones(len(values), dtype=bool)
    mask[np.unique(values, return_index=True)[1]] = False
    if forbidden is not None and len(forbidden):
        mask |= np.isin(values, forbidden)
    return mask


def make_unique(rng: np.random.Generator, values: np.ndarray, span: int,
                forbidden: np.ndarray | None = None) -> np.ndarray:
    """Redraw the random low part (``value % span``) of repeats until every value is unique."""
    values = values.copy()
    clash = _repeated_or_forbidden(values, forbidden)
    while clash.any():
        rows = np.flatnonzero(clash)
        values[rows] = values[rows] - values[rows] % span + rng.integers(0, span, size=len(rows))
        clash = _repeated_or_forbidden(values, forbidden)
    return values


def make_old_ids_unique(rng: np.random.Generator, cmnd: np.ndarray) -> np.ndarray:
    """Make the old 9-digit numbers unique among the persons who have one."""
    cmnd = cmnd.copy()
    present = np.flatnonzero(cmnd >= 0)
    cmnd[present] = make_unique(rng, cmnd[present], CMND_SPAN)
    return cmnd


def format_numbers(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded text for non-negative integers, None for negative ones."""
    return np.array([f"{v:0{width}d}" if v >= 0 else None for v in values.tolist()], dtype=object)
