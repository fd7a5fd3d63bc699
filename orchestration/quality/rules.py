"""The record-rule catalogue: the seed dbt_project/seeds/ref_record_rules.csv, which fct_record_flags joins for
each rule's criterion and severity. Per rule: its criterion, severity, what it checks, the label a unit's officer
reads, the extract column whose value the unit's feedback shows beside it, and the generator labels it detects."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from orchestration.resources import SEEDS_DIR

RULES_SEED = SEEDS_DIR / "ref_record_rules.csv"


@dataclass(frozen=True)
class Rule:
    name: str
    criterion: str
    severity: str
    checks: str
    label_vi: str
    field: str | None  # a column of marts.fct_civil_servant_records, or None when no value is shown
    labels: tuple[str, ...]  # the generator's defect labels the rule detects


@cache
def rule_catalogue() -> dict[str, Rule]:
    with RULES_SEED.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        row["rule"]: Rule(row["rule"], row["criterion"], row["severity"], row["checks"], row["label_vi"],
                          row["field"] or None, tuple(label for label in row["detects"].split(";") if label))
        for row in rows
    }
