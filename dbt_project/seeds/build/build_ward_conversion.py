"""Build the seed ``ref_ward_conversion_2025.csv`` from the official old-to-new ward conversion table.

Run once by a maintainer when the official table changes; the output is committed and the pipeline
never reads the official file at run time::

    python dbt_project/seeds/build/build_ward_conversion.py OFFICIAL.csv \
        > dbt_project/seeds/ref_ward_conversion_2025.csv

Cleaning (each a known error of the published table):
- title rows and the province header rows between blocks are dropped; notes lose stray spaces/newlines;
- "Nhập một phần…" notes mean an old ward was split: every (old ward, new ward) pair is kept, and
  ``old_ward_split`` marks old wards that map to more than one new ward: never guess one;
- old-province labels are not trusted: the old province of each old district is the one most rows of
  that district name, and its name comes from the pre-2025 province list by code.
"""

from __future__ import annotations

import csv
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1]
_CODE_IN_PARENS = re.compile(r"^(.*?)\s*\((\d+)\)\s*$")
OUTPUT_COLUMNS = (
    "new_province_code", "new_ward_code", "new_ward_name", "old_ward_code", "old_ward_name",
    "old_district_code", "old_district_name", "old_province_code", "old_province_name", "merge_kind",
    "old_ward_split", "note",
)


def clean(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def split_code(label: str) -> tuple[str, str]:
    """'Quận Ba Đình (001)' -> ('Quận Ba Đình', '001')."""
    match = _CODE_IN_PARENS.match(clean(label))
    return (match[1], match[2]) if match else (clean(label), "")


def merge_kind(note: str) -> str:
    lowered = note.lower()
    if "một phần" in lowered or "một  phần" in lowered:
        return "part"
    if "giữ nguyên" in lowered:
        return "unchanged"
    if "đổi tên" in lowered or "đổi loại hình" in lowered:
        return "renamed"
    return "whole"


def pre2025_province_names() -> dict[str, str]:
    with (SEEDS / "ref_provinces_pre2025.csv").open(encoding="utf-8") as handle:
        return {row["province_code"]: row["name"] for row in csv.DictReader(handle)}


def read_official(path: Path) -> list[dict[str, str]]:
    records = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            if len(row) < 8 or not row[2].strip() or not row[4].strip() or not row[2].strip().isdigit():
                continue  # title rows and province header rows
            _, new_province_code = split_code(row[0])
            district_name, district_code = split_code(row[6])
            _, labelled_province_code = split_code(row[7])
            note = clean(row[5])
            records.append({
                "new_province_code": new_province_code,
                "new_ward_code": row[2].strip(),
                "new_ward_name": clean(row[1]),
                "old_ward_code": row[4].strip(),
                "old_ward_name": clean(row[3]),
                "old_district_code": district_code,
                "old_district_name": district_name,
                "labelled_province_code": labelled_province_code,
                "merge_kind": merge_kind(note),
                "note": note,
            })
    return records


def build(records: list[dict[str, str]]) -> list[dict[str, str]]:
    names = pre2025_province_names()
    votes: dict[str, Counter] = defaultdict(Counter)
    for record in records:
        votes[record["old_district_code"]][record["labelled_province_code"]] += 1
    district_province = {district: counter.most_common(1)[0][0] for district, counter in votes.items()}
    targets: dict[str, set[str]] = defaultdict(set)
    for record in records:
        targets[record["old_ward_code"]].add(record["new_ward_code"])
    rows = []
    for record in records:
        province_code = district_province[record["old_district_code"]]
        rows.append({
            **{k: v for k, v in record.items() if k != "labelled_province_code"},
            "old_province_code": province_code,
            "old_province_name": names.get(province_code, ""),
            "old_ward_split": "true" if len(targets[record["old_ward_code"]]) > 1 else "false",
        })
    unique = {(r["old_ward_code"], r["new_ward_code"]): r for r in rows}
    return sorted(unique.values(), key=lambda r: (r["new_province_code"], r["new_ward_code"], r["old_ward_code"]))


def main(argv: list[str]) -> int:
    rows = build(read_official(Path(argv[1])))
    writer = csv.DictWriter(sys.stdout, fieldnames=OUTPUT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({column: row[column] for column in OUTPUT_COLUMNS} for row in rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
