"""What users get at several defect rates: units held and why, records published, and the two promises of
the publication policy (docs/quality-gates.md), against the generator's truth.

    .venv/bin/python benchmarks/publication_policy.py                        # every setting, scale 0.013
    .venv/bin/python benchmarks/publication_policy.py --scale 0.02 --settings defaults like_2025

Each setting generates a data set (same seed, other defect rates), runs the whole pipeline on all 62 units
in a fresh process (as `make run`) and measures, on the rows the pipeline loaded (the units' current files):

* units held, by gate, and units published;
* records read, published, quarantined;
* **defect-free records of registry persons that were published** (target >= 99.5 % at every setting):
  rows the truth gives no defect label whose person is in the registry. Rows of a file the truth marks as
  a broken export (`shifted_columns`) are counted apart: holding them is the integrity gates' job;
* **records with a blocking defect that were published** (target 0): rows carrying a label that a
  blocking record rule detects (the `detects` of the blocking rules in the seed ref_record_rules).

Counts and shares only, never a personal value. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import duckdb
from defect_detection import WHOLE_FILE_DEFECTS, run_pipeline
from results_file import RESULTS_DIR, write_result

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from synthetic import DefectRates, generate  # noqa: E402

PUBLISHED_TARGET = 0.995
ID_FIELDS = ("blank_id", "mistyped_id", "old_cmnd")
NAME_FIELDS = ("name_no_diacritics", "name_upper", "name_eth_d", "name_old_tone", "name_typo", "name_no_middle")


def _times(rates: DefectRates, factor: float, fields: tuple[str, ...]) -> DefectRates:
    return replace(rates, **{name: min(1.0, getattr(rates, name) * factor) for name in fields})


DEFAULTS = DefectRates()
SETTINGS: dict[str, DefectRates] = {
    "defaults": DEFAULTS,
    "ids_and_names_x2": _times(DEFAULTS, 2, ID_FIELDS + NAME_FIELDS),
    "ids_and_names_x3": _times(DEFAULTS, 3, ID_FIELDS + NAME_FIELDS),
    # The shape of the 2025 figures: about 5 % of people outside the registry, one ID in ten blank, one
    # in twenty an old CMND, a few percent of typos; name defects at three times the defaults.
    "like_2025": replace(_times(DEFAULTS, 3, NAME_FIELDS), blank_id=0.10, old_cmnd=0.05, mistyped_id=0.03,
                         not_in_registry=0.05),
}


def blocking_labels() -> list[str]:
    """Generator labels that a blocking record rule detects, from the rule catalogue."""
    from orchestration.quality.rules import rule_catalogue

    blocking = [rule for rule in rule_catalogue().values() if rule.severity == "blocking"]
    return sorted({label for rule in blocking for label in rule.labels})


_ROWS_SQL = """
create temp table rows as
select
    r.unit_code, t.source_file, t.source_row,
    coalesce(string_split(nullif(t.defects, ''), ','), []) as labels,
    t.true_so_dinh_danh is not null as in_registry,
    list_contains($whole_file_defects, f.kind) as broken_export,
    p.source_row is not null as published
