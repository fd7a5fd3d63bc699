"""Tests for the synthetic data generator (orchestration/synthetic)."""

from __future__ import annotations

import csv
import hashlib
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from orchestration.synthetic import GenerationSummary, generate
from orchestration.synthetic.names import strip_diacritics
from orchestration.synthetic.reference import load_reference
from orchestration.synthetic.writers import XLSX_TITLE

REPO = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 20)
SCALE = 0.002
SEED = 11
REGISTRY_SIZE = 6000
HEADER = [
    "ma_ho_so", "ho_va_ten", "ngay_sinh", "gioi_tinh", "so_dinh_danh", "que_quan", "noi_thuong_tru",
    "dan_toc", "loai", "co_quan", "chuc_vu", "ma_ngach", "bac_luong", "he_so_luong", "ngay_tuyen_dung",
    "trinh_do_chuyen_mon", "trang_thai", "ngay_cap_nhat",
]
FILE_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}_.+\.(csv|xlsx)$")


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """One generation through the Python API."""
    return generate(tmp_path_factory.mktemp("a"), SCALE, SEED, REGISTRY_SIZE, AS_OF)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same generation through the command line, in a fresh interpreter."""
    out = tmp_path_factory.mktemp("cli")
    command = [sys.executable, "-m", "orchestration.synthetic", "--out", str(out), "--scale", str(SCALE),
               "--seed", str(SEED), "--registry-size", str(REGISTRY_SIZE), "--as-of", AS_OF.isoformat()]
    subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def registry(run: GenerationSummary) -> dict[str, dict]:
    rows = pq.read_table(run.out / "registry" / "registry.parquet").to_pylist()
    return {row["so_dinh_danh"]: row for row in rows}


@pytest.fixture(scope="module")
def truth(run: GenerationSummary) -> list[dict]:
    return pq.read_table(run.out / "truth" / "records.parquet").to_pylist()


@pytest.fixture(scope="module")
def landing_rows(run: GenerationSummary) -> dict[tuple[str, int], dict[str, str]]:
    """Every landing data row keyed by (source_file, 1-based row), values as text."""
    rows = {}
    for path in sorted((run.out / "landing").rglob("*.*")):
        source = path.relative_to(run.out).as_posix()
        for number, row in enumerate(read_extract(path), start=1):
            rows[(source, number)] = row
    return rows


@pytest.fixture(scope="module")
def rows_with_truth(truth: list[dict], landing_rows: dict) -> list[tuple[dict, dict]]:
    return [(t, landing_rows[(t["source_file"], t["source_row"])]) for t in truth]


def read_extract(path: Path) -> list[dict[str, str]]:
    """Data rows of a CSV or XLSX extract as text (dates as dd/mm/yyyy)."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    header = [str(v) for v in values[2]]
    return [{h: _cell_text(v) for h, v in zip(header, row, strict=False)} for row in values[3:]]


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def file_hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def parse_dmy(text: str) -> date:
    return datetime.strptime(text, "%d/%m/%Y").date()


def with_label(rows_with_truth: list[tuple[dict, dict]], label: str) -> list[tuple[dict, dict]]:
    found = [(t, r) for t, r in rows_with_truth if label in t["defects"].split(",")]
    assert found, f"no rows carry the defect {label}"
    return found


# ---------------------------------------------------------------- layout and reproducibility


def test_every_unit_has_a_folder(run: GenerationSummary) -> None:
    ref = load_reference()
    folders = {p.name for p in (run.out / "landing").iterdir() if p.is_dir()}
    assert {u.code for u in ref.units} <= folders
    assert len(ref.units) == 62
    assert all(size >= 50 for size in run.unit_sizes.values())
    for name in ("registry/registry.parquet", "truth/records.parquet", "truth/files.csv"):
        assert (run.out / name).is_file()


def test_same_seed_gives_identical_bytes(run: GenerationSummary, cli_run: Path) -> None:
    assert file_hashes(run.out) == file_hashes(cli_run)


