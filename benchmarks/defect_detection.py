"""Defect detection against the generator's truth: each labelled defect, the rule(s) that must find it, recall.

    .venv/bin/python benchmarks/defect_detection.py --data-dir DIR              # a data set already run
    .venv/bin/python benchmarks/defect_detection.py --scale 0.02 --seed 7       # generate + run in a temp dir

DIR holds the generator's truth (truth/records.parquet, registry/*.parquet) and a warehouse.duckdb after
a pipeline run. Only rows the pipeline loaded (the units' current extracts, rows of `marts.
fct_civil_servant_records`) are measured: rows of rejected or older files never reach the record rules.

For every label of the generator's defect catalogue (docs/synthetic-data.md) the table gives the
labelled rows, the rows the mapped rule(s) flag and the recall; labels that conform corrects instead of
flagging are verified against the truth (the conformed value equals the registry's). Clean rows (no
label) count as *falsely flagged* when they carry any flag at all, blocking or warning: a warning also
sends the unit work to do. Targets (issue #7): recall >= 99 % for every labelled defect type present,
falsely flagged clean rows <= 0.5 %. The script exits 1 when a target is missed, 2 when the truth
holds a label this script does not map. It prints counts only, never a personal value.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
from results_file import RESULTS_DIR, write_result

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RECALL_TARGET = 0.99
FALSE_FLAG_TARGET = 0.005

# A record whose person could not be linked automatically cannot be compared with the registry; the
# record is then stopped for its identity (no match, or a match waiting for review) instead.
UNLINKED = ("not_in_registry", "link_in_review")
# Files whose rows are a broken export (truth/files.csv kind): measured by the integrity gates instead.
WHOLE_FILE_DEFECTS = ["shifted_columns"]

# Generator label -> the record rule(s) of quality.record_flags that must flag a row carrying it.
RULES_BY_LABEL: dict[str, tuple[str, ...]] = {
    # The ID cell is blank; the template allows it, the national data set needs it (sufficient).
    "blank_id": ("id_missing",),
    # One digit changed: linkage finds the person under another ID. id_structure fires too when the
    # digit breaks the prefix, sex/century or year, but only id_wrong always does on a linked record.
    "mistyped_id": ("id_wrong", *UNLINKED),
    # A 9-digit old CMND in the ID column.
    "old_cmnd": ("id_old_cmnd",),
    # Accents cannot be restored by conform: the name disagrees with the linked registry person's.
    "name_no_diacritics": ("name_differs_from_registry", *UNLINKED),
    # One slip in a letter: the name disagrees with the registry's.
    "name_typo": ("name_differs_from_registry", *UNLINKED),
    # Middle name dropped: the name disagrees with the registry's.
    "name_no_middle": ("name_differs_from_registry", *UNLINKED),
    # Day and month swapped into another valid date: conform cannot know, the registry disagrees.
    "dob_swapped": ("dob_differs_from_registry", *UNLINKED),
    # 01/01 of the true year; a real 1 January birthday (registry agrees) is not flagged.
    "dob_placeholder": ("dob_placeholder",),
    # The year alone.
    "dob_year_only": ("dob_year_only",),
    # Blank date of birth: a required field.
    "dob_missing": ("required_missing",),
    # The other sex: it disagrees with the registry, and the ID's sex digit with the sex sent.
    "wrong_sex": ("sex_differs_from_registry", "id_structure", *UNLINKED),
    # One of ho_va_ten, loai, ma_ngach blank.
    "blank_required": ("required_missing",),
    # A well-formed rank code outside the catalogue.
    "invalid_rank": ("rank_unknown",),
    # A coefficient that is no step of the rank's pay group.
    "coef_off_scale": ("coefficient_off_scale",),
    # An ethnic group that is neither a code nor a name of the 54.
    "unknown_ethnic": ("ethnic_group_unknown",),
    # Recruited before 18 (judged on the registry's birth date when the record is linked).
    "recruited_under_18": ("recruited_under_18",),
    # Not updated for 3-8 years; the rule's period is the dbt var stale_record_months (24).
    "stale_record": ("record_not_updated",),
    # Two rows of one file share a record id; both rows are labelled.
    "duplicate_record_id": ("duplicate_record_id",),
    # Residence written with pre-2025 units (a merged or a split old ward).
    "old_address": ("address_pre_2025",),
    "old_address_split": ("address_pre_2025",),
    # Hometown written with pre-2025 units.
    "old_hometown": ("hometown_not_2025",),
    # The person is not in the registry: no link, or an uncertain one held for review.
    "not_in_registry": UNLINKED,
    # Deceased in the registry, Đang công tác in the record.
    "deceased_active": ("deceased_but_active",),
    # Past the statutory retirement age and Đang công tác.
    "past_retirement": ("past_retirement_age",),
    # One person on two records of one file; both records are labelled.
    "dup_person_in_unit": ("duplicate_person",),
    # One person in two units (Chuyển công tác in the old one); both sides are labelled.
    "transfer_two_units": ("person_in_two_units",),
    # One person active in two units (a concurrent post); both sides are labelled.
    "concurrent_two_units": ("person_in_two_units",),
    # Conform corrects these (Ð -> Đ, re-casing, modern tone placement): verified below, not flagged.
    # If conform did not correct one, the name disagrees with the registry's and that rule flags it.
    "name_eth_d": ("name_differs_from_registry",),
    "name_upper": ("name_differs_from_registry",),
    "name_old_tone": ("name_differs_from_registry",),
}

# Labels whose effect conform corrects: a row counts as handled when its conformed name equals the
# registry's name of the true person (verifiable for registry persons only) or when the rule flags it.
CORRECTED_BY_CONFORM = frozenset({"name_eth_d", "name_upper", "name_old_tone"})

# Two-sided labels: the other side of the pair, found among the loaded rows. A side whose other side is
# not loaded (its unit's current file was rejected, so an older file stands in) is no defect of the data
# the rules see, and is left out of the recall.
PARTNER_KEYS = {
    "duplicate_record_id": ("source_file", "ma_ho_so"),
    "dup_person_in_unit": ("source_file", "person_key"),
    "transfer_two_units": ("person_key",),
    "concurrent_two_units": ("person_key",),
}

_LOADED_ROWS_SQL = """
create temp table loaded as
select
    t.source_file, t.source_row, t.ma_ho_so, t.person_key, t.true_so_dinh_danh,
    coalesce(string_split(nullif(t.defects, ''), ','), []) as labels,
    r.ho_va_ten as conformed_name,
    registry.ho_va_ten as true_name,
    coalesce(f.rules, []) as rules
