"""How many candidate pairs each blocking rule makes, and why none blocks on a surname alone.

    .venv/bin/python benchmarks/blocking_rules.py --warehouse DIR/bench_conform.duckdb

For the records the deterministic stages leave to the model (the residual) against the whole registry:
Splink's own count of the comparisons the prediction rules generate (marginal and cumulative, after
de-duplication across rules), and, for each rule and for the rules we rejected, the pre-filter pair
count sum(n_records(key) * n_registry(key)) computed by grouping — cheap even when the rule would
make trillions of pairs.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

import duckdb
from results_file import write_result

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REJECTED_RULES = {
    "surname only": ["surname_key"],
    "given name only": ["given_key"],
    "birth year only": ["birth_year"],
    "surname and birth year": ["surname_key", "birth_year"],
}


def pair_count(con: duckdb.DuckDBPyConnection, keys: list[str]) -> int:
    columns = ", ".join(keys)
    not_null = " and ".join(f"{k} is not null" for k in keys)
    return con.execute(f"""
        select coalesce(sum(l.n * r.n), 0) from
            (select {columns}, count(*) n from residual_for_model where {not_null} group by all) l
        join (select {columns}, count(*) n from registry where {not_null} group by all) r using ({columns})
    """).fetchall()[0][0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "results" / "blocking_rules.json")
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT_ROOT))
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    from orchestration.link.linkage import load_training_inputs
    from orchestration.link.model import linkage_settings
    from orchestration.units import unit_codes

    work = duckdb.connect()
    with duckdb.connect(str(args.warehouse), read_only=True) as warehouse:
        load_training_inputs(work, warehouse, unit_codes())
        exact = warehouse.sql("select record_id from linkage.fct_linkage_exact_matches").to_arrow_table()
    work.register("exact_matches", exact)
    work.execute("create table residual_for_model as select * from training_records "
                 "where unique_id not in (select record_id from exact_matches)")
    work.execute("create view registry as select * from training_registry")
    rules = [rule["blocking_rule"] for rule in linkage_settings()["blocking_rules_to_generate_predictions"]]
    db_api = DuckDBAPI(connection=work)
    counted = count_comparisons_from_blocking_rules(
        [db_api.register("residual_for_model", table_name="bench_records"),
         db_api.register("registry", table_name="bench_registry")],
        blocking_rules=rules, link_type="link_only", record_sample_proportion=1.0,
    )
    sizes = work.execute(
        "select (select count(*) from residual_for_model), (select count(*) from registry)").fetchall()[0]
    result = {
        "benchmark": "blocking_rules",
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        "residual_records": sizes[0],
        "registry_persons": sizes[1],
        "prediction_rules": [dict(record) for record in counted],  # Splink's marginal and cumulative counts
        "rejected_rules_pre_filter_pairs": {name: pair_count(work, keys) for name, keys in REJECTED_RULES.items()},
    }
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
