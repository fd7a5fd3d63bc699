"""Record rules (quality.record_flags): every rule on a hand-made failing row and a hand-made passing row.

One tiny warehouse for the module: extract rows of two units, one registry person per case and the link
decisions as the link layer writes them, then a real `dbt build` of the record-flag model and everything
it reads (seeds, staging, intermediate, marts, and their dbt tests) on real DuckDB. Each passing row is
a near miss of its rule where there is one (a real 1 January birthday, a name in capitals, the 18th
birthday itself), so the test shows where each rule stops.

The rule catalogue is the seed ref_record_rules: every rule the model can emit is in it, with a case here
and a row of the table in docs/quality-rules.md of the same criterion, severity and generator labels.
"""

from __future__ import annotations

import csv
import re
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.columns import EXTRACT_COLUMNS
from orchestration.ingest.encodings import to_tcvn3
from orchestration.warehouse import ensure_warehouse
from tests.conftest import dbt_build, run_dbt_build

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RULES_SEED = PROJECT_ROOT / "dbt_project" / "seeds" / "ref_record_rules.csv"
RULES_MODEL = PROJECT_ROOT / "dbt_project" / "models" / "marts" / "quality" / "fct_record_flags.sql"
RULES_DOC = PROJECT_ROOT / "docs" / "quality-rules.md"
EXTRACT_DATE = date(2026, 11, 1)

# A value sent may depend on the person's registry ID (a mistyped or re-formatted ID).
Sent = str | None | Callable[[str], str]


@dataclass(frozen=True)
class Person:
    """A registry person (reference data)."""

    name: str = "Nguyễn Văn An"
    born: date = date(1985, 3, 5)
    sex: str = "Nam"
    status: str = "song"


@dataclass(frozen=True)
class Record:
    """One extract row: the person's identity as the registry holds it unless `sent` says otherwise."""

    sent: dict[str, Sent] = field(default_factory=dict)
    unit: str = "ha-noi"
    decision: str = "auto_link"
    match_status: str = "matched"


@dataclass(frozen=True)
class Case:
    """The records of one registry person; rules are asserted on the first record."""

    records: tuple[Record, ...] = (Record(),)
    person: Person = Person()


def one(person: Person = Person(), **sent: Sent) -> Case:
    return Case((Record(sent),), person)


def also_in(unit: str, **sent: Sent) -> Record:
    return Record(sent, unit=unit)


MAN_BORN_1990 = Person(born=date(1990, 6, 15))
TRANSFER = Case((Record(), also_in("hue", trang_thai="Chuyển công tác")))
OLD_ADDRESS = "Phường Trúc Bạch, Quận Ba Đình, Thành phố Hà Nội"