from read_parquet($truth) as t
join marts.fct_civil_servant_records as r using (source_file, source_row)
-- A broken export is judged as a whole by the integrity gates (the unit is held), not row by row.
anti join (
    select source_file from read_csv($files, all_varchar = true) where list_contains($whole_file_defects, kind)
) using (source_file)
left join (
    select source_file, source_row, list(distinct rule order by rule) as rules
    from quality.record_flags group by all
) as f using (source_file, source_row)
left join (
    select so_dinh_danh, ho_va_ten from read_parquet($registry)
    where so_dinh_danh in (select true_so_dinh_danh from read_parquet($truth))
) as registry on registry.so_dinh_danh = t.true_so_dinh_danh
"""


@dataclass
class LabelResult:
    label: str
    handling: str
    rules: tuple[str, ...]
    labelled: int
    other_side_not_loaded: int
    not_verifiable: int
    corrected: int
    flagged: int
    detected: int
    by_rule: dict[str, int]

    @property
    def evaluated(self) -> int:
        return self.labelled - self.other_side_not_loaded - self.not_verifiable

    @property
    def recall(self) -> float | None:
        return round(self.detected / self.evaluated, 5) if self.evaluated else None

    @property
    def meets_target(self) -> bool:
        return self.recall is None or self.recall >= RECALL_TARGET

    def as_dict(self) -> dict:
        return {
            "label": self.label, "handling": self.handling, "rules": list(self.rules), "labelled": self.labelled,
            "other_side_not_loaded": self.other_side_not_loaded, "not_verifiable": self.not_verifiable,
            "evaluated": self.evaluated, "corrected_by_conform": self.corrected, "flagged": self.flagged,
            "detected": self.detected, "recall": self.recall, "meets_target": self.meets_target,
            "by_rule": self.by_rule,
        }


def partner_loaded_sql(label: str) -> str:
    """A boolean column: the other side of a two-sided label is among the loaded rows."""
    keys = PARTNER_KEYS.get(label)
    if keys is None:
        return "true"
    same = " and ".join(f"other.{key} = loaded.{key}" for key in keys)
    return (f"exists (select 1 from loaded as other where {same} and list_contains(other.labels, '{label}') "
            "and (other.source_file, other.source_row) <> (loaded.source_file, loaded.source_row))")


def measure_label(con: duckdb.DuckDBPyConnection, label: str) -> LabelResult:
    rules = RULES_BY_LABEL[label]
    corrected_by_conform = label in CORRECTED_BY_CONFORM
    # Without the true person in the registry, a corrected name has nothing to be compared with.
    verifiable = "true_name is not null" if corrected_by_conform else "true"
    corrected = "conformed_name = true_name" if corrected_by_conform else "false"
    row = con.execute(f"""
        with labelled as (
            select *, {partner_loaded_sql(label)} as partner_loaded, {verifiable} as verifiable,
                coalesce({corrected}, false) as corrected, list_has_any(rules, $rules) as flagged
            from loaded where list_contains(labels, $label)
        )
        select
            count(*),
            count(*) filter (where not partner_loaded),
            count(*) filter (where partner_loaded and not verifiable),
            count(*) filter (where partner_loaded and verifiable and corrected),
            count(*) filter (where partner_loaded and verifiable and flagged),
            count(*) filter (where partner_loaded and verifiable and (corrected or flagged))
        from labelled
    """, {"label": label, "rules": list(rules)}).fetchall()[0]
    # Which of the mapped rules fired, e.g. how many identity defects were stopped unlinked instead.
    by_rule = dict(con.execute("""
        select rule, count(*) from (
            select unnest(list_intersect(rules, $rules)) as rule from loaded where list_contains(labels, $label)
        ) group by 1 order by 2 desc, 1
    """, {"label": label, "rules": list(rules)}).fetchall())
    handling = "corrected_by_conform" if corrected_by_conform else "flagged"
    return LabelResult(label, handling, rules, *row, by_rule)


def measure_clean_rows(con: duckdb.DuckDBPyConnection) -> dict:
    rows, flagged = con.execute(
        "select count(*), count(*) filter (where len(rules) > 0) from loaded where len(labels) = 0"
    ).fetchall()[0]
    by_rule = dict(con.execute(
        "select rule, count(*) from (select unnest(rules) as rule from loaded where len(labels) = 0) "
        "group by 1 order by 2 desc, 1"
    ).fetchall())
    share = round(flagged / rows, 5) if rows else 0.0
    return {"rows": rows, "falsely_flagged": flagged, "share": share, "by_rule": by_rule,
            "meets_target": share <= FALSE_FLAG_TARGET}


def unmapped_labels(con: duckdb.DuckDBPyConnection) -> list[str]:
    present = {label for (label,) in con.execute("select distinct unnest(labels) from loaded").fetchall()}
    return sorted(present - set(RULES_BY_LABEL))


def measure(data_dir: Path, warehouse: Path | None = None) -> dict:
    truth = data_dir / "truth" / "records.parquet"
    registry = data_dir / "registry" / "*.parquet"
    with duckdb.connect(str(warehouse or data_dir / "warehouse.duckdb"), read_only=True) as con:
        con.execute(_LOADED_ROWS_SQL, {"truth": str(truth), "registry": str(registry),
                                       "files": str(data_dir / "truth" / "files.csv"),
                                       "whole_file_defects": WHOLE_FILE_DEFECTS})
        truth_rows = con.execute("select count(*) from read_parquet(?)", [str(truth)]).fetchall()[0][0]
        loaded_rows, labelled_rows = con.execute(
            "select count(*), count(*) filter (where len(labels) > 0) from loaded").fetchall()[0]
        labels = [measure_label(con, label) for label in RULES_BY_LABEL]
        clean = measure_clean_rows(con)
        unmapped = unmapped_labels(con)
    missed = [r.label for r in labels if not r.meets_target]
    return {
        "rows": {"truth": truth_rows, "loaded": loaded_rows, "labelled": labelled_rows, "clean": clean["rows"]},
        "labels": [r.as_dict() for r in labels],
        "labels_absent": [r.label for r in labels if r.labelled == 0],
        "clean_rows": clean,
        "unmapped_labels": unmapped,
        "labels_below_target": missed,
        "meets_targets": not missed and clean["meets_target"] and not unmapped,
    }


def print_table(result: dict) -> None:
    print(f"{'label':<22} {'handling':<21} {'labelled':>8} {'evaluated':>9} {'detected':>8} {'recall':>8}  rules")
    for row in result["labels"]:
        recall = "-" if row["recall"] is None else f"{row['recall']:.2%}"
        print(f"{row['label']:<22} {row['handling']:<21} {row['labelled']:>8} {row['evaluated']:>9} "
              f"{row['detected']:>8} {recall:>8}  {', '.join(row['rules'])}")
    clean = result["clean_rows"]
    print(f"clean rows {clean['rows']}, falsely flagged {clean['falsely_flagged']} ({clean['share']:.3%}); "
          f"by rule: {clean['by_rule']}")


def run_pipeline(data_dir: Path, as_of: date) -> None:
    """The whole pipeline on every unit, in a fresh process, as `make run` does."""
    dagster_home = data_dir / "dagster_home"
    dagster_home.mkdir(exist_ok=True)
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {
        **os.environ,
        "CBCCVC_DATA_DIR": str(data_dir),
        "CBCCVC_WAREHOUSE": str(data_dir / "warehouse.duckdb"),
        "CBCCVC_AS_OF": as_of.isoformat(),
        "DAGSTER_HOME": str(dagster_home),
        "DO_NOT_TRACK": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    completed = subprocess.run([sys.executable, "-m", "orchestration.run"], cwd=PROJECT_ROOT, env=env,
                               capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"pipeline failed:\n{completed.stderr[-3000:]}")


def generate_and_measure(scale: float, seed: int, as_of: date, keep: Path | None) -> dict:
    sys.path.insert(0, str(PROJECT_ROOT))
    from synthetic import generate

    with nullcontext(str(keep)) if keep else tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        generate(data_dir, scale=scale, seed=seed, as_of=as_of)
        run_pipeline(data_dir, as_of)
        return measure(data_dir)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data-dir", type=Path, help="a data set with truth, after a pipeline run")
    source.add_argument("--scale", type=float, help="generate a data set of this scale and run the pipeline")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 15))
    parser.add_argument("--warehouse", type=Path, help="with --data-dir: the warehouse (default DIR/warehouse.duckdb)")
    parser.add_argument("--keep", type=Path, help="with --scale: generate into this directory and keep it")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "defect_detection.json")
    args = parser.parse_args()
    if args.data_dir is not None:
        data = {"data_dir": str(args.data_dir.resolve())}
        result = measure(args.data_dir.resolve(), args.warehouse)
    else:
        data = {"scale": args.scale, "seed": args.seed, "as_of": args.as_of.isoformat()}
        result = generate_and_measure(args.scale, args.seed, args.as_of, args.keep)
    print_table(result)
    write_result({
        "benchmark": "defect_detection",
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "data": data,
        "falsely_flagged": "a clean row (no label) with any flag, blocking or warning",
        "targets": {"recall": RECALL_TARGET, "falsely_flagged_share": FALSE_FLAG_TARGET},
        **result,
    }, args.out)
    if result["unmapped_labels"]:
        print(f"labels without a mapped rule: {', '.join(result['unmapped_labels'])}", file=sys.stderr)
        return 2
    return 0 if result["meets_targets"] else 1


if __name__ == "__main__":
    sys.exit(main())