from read_parquet($truth) as t
join marts.fct_civil_servant_records as r using (source_file, source_row)
join read_csv($files, all_varchar = true) as f using (source_file)
left join published.civil_servants as p using (source_file, source_row)
"""


def measure(data_dir: Path) -> dict:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        con.execute(_ROWS_SQL, {"truth": str(data_dir / "truth" / "records.parquet"),
                                "files": str(data_dir / "truth" / "files.csv"),
                                "whole_file_defects": WHOLE_FILE_DEFECTS})
        read, published = con.execute("select count(*), count(*) filter (where published) from rows").fetchall()[0]
        clean, clean_published = con.execute("""
            select count(*), count(*) filter (where published) from rows
            where len(labels) = 0 and in_registry and not broken_export""").fetchall()[0]
        broken, broken_published = con.execute(
            "select count(*), count(*) filter (where published) from rows where broken_export").fetchall()[0]
        blocking, blocking_published = con.execute(
            "select count(*), count(*) filter (where published) from rows where list_has_any(labels, $labels)",
            {"labels": blocking_labels()}).fetchall()[0]
        by_label = dict(con.execute("""
            select label, count(*) from (select unnest(labels) as label from rows where published)
            where list_contains($labels, label) group by 1 order by 1""", {"labels": blocking_labels()}).fetchall())
        outcomes = con.execute("""
            select unit_code, arg_max(outcome, decided_at), arg_max(failed_gates, decided_at)
            from published.snapshots group by 1 order by 1""").fetchall()
        quarantined = dict(con.execute(
            "select split_part(reason_code, '.', 1), count(*) from quarantine.rows group by 1 order by 1").fetchall())
        id_kinds = dict(con.execute(
            "select id_kind, count(*) from marts.fct_civil_servant_records group by 1 order by 1").fetchall())
        link_rate = con.execute("select avg(case when decision = 'auto_link' then 1.0 else 0.0 end) "
                                "from link.record_links").fetchall()[0][0]
    held = {unit: gates for unit, outcome, gates in outcomes if outcome == "held"}
    clean_share = clean_published / clean if clean else None
    return {
        "rows_read": read,
        "rows_published": published,
        "published_share": round(published / read, 5) if read else None,
        "quarantined_by_criterion": quarantined,
        "id_kinds_sent": id_kinds,
        "link_rate": round(float(link_rate), 5),
        "units_published": sum(1 for _, outcome, _ in outcomes if outcome == "published"),
        "units_held": len(held),
        "held": held,
        "defect_free_in_registry": {"rows": clean, "published": clean_published,
                                    "share": None if clean_share is None else round(clean_share, 5)},
        "broken_export_rows": {"rows": broken, "published": broken_published},
        "blocking_defect_rows": {"rows": blocking, "published": blocking_published, "published_by_label": by_label},
        "meets_targets": (clean_share is not None and clean_share >= PUBLISHED_TARGET and blocking_published == 0
                          and broken_published == 0),
    }


def run_setting(name: str, scale: float, seed: int, as_of: date) -> dict:
    rates = SETTINGS[name]
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        started = time.perf_counter()
        generate(data_dir, scale=scale, seed=seed, as_of=as_of, rates=rates)
        generated = time.perf_counter()
        run_pipeline(data_dir, as_of)
        finished = time.perf_counter()
        result = measure(data_dir)
    changed = {k: v for k, v in rates.as_dict().items() if v != DEFAULTS.as_dict()[k]}
    return {"setting": name, "rates_changed_from_defaults": changed, "generate_seconds": round(generated - started, 1),
            "pipeline_seconds": round(finished - generated, 1), **result}


def print_row(row: dict) -> None:
    clean = row["defect_free_in_registry"]
    blocking = row["blocking_defect_rows"]
    print(f"{row['setting']:<18} read {row['rows_read']:>7} published {row['rows_published']:>7} "
          f"({row['published_share']:.1%})  units held {row['units_held']:>2} {row['held']}  "
          f"defect-free published {clean['published']}/{clean['rows']} ({clean['share']:.2%})  "
          f"blocking-defect rows published {blocking['published']}/{blocking['rows']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.013, help="generator scale (the demo's is 0.013)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 15))
    parser.add_argument("--settings", nargs="+", choices=sorted(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "publication_policy.json")
    args = parser.parse_args()
    rows = []
    for name in args.settings:
        rows.append(run_setting(name, args.scale, args.seed, args.as_of))
        print_row(rows[-1])
    write_result({
        "benchmark": "publication_policy",
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "data": {"scale": args.scale, "seed": args.seed, "as_of": args.as_of.isoformat()},
        "targets": {"defect_free_in_registry_published_share": PUBLISHED_TARGET, "blocking_defect_rows_published": 0},
        "blocking_labels": blocking_labels(),
        "settings": rows,
    }, args.out)
    return 0 if all(row["meets_targets"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
