"""What a run tells dbt: its units (dbt var `units`), so that per-unit models replace only their rows.

A run over every unit passes none: the per-unit models then rebuild every unit's rows. A change to the
models or macros rebuilds the per-unit models whole (`--full-refresh`), since rows built by the old SQL
would otherwise stay for the units the run does not cover.
"""

from __future__ import annotations

import json
from collections.abc import Iterable


def dbt_vars(run_units: Iterable[str], every_unit: Iterable[str]) -> dict[str, list[str]]:
    """The run's units, sorted; empty when the run covers every unit."""
    units = sorted(set(run_units))
    if not units:
        raise ValueError("a run covers at least one unit")
    unknown = sorted(set(units) - set(every_unit))
    if unknown:
        raise ValueError(f"not unit codes: {', '.join(unknown)}")
    return {} if set(units) == set(every_unit) else {"units": units}


def dbt_build_args(base: list[str], variables: dict[str, list[str]], full_refresh: bool) -> list[str]:
    """`base` with the vars (as JSON) and, when the models changed, a full refresh."""
    return [*base, *(["--vars", json.dumps(variables)] if variables else []),
            *(["--full-refresh"] if full_refresh else [])]