def test_different_seed_gives_different_files(run: GenerationSummary, tmp_path: Path) -> None:
    other = generate(tmp_path, SCALE, SEED + 1, REGISTRY_SIZE, AS_OF)
    first, second = file_hashes(run.out), file_hashes(other.out)
    assert first["registry/registry.parquet"] != second["registry/registry.parquet"]
    assert first["truth/records.parquet"] != second["truth/records.parquet"]
    assert set(first) != set(second) or first != second


def test_registry_is_raised_to_hold_every_employee(tmp_path: Path) -> None:
    summary = generate(tmp_path, SCALE, SEED, 3000, AS_OF)
    truth = pq.read_table(tmp_path / "truth" / "records.parquet").to_pylist()
    ids = set(pq.read_table(tmp_path / "registry" / "registry.parquet").column("so_dinh_danh").to_pylist())
    assert summary.registry_size == len(ids) >= 3000
    assert {t["true_so_dinh_danh"] for t in truth if t["true_so_dinh_danh"]} <= ids


# ---------------------------------------------------------------- registry


def test_registry_ids_are_well_formed(registry: dict[str, dict]) -> None:
    ref = load_reference()
    prefixes = {p.id_prefix for p in ref.pre2025}
    assert len(registry) >= REGISTRY_SIZE
    for sdd, person in registry.items():
        assert re.fullmatch(r"\d{12}", sdd)
        born: date = person["ngay_sinh"]
        female = person["gioi_tinh"] == "Nữ"
        assert person["gioi_tinh"] in ("Nam", "Nữ")
        assert sdd[:3] == person["ma_tinh_khai_sinh"] and sdd[:3] in prefixes
        assert int(sdd[3]) == (0 if born.year < 2000 else 2) + int(female)
        assert sdd[4:6] == f"{born.year % 100:02d}"
        assert 1940 <= born.year <= 2007


def test_registry_attributes_are_consistent(registry: dict[str, dict]) -> None:
    ref = load_reference()
    wards = {code: province for province, items in ref.wards.items() for code, _ in items}
    old_ids = [p["cmnd_cu"] for p in registry.values() if p["cmnd_cu"] is not None]
    assert len(old_ids) == len(set(old_ids))
    assert all(re.fullmatch(r"\d{9}", v) for v in old_ids)
    for person in registry.values():
        assert wards[person["ma_xa_thuong_tru"]] == person["ma_tinh_thuong_tru"]
        assert person["dan_toc"] in ref.ethnic_groups
        assert (person["trang_thai"] == "da_mat") == (person["ngay_mat"] is not None)
        assert person["trang_thai"] in ("song", "da_mat")
        assert person["ngay_cap_nhat"] <= AS_OF
    kinh = sum(p["dan_toc"] == "01" for p in registry.values()) / len(registry)
    dead = sum(p["trang_thai"] == "da_mat" for p in registry.values()) / len(registry)
    assert 0.75 < kinh < 0.95
    assert 0.005 < dead < 0.03


# ---------------------------------------------------------------- records


def test_truth_covers_every_landing_row(truth: list[dict], landing_rows: dict, run: GenerationSummary) -> None:
    assert {(t["source_file"], t["source_row"]) for t in truth} == set(landing_rows)
    for t in truth:
        assert landing_rows[(t["source_file"], t["source_row"])]["ma_ho_so"] == t["ma_ho_so"]
    assert run.n_records == len(truth)


def test_clean_records_match_the_registry(rows_with_truth: list, registry: dict[str, dict]) -> None:
    clean = [(t, r) for t, r in rows_with_truth if not t["defects"]]
    assert len(clean) > 0.8 * len(rows_with_truth)
    for t, row in clean:
        person = registry[row["so_dinh_danh"]]
        assert row["so_dinh_danh"] == t["true_so_dinh_danh"]
        assert row.get("ho_va_ten", person["ho_va_ten"]) == person["ho_va_ten"]
        assert row["ngay_sinh"] == dmy(person["ngay_sinh"])
        assert row["gioi_tinh"] == person["gioi_tinh"]
        assert person["trang_thai"] == "song"
        age = (AS_OF - person["ngay_sinh"]).days / 365.25
        assert 19.9 < age < 63.1


