"""The 62 source units, read from the unit seed: the partitions every unit-level asset shares."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from dagster import StaticPartitionsDefinition

from orchestration.resources import SEEDS_DIR

UNIT_SEED = SEEDS_DIR / "ref_source_units.csv"


@dataclass(frozen=True)
class SourceUnit:
    unit_code: str
    kind: str  # "province" or "central"
    name: str
    province_code: str | None


@cache
def source_units() -> tuple[SourceUnit, ...]:
    with UNIT_SEED.open(encoding="utf-8", newline="") as handle:
        return tuple(
            SourceUnit(row["unit_code"], row["kind"], row["name"], row["province_code"] or None)
            for row in csv.DictReader(handle)
        )


def unit_codes() -> list[str]:
    return [unit.unit_code for unit in source_units()]


unit_partitions = StaticPartitionsDefinition(unit_codes())
