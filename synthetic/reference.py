"""Load the dbt seed reference lists that the generator draws from.

Every value is read as text (codes keep their leading zeros) and normalised to Unicode NFC,
because a few seed names are stored in decomposed form.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"

# Which 2025 province each pre-2025 province was merged into (Resolution 202/2025/QH15).
# Keys are pre-2025 province codes, values are 2025 province codes.
PRE2025_TO_2025: dict[str, str] = {
    "01": "01", "02": "08", "04": "04", "06": "19", "08": "08", "10": "15", "11": "11", "12": "12",
    "14": "14", "15": "15", "17": "25", "19": "19", "20": "20", "22": "22", "24": "24", "25": "25",
    "26": "25", "27": "24", "30": "31", "31": "31", "33": "33", "34": "33", "35": "37", "36": "37",
    "37": "37", "38": "38", "40": "40", "42": "42", "44": "44", "45": "44", "46": "46", "48": "48",
    "49": "48", "51": "51", "52": "52", "54": "66", "56": "56", "58": "56", "60": "68", "62": "51",
    "64": "52", "66": "66", "67": "68", "68": "68", "70": "75", "72": "80", "74": "79", "75": "75",
    "77": "79", "79": "79", "80": "80", "82": "82", "83": "86", "84": "86", "86": "86", "87": "82",
    "89": "91", "91": "91", "92": "92", "93": "92", "94": "92", "95": "96", "96": "96",
}


@dataclass(frozen=True)
class Unit:
    """One reporting unit (a 2025 province or a central agency)."""

    code: str
    kind: str
    name: str
    province_code: str


@dataclass(frozen=True)
class Rank:
    """One civil-service rank (ngạch) from the catalogue."""

    code: str
    name: str
    category: str
    pay_group: str


@dataclass(frozen=True)
class PreProvince:
    """One pre-2025 province and the 3-digit prefix it gives to personal ID numbers."""

    code: str
    name: str
    id_prefix: str


@dataclass(frozen=True)
class OldWard:
    """One pre-2025 ward and the 2025 ward(s) it went into (several when it was split)."""

    code: str
    name: str
    district: str
    province: str
    new_wards: tuple[str, ...]

    @property
    def split(self) -> bool:
        return len(self.new_wards) > 1

    @property
    def address(self) -> str:
        """The pre-2025 way to write it: "Phường Trúc Bạch, Quận Ba Đình, Thành phố Hà Nội"."""
        return f"{self.name}, {self.district}, {self.province}"


@dataclass(frozen=True, eq=False)
class Reference:
    """All reference lists the generator needs, keyed for quick lookup."""

    units: tuple[Unit, ...]
    provinces: dict[str, str]
    pre2025: tuple[PreProvince, ...]
    wards: dict[str, tuple[tuple[str, str], ...]]
    ethnic_groups: dict[str, str]
    pay_scale: dict[str, dict[int, str]]
    ranks: tuple[Rank, ...]
    old_wards: tuple[OldWard, ...] = ()

    def province_of_pre2025(self, pre_code: str) -> str:
        """Return the 2025 province a pre-2025 province belongs to (Hà Nội if unknown)."""
        merged = PRE2025_TO_2025.get(pre_code, pre_code)
        return merged if merged in self.provinces else next(iter(self.provinces))


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())


def read_seed(name: str, seeds_dir: Path = SEEDS_DIR) -> list[dict[str, str]]:
    """Read one seed CSV as a list of rows of NFC text."""
    with (seeds_dir / name).open(encoding="utf-8", newline="") as handle:
        return [{key: _nfc(value or "") for key, value in row.items()} for row in csv.DictReader(handle)]


def _load_pay_scale(rows: list[dict[str, str]]) -> dict[str, dict[int, str]]:
    scale: dict[str, dict[int, str]] = {}
    for row in rows:
        scale.setdefault(row["pay_group"], {})[int(row["step"])] = f"{float(row['coefficient']):.2f}"
    return scale


def _load_wards(rows: list[dict[str, str]]) -> dict[str, tuple[tuple[str, str], ...]]:
    wards: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        wards.setdefault(row["province_code"], []).append((row["ward_code"], row["name"]))
    return {code: tuple(sorted(items)) for code, items in sorted(wards.items())}


def _load_old_wards(rows: list[dict[str, str]]) -> tuple[OldWard, ...]:
    """Old wards from the 2025 conversion table, each with every new ward it was merged into."""
    first: dict[str, dict[str, str]] = {}
    targets: dict[str, set[str]] = {}
    for row in rows:
        first.setdefault(row["old_ward_code"], row)
        targets.setdefault(row["old_ward_code"], set()).add(row["new_ward_code"])
    return tuple(OldWard(code, row["old_ward_name"], row["old_district_name"], row["old_province_name"],
                         tuple(sorted(targets[code])))
                 for code, row in sorted(first.items()))


def load_reference(seeds_dir: Path = SEEDS_DIR) -> Reference:
    """Load every seed list the generator uses and check the basic shapes."""
    units = tuple(Unit(r["unit_code"], r["kind"], r["name"], r["province_code"])
                  for r in read_seed("ref_source_units.csv", seeds_dir))
    ranks = tuple(Rank(r["rank_code"], r["name"], r["category"], r["pay_group"])
                  for r in read_seed("ref_ranks.csv", seeds_dir))
    reference = Reference(
        units=units,
        provinces={r["province_code"]: r["name"] for r in read_seed("ref_provinces_2025.csv", seeds_dir)},
        pre2025=tuple(PreProvince(r["province_code"], r["name"], r["id_prefix"])
                      for r in read_seed("ref_provinces_pre2025.csv", seeds_dir)),
        wards=_load_wards(read_seed("ref_wards_2025.csv", seeds_dir)),
        ethnic_groups={r["code"]: r["name"] for r in read_seed("ref_ethnic_groups.csv", seeds_dir)},
        pay_scale=_load_pay_scale(read_seed("ref_pay_scale.csv", seeds_dir)),
        ranks=ranks,
        old_wards=_load_old_wards(read_seed("ref_ward_conversion_2025.csv", seeds_dir)),
    )
    _check_reference(reference)
    return reference


def _check_reference(ref: Reference) -> None:
    """Fail early with a clear message when a seed does not have the expected shape."""
    missing_wards = sorted(set(ref.provinces) - set(ref.wards))
    if missing_wards:
        raise ValueError(f"provinces without wards in ref_wards_2025.csv: {missing_wards}")
    for unit in ref.units:
        if unit.kind == "province" and unit.province_code not in ref.provinces:
            raise ValueError(f"unit {unit.code} has unknown province_code {unit.province_code!r}")
    for rank in ref.ranks:
        if rank.pay_group not in ref.pay_scale:
            raise ValueError(f"rank {rank.code} uses pay_group {rank.pay_group} missing from ref_pay_scale")
    if "01" not in ref.ethnic_groups:
        raise ValueError("ref_ethnic_groups.csv must contain code 01 (Kinh)")