# rule -> (a case the rule must flag, a case it must not flag).
RULE_CASES: dict[str, tuple[Case, Case]] = {
    # correct (đúng)
    "id_invalid": (one(so_dinh_danh="12345"), one()),
    "id_old_cmnd": (one(so_dinh_danh="123456789"), one()),
    "id_structure": (one(so_dinh_danh=lambda id_: "999" + id_[3:]),
                     one(so_dinh_danh=lambda id_: f"{id_[:3]} {id_[3:6]} {id_[6:]}")),
    "dob_invalid": (one(ngay_sinh="31/02/1985"), one(ngay_sinh="1985-03-05")),
    "sex_invalid": (one(gioi_tinh="x"), one(gioi_tinh="M")),
    "rank_malformed": (one(ma_ngach="chuyên viên"), one(ma_ngach=" 01.003 ")),
    "rank_unknown": (one(ma_ngach="01.999"), one()),
    "coefficient_off_scale": (one(he_so_luong="2.35"), one(he_so_luong="2,67", bac_luong="2")),
    "not_in_registry": (Case((Record(decision="no_link", match_status="not_found"),)), one()),
    "link_in_review": (Case((Record(decision="review"),)), one()),
    "id_wrong": (Case((Record({"so_dinh_danh": lambda id_: id_[:-1] + str((int(id_[-1]) + 1) % 10)},
                              match_status="id_wrong"),)), one()),
    "name_differs_from_registry": (one(ho_va_ten="Nguyen Van An"), one(ho_va_ten="NGUYỄN VĂN AN")),
    "dob_differs_from_registry": (one(ngay_sinh="03/05/1985"), one(ngay_sinh="5/3/1985")),
    "sex_differs_from_registry": (one(gioi_tinh="Nữ"), one(gioi_tinh="NAM")),
    "dob_placeholder": (one(ngay_sinh="01/01/1985"), one(Person(born=date(1985, 1, 1)))),
    "dob_year_only": (one(ngay_sinh="1985"), one()),
    "dob_implausible": (one(Person(born=date(1939, 12, 31))), one(Person(born=date(1940, 1, 1)))),
    "recruited_under_18": (one(MAN_BORN_1990, ngay_tuyen_dung="14/06/2008"),
                           one(MAN_BORN_1990, ngay_tuyen_dung="15/06/2008")),
    "date_in_future": (one(ngay_cap_nhat="02/11/2026"), one(ngay_cap_nhat="01/11/2026")),
    "category_unknown": (one(loai="Hợp đồng"), one(loai="CÔNG CHỨC")),
    "status_unknown": (one(trang_thai="Tạm nghỉ"), one(trang_thai="Nghỉ hưu")),
    "ethnic_group_unknown": (one(dan_toc="Khác"), one(dan_toc="1")),
    # sufficient (đủ)
    "required_missing": (one(loai=None), one()),
    "id_missing": (one(so_dinh_danh=None), one()),
    # clean (sạch)
    "duplicate_record_id": (Case((Record({"ma_ho_so": "HS-TWICE"}), Record({"ma_ho_so": "HS-TWICE"}))), one()),
    "duplicate_person": (Case((Record(), Record())), TRANSFER),
    "person_in_two_units": (TRANSFER, Case((Record(), Record()))),
    "identity_conflict_across_units": (Case((Record(), also_in("hue", ho_va_ten="Nguyen Van An"))),
                                       Case((Record(), also_in("hue", ho_va_ten="NGUYỄN VĂN AN")))),
    "text_not_normalised": (one(co_quan=to_tcvn3("Sở Nội vụ")),
                            one(ho_va_ten=unicodedata.normalize("NFD", "Nguyễn Văn An"))),
    "personal_id_in_text": (Case((Record({"ma_ho_so": "001085012345"}),)), Case((Record({"ma_ho_so": "HS-0012345"}),))),
    # living (sống)
    "deceased_but_active": (one(Person(status="da_mat")), one(Person(status="da_mat"), trang_thai="Từ trần")),
    "past_retirement_age": (one(Person(born=date(1964, 12, 15))), one(Person(born=date(1965, 12, 15)))),
    "address_pre_2025": (one(noi_thuong_tru=OLD_ADDRESS), one()),
    "address_unresolved": (one(noi_thuong_tru="Xóm Núi, Thành phố Hà Nội"), one()),
    "hometown_not_2025": (one(que_quan=OLD_ADDRESS), one(que_quan="phường ba đình, hà nội")),
    "record_not_updated": (one(ngay_cap_nhat="31/10/2024"), one(ngay_cap_nhat="01/11/2024")),
}

CLEAN_CASE = one()