def test_clean_records_have_valid_employment_facts(rows_with_truth: list) -> None:
    ref = load_reference()
    ranks = {r.code: r for r in ref.ranks}
    for t, row in rows_with_truth:
        if t["defects"]:
            continue
        rank = ranks[row["ma_ngach"]]
        expected = "vien_chuc" if row["loai"] == "vien_chuc" else "cong_chuc"
        assert row["loai"] in ("can_bo", "cong_chuc", "vien_chuc") and rank.category == expected
        assert row["he_so_luong"] == ref.pay_scale[rank.pay_group][int(row["bac_luong"])]
        assert re.fullmatch(r"\d+\.\d{2}", row["he_so_luong"])
        born, hired = parse_dmy(row["ngay_sinh"]), parse_dmy(row["ngay_tuyen_dung"])
        assert 18 <= (hired - born).days / 365.25 < 36 and hired <= AS_OF
        assert 0 <= (AS_OF - parse_dmy(row["ngay_cap_nhat"])).days <= 366
        assert row["trinh_do_chuyen_mon"] in ("Tiến sĩ", "Thạc sĩ", "Đại học", "Cao đẳng", "Trung cấp")
        assert row["trang_thai"] in ("Đang công tác", "Nghỉ hưu", "Chuyển công tác")
        assert row["gioi_tinh"] in ("Nam", "Nữ") and row["co_quan"]


def test_person_keys_are_consistent(truth: list[dict]) -> None:
    key_of_id: dict[str, str] = {}
    for t in truth:
        if t["true_so_dinh_danh"]:
            assert key_of_id.setdefault(t["true_so_dinh_danh"], t["person_key"]) == t["person_key"]
    assert len(set(key_of_id.values())) == len(key_of_id)


# ---------------------------------------------------------------- defects


def test_id_defects(rows_with_truth: list, registry: dict[str, dict]) -> None:
    for _, row in with_label(rows_with_truth, "blank_id"):
        assert row["so_dinh_danh"] == ""
    for t, row in with_label(rows_with_truth, "mistyped_id"):
        written, true = row["so_dinh_danh"], t["true_so_dinh_danh"]
        assert len(written) == 12 and written not in registry
        assert sum(a != b for a, b in zip(written, true, strict=True)) == 1
    for t, row in with_label(rows_with_truth, "old_cmnd"):
        assert row["so_dinh_danh"] == registry[t["true_so_dinh_danh"]]["cmnd_cu"]
        assert re.fullmatch(r"\d{9}", row["so_dinh_danh"])
    for t, row in with_label(rows_with_truth, "not_in_registry"):
        assert t["true_so_dinh_danh"] is None
        assert re.fullmatch(r"\d{12}", row["so_dinh_danh"]) and row["so_dinh_danh"] not in registry


def test_name_and_birth_date_defects(rows_with_truth: list, registry: dict[str, dict]) -> None:
    for t, row in with_label(rows_with_truth, "name_no_diacritics"):
        assert row["ho_va_ten"] == strip_diacritics(registry[t["true_so_dinh_danh"]]["ho_va_ten"])
        assert row["ho_va_ten"].isascii()
    for t, row in with_label(rows_with_truth, "name_upper"):
        assert row["ho_va_ten"] == registry[t["true_so_dinh_danh"]]["ho_va_ten"].upper()
    for t, row in with_label(rows_with_truth, "dob_swapped"):
        true_dob = registry[t["true_so_dinh_danh"]]["ngay_sinh"] if t["true_so_dinh_danh"] else None
        written = parse_dmy(row["ngay_sinh"])
        if true_dob is not None:
            assert written != true_dob
            assert written == date(true_dob.year, true_dob.day, true_dob.month)


