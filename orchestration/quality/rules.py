"""The record-rule catalogue, read from where dbt documents it: the `meta.rules` of the `rule` column of
`fct_record_flags` in dbt_project/models/marts/quality/_quality.yml (the dbt test `documented_rules` keeps
the model and the catalogue equal). Each rule's criterion, severity, what it checks, the label a unit's
officer reads, and the extract column whose value the unit's feedback shows beside it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import yaml

from orchestration.resources import DBT_PROJECT_DIR

RULES_YAML = DBT_PROJECT_DIR / "models" / "marts" / "quality" / "_quality.yml"


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
    spec = yaml.safe_load(RULES_YAML.read_text(encoding="utf-8"))
    model = next(m for m in spec["models"] if m["name"] == "fct_record_flags")
    rules = next(c for c in model["columns"] if c["name"] == "rule")["meta"]["rules"]
    return {
        name: Rule(name, rule["criterion"], rule["severity"], " ".join(rule["checks"].split()), rule["label_vi"],
                   rule.get("field"), tuple(rule.get("labels", ())))
        for name, rule in rules.items()
    }