def registry_id(person: Person, serial: int) -> str:
    """A valid 12-digit ID: Hà Nội's prefix, the century/sex digit, the year digits, a serial."""
    century_sex = (person.born.year // 100 - 19) * 2 + (person.sex == "Nữ")
    return f"001{century_sex}{person.born.year % 100:02d}{serial:06d}"


def extract_row(person: Person, person_id: str, sent: dict[str, Sent], ma_ho_so: str) -> dict[str, str | None]:
    """The text a unit sends for a clean record of the person, then the case's own values."""
    row: dict[str, Sent] = {
        "ma_ho_so": ma_ho_so, "ho_va_ten": person.name, "ngay_sinh": person.born.strftime("%d/%m/%Y"),
        "gioi_tinh": person.sex, "so_dinh_danh": person_id, "que_quan": "Phường Ba Đình, Thành phố Hà Nội",
        "noi_thuong_tru": "Phường Ba Đình, Thành phố Hà Nội", "dan_toc": "Kinh", "loai": "Công chức",
        "co_quan": "Sở Nội vụ", "chuc_vu": "Chuyên viên", "ma_ngach": "01.003", "bac_luong": "1",
        "he_so_luong": "2.34", "ngay_tuyen_dung": person.born.replace(year=person.born.year + 25).strftime("%d/%m/%Y"),
        "trinh_do_chuyen_mon": "Đại học", "trang_thai": "Đang công tác", "ngay_cap_nhat": "01/10/2026",
        **sent,
    }
    return {column: value(person_id) if callable(value) else value for column, value in row.items()}


@dataclass
class HandMadeData:
    """What the fixture inserts, and where each case's records landed."""

    extracts: list[tuple] = field(default_factory=list)
    links: list[tuple] = field(default_factory=list)
    registry: list[tuple] = field(default_factory=list)
    next_row: dict[str, int] = field(default_factory=dict)

    def add(self, case: Case, serial: int) -> list[tuple[str, int]]:
        person = case.person
        person_id = registry_id(person, serial)
        died = date(2025, 1, 10) if person.status == "da_mat" else None
        self.registry.append((person_id, None, person.name, person.born, person.sex, "001", "01", "00004", "01",
                              person.status, died, date(2025, 1, 1)))
        return [self._add_record(record, person, person_id, f"HS-{serial}-{k}")
                for k, record in enumerate(case.records, start=1)]

    def _add_record(self, record: Record, person: Person, person_id: str, ma_ho_so: str) -> tuple[str, int]:
        source_file = f"landing/{record.unit}/{EXTRACT_DATE.isoformat()}.csv"
        source_row = self.next_row.get(record.unit, 0) + 1
        self.next_row[record.unit] = source_row
        row = extract_row(person, person_id, record.sent, ma_ho_so)
        self.extracts.append((record.unit, source_file, source_row, *(row[c] for c in EXTRACT_COLUMNS)))
        linked_id = person_id if record.decision in ("auto_link", "review") else None
        self.links.append((record.unit, source_file, source_row, row["ma_ho_so"], linked_id,
                           1.0 if linked_id else 0.0, record.decision, record.match_status))
        return source_file, source_row


def write_warehouse(warehouse: Path, data: HandMadeData) -> None:
    with duckdb.connect(str(warehouse)) as con:
        ensure_warehouse(con)
        con.executemany(
            "insert into raw.extracts (unit_code, source_file, file_sha256, extract_date, source_row, load_id, "
            f"loaded_at, {', '.join(EXTRACT_COLUMNS)}) values (?, ?, '0', ?, ?, 'test', now(), "
            f"{', '.join('?' for _ in EXTRACT_COLUMNS)})",
            [(unit, file, EXTRACT_DATE, row, *values) for unit, file, row, *values in data.extracts],
        )
        con.executemany(
            "insert into link.record_links (unit_code, source_file, source_row, ma_ho_so, so_dinh_danh, "
            "match_probability, decision, match_status, load_id, linked_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, 'test', now())",
            data.links,
        )
        con.execute("create table raw.registry (so_dinh_danh varchar, cmnd_cu varchar, ho_va_ten varchar, "
                    "ngay_sinh date, gioi_tinh varchar, ma_tinh_khai_sinh varchar, ma_tinh_thuong_tru varchar, "
                    "ma_xa_thuong_tru varchar, dan_toc varchar, trang_thai varchar, ngay_mat date, ngay_cap_nhat date, "
                    "registry_snapshot_id varchar default 'registry-test')")
        con.executemany(f"insert into raw.registry by position values ({', '.join('?' * 12)}, default)", data.registry)


@dataclass
class FlaggedRecords:
    by_record: dict[tuple[str, int], set[str]]
    rows: list[tuple]  # (source_file, source_row, criterion, rule, severity, detail)
    failing: dict[str, list[tuple[str, int]]]
    passing: dict[str, list[tuple[str, int]]]
    clean: tuple[str, int]
    registry: list[tuple]
    warehouse: Path

    def rules_of(self, record: tuple[str, int]) -> set[str]:
        return self.by_record.get(record, set())


@pytest.fixture(scope="module")
def flagged(tmp_path_factory) -> FlaggedRecords:
    data = HandMadeData()
    serials = iter(range(1, 1000))
    failing = {rule: data.add(fail, next(serials)) for rule, (fail, _) in RULE_CASES.items()}
    passing = {rule: data.add(ok, next(serials)) for rule, (_, ok) in RULE_CASES.items()}
    clean = data.add(CLEAN_CASE, next(serials))[0]
    warehouse = tmp_path_factory.mktemp("record_rules") / "warehouse.duckdb"
    write_warehouse(warehouse, data)
    dbt_build(warehouse, "+fct_record_flags")  # the model's own dbt tests pass too
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select source_file, source_row, criterion, rule, severity, detail from quality.record_flags").fetchall()
    by_record: dict[tuple[str, int], set[str]] = {}
    for source_file, source_row, _, rule, _, _ in rows:
        by_record.setdefault((source_file, source_row), set()).add(rule)
    return FlaggedRecords(by_record, rows, failing, passing, clean, data.registry, warehouse)


def seed_rules() -> dict[str, dict[str, str]]:
    with RULES_SEED.open(encoding="utf-8", newline="") as handle:
        return {row["rule"]: row for row in csv.DictReader(handle)}


def model_rules() -> set[str]:
    """The rule names the model's union branches emit: the quoted name after the record keys."""
    branches = RULES_MODEL.read_text(encoding="utf-8").partition("\nflags as (")[2]
    return set(re.findall(r"\bma_ho_so, '([a-z0-9_]+)'", branches))


def docs_rules() -> dict[str, tuple[str, str, set[str]]]:
    """rule -> (criterion, severity, generator labels) of the table in docs/quality-rules.md."""
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| (\w+) \| (\w+) \| .* \| (.*) \|$",
                      RULES_DOC.read_text(encoding="utf-8"), re.MULTILINE)
    return {rule: (criterion, severity, set(re.findall(r"`([a-z0-9_]+)`", labels)))
            for rule, criterion, severity, labels in rows}