def test_field_and_record_defects(rows_with_truth: list, registry: dict[str, dict]) -> None:
    known = {r.code for r in load_reference().ranks}
    for _, row in with_label(rows_with_truth, "blank_required"):
        assert "" in (row.get("ho_va_ten", "x"), row["loai"], row["ma_ngach"])
    for _, row in with_label(rows_with_truth, "invalid_rank"):
        assert row["ma_ngach"] not in known and re.fullmatch(r"(\d{2}\.\d{3}|V\.\d{2}\.\d{2}\.\d{2})",
                                                             row["ma_ngach"])
    per_file: dict[tuple[str, str], int] = {}
    for t, _ in rows_with_truth:
        per_file[(t["source_file"], t["ma_ho_so"])] = per_file.get((t["source_file"], t["ma_ho_so"]), 0) + 1
    for t, _ in with_label(rows_with_truth, "duplicate_record_id"):
        assert per_file[(t["source_file"], t["ma_ho_so"])] >= 2
    for t, row in with_label(rows_with_truth, "deceased_active"):
        assert registry[t["true_so_dinh_danh"]]["trang_thai"] == "da_mat"
        assert row["trang_thai"] == "Đang công tác"


# ---------------------------------------------------------------- files


def test_files_csv_describes_the_landing_files(run: GenerationSummary) -> None:
    with (run.out / "truth" / "files.csv").open(encoding="utf-8", newline="") as handle:
        files = list(csv.DictReader(handle))
    on_disk = {p.relative_to(run.out).as_posix() for p in (run.out / "landing").rglob("*.*")}
    assert {f["source_file"] for f in files} == on_disk
    kinds = [f["kind"] for f in files]
    assert kinds.count("stale_current") == 2
    assert kinds.count("undated") == kinds.count("unknown_unit") == kinds.count("missing_required_column") == 1
    for f in files:
        path = run.out / f["source_file"]
        assert len(read_extract(path)) == int(f["rows"])
        named = bool(FILE_NAME.match(path.name))
        assert named == (f["kind"] != "undated")
        if f["kind"] == "unknown_unit":
            assert f["unit_code"] == "so-khong-ton-tai"
        if f["kind"] == "stale_current":
            assert (AS_OF - date.fromisoformat(path.name[:10])).days > 90
        if f["kind"] == "current":
            assert 0 <= (AS_OF - date.fromisoformat(path.name[:10])).days <= 20


def test_missing_column_unit_keeps_an_older_good_file(run: GenerationSummary) -> None:
    folder = run.out / "landing" / run.missing_column_unit
    files = sorted(p for p in folder.iterdir() if FILE_NAME.match(p.name))
    assert len(files) >= 2
    newest, older = read_extract(files[-1]), read_extract(files[-2])
    assert "ho_va_ten" not in newest[0] and list(older[0]) == HEADER


def test_bad_unit_has_many_blank_ids(run: GenerationSummary) -> None:
    unit = next(u for u in load_reference().units if u.code == run.bad_id_unit)
    assert unit.kind == "central"
    files = sorted(p for p in (run.out / "landing" / unit.code).iterdir() if FILE_NAME.match(p.name))
    rows = read_extract(files[-1])
    assert sum(r["so_dinh_danh"] == "" for r in rows) / len(rows) > 0.3


def test_csv_files_have_the_canonical_header(run: GenerationSummary) -> None:
    for path in (run.out / "landing").rglob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle))
        if path.parent.name != run.missing_column_unit:
            assert header == HEADER, path


def test_xlsx_files_open_with_title_row(run: GenerationSummary) -> None:
    paths = sorted((run.out / "landing").rglob("*.xlsx"))
    assert {p.parent.name for p in paths} == set(run.xlsx_units)
    assert 8 <= len(run.xlsx_units) <= 12
    for path in paths:
        sheet = openpyxl.load_workbook(path).worksheets[0]
        assert sheet.cell(1, 1).value == XLSX_TITLE
        assert all(cell.value is None for cell in sheet[2])
        header = [cell.value for cell in sheet[3]]
        assert header[0] == "ma_ho_so" and "ngay_sinh" in header
        assert isinstance(sheet.cell(4, header.index("ngay_sinh") + 1).value, datetime)