@pytest.mark.parametrize("rule", sorted(RULE_CASES))
def test_rule_flags_its_failing_row_and_spares_its_passing_row(flagged: FlaggedRecords, rule: str):
    failing_record, passing_record = flagged.failing[rule][0], flagged.passing[rule][0]
    assert rule in flagged.rules_of(failing_record)
    assert rule not in flagged.rules_of(passing_record)


def test_a_clean_record_has_no_flag(flagged: FlaggedRecords):
    assert flagged.rules_of(flagged.clean) == set()


def test_every_rule_of_the_model_is_in_the_seed_tested_and_in_the_docs_table():
    seed = seed_rules()
    assert model_rules() == set(seed)
    assert set(RULE_CASES) == set(seed)
    assert docs_rules() == {rule: (row["criterion"], row["severity"], set(filter(None, row["detects"].split(";"))))
                            for rule, row in seed.items()}


def test_each_flag_has_its_catalogued_criterion_and_severity(flagged: FlaggedRecords):
    seed = seed_rules()
    for _, _, criterion, rule, severity, _ in flagged.rows:
        assert (criterion, severity) == (seed[rule]["criterion"], seed[rule]["severity"]), rule


def test_a_rule_missing_from_the_seed_fails_the_build_and_keeps_its_flags(flagged: FlaggedRecords, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(flagged.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from reference.ref_record_rules where rule = 'id_invalid'")
    build = run_dbt_build(warehouse, "fct_record_flags")  # the model and its tests; the seed is not reloaded
    assert build.returncode != 0
    assert "relationships_fct_record_flags_rule" in build.stdout, build.stdout[-4000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        orphans = con.execute(
            "select criterion, severity from quality.record_flags where rule = 'id_invalid'").fetchall()
    assert orphans and set(orphans) == {(None, None)}


def test_both_sides_of_a_person_in_two_units_name_the_other_unit(flagged: FlaggedRecords):
    details = {(f, r): d for f, r, _, rule, _, d in flagged.rows if rule == "person_in_two_units"}
    here, there = flagged.failing["person_in_two_units"]
    assert "Thành phố Huế" in details[here] and "chuyển công tác" in details[here]
    assert "Thành phố Hà Nội" in details[there] and "chuyển công tác" in details[there]


def test_details_carry_no_personal_values(flagged: FlaggedRecords):
    personal = set()
    for person_id, _, name, born, *_ in flagged.registry:
        personal |= {person_id, person_id[-6:], name, born.strftime("%d/%m/%Y"), born.isoformat()}
    for *_, detail in flagged.rows:
        assert not any(value in detail for value in personal), detail


MULTI_COLUMN_RULES = {"required_missing", "text_not_normalised", "personal_id_in_text"}
VIETNAMESE_LETTERS = "àáảãạăắằẳẵặâấầẩẫậèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵđ"


def test_every_rule_has_a_vietnamese_label_and_shows_a_real_column():
    from orchestration.quality.rules import rule_catalogue

    spec = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "models" / "marts" / "_marts.yml").read_text("utf-8"))
    record_columns = {c["name"] for c in next(m for m in spec["models"]
                                              if m["name"] == "fct_civil_servant_records")["columns"]}
    catalogue = rule_catalogue()
    assert set(catalogue) == set(seed_rules())
    for rule in catalogue.values():
        assert re.search(f"[{VIETNAMESE_LETTERS}]", rule.label_vi.lower()), rule
        assert rule.field is None or rule.field in record_columns, rule
    # A rule shows no value only when it is about several columns, or one that varies per row (its detail names it).
    assert {rule.name for rule in catalogue.values() if rule.field is None} == MULTI_COLUMN_RULES


def test_details_are_vietnamese_sentences(flagged: FlaggedRecords):
    for *_, rule, _, detail in flagged.rows:
        assert detail.endswith(".") and not re.search(r"\b(the|is|not|record|registry)\b", detail), (rule, detail)


# Rules whose field is blank when they fire: the workbook names the field and shows no value.
BLANK_VALUE_RULES = {"id_missing"}


def test_the_feedback_shows_each_rules_field_and_the_value_sent(flagged: FlaggedRecords):
    from openpyxl import Workbook

    from orchestration.publish.feedback import _problems_sheet
    from orchestration.quality.rules import rule_catalogue

    shown = {}
    with duckdb.connect(str(flagged.warehouse), read_only=True) as con:
        for unit in ("ha-noi", "hue"):
            sheet = Workbook().active  # the workbook's sheet "Hồ sơ cần sửa"
            _problems_sheet(sheet, con, unit, held=False)
            for row in sheet.iter_rows(min_row=2, values_only=True):
                shown[row[1], row[2], row[-1]] = row[7], row[8]  # (file, row, rule) -> (field label, value sent)
    for rule in rule_catalogue().values():
        field_label, value = shown[(*flagged.failing[rule.name][0], rule.name)]
        assert bool(field_label) == bool(rule.field), rule
        assert bool(value) == (bool(rule.field) and rule.name not in BLANK_VALUE_RULES), rule
