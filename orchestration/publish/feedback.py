"""Per-unit feedback workbooks (XLSX, entirely in Vietnamese): what happened to the unit's extract, its
scorecard, every record to fix and what happens to that record, how the extract looks column by column, and
the unit's place in the monthly ranking.

Only the unit's own records appear. Cells that begin with = + - @ are neutralised (a leading apostrophe)
so that nothing a unit sent can run as a formula when the workbook is opened, and characters a workbook
cannot hold (NUL and other control characters) are shown as U+FFFD. Rule codes stay in the last, hidden
column for the data team; everything visible is a Vietnamese sentence or a value the unit sent. A unit
whose files were all refused still gets a workbook: the sheet *Tệp không được nhận* says why.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from orchestration.quality.rules import rule_catalogue

CRITERIA_VI = {"correct": "Đúng", "sufficient": "Đủ", "clean": "Sạch", "living": "Sống",
               "overall": "Chung (trung bình bốn tiêu chí)"}
SEVERITY_VI = {"blocking": "Lỗi phải sửa", "warning": "Cảnh báo"}
OUTCOME_VI = {"published": "Đã công bố", "held": "Tạm giữ cả tệp, chưa công bố",
              None: "Chưa nhận được tệp đọc được; chưa có dữ liệu công bố"}
# What happens to a record the row is about: the unit's extract held, the record published, or not.
HANDLING_VI = {"held": "Chưa công bố: cả tệp đang bị tạm giữ",
               "published": "Đã công bố, kèm cảnh báo",
               "quarantined": "Chưa công bố cho đến khi sửa"}
_FORMULA_STARTS = ("=", "+", "-", "@")
_PERCENT = "0.0%"

_PROBLEMS_SQL = """
select f.ma_ho_so, f.source_file, f.source_row, f.criterion, f.rule, f.severity, f.detail,
    {value_case} as value_sent,
    case
        when f.rule = 'id_wrong' then g.so_dinh_danh
        when f.rule in ('dob_invalid', 'dob_placeholder', 'dob_implausible', 'dob_differs_from_registry')
            then strftime(g.ngay_sinh, '%d/%m/%Y')
        when f.rule = 'name_differs_from_registry' then g.ho_va_ten
        when f.rule = 'sex_differs_from_registry' then case g.gioi_tinh when 'nam' then 'Nam' when 'nu' then 'Nữ' end
        when f.rule = 'deceased_but_active' then 'Đã mất ' || coalesce(strftime(g.ngay_mat, '%d/%m/%Y'), '')
    end as registry_value,
    p.source_row is not null as published
from quality.record_flags f
join marts.fct_civil_servant_records r using (source_file, source_row)
left join link.record_links l using (source_file, source_row)
left join marts.dim_registry_persons g on g.so_dinh_danh = l.so_dinh_danh
left join published.civil_servants p using (source_file, source_row)
where f.unit_code = ?
order by f.source_row, f.criterion, f.rule
"""

_COLUMNS_SQL = """
select c.column_label_vi, c.required, c.rows_read, c.blank_rows, c.blank_share, c.misplaced_rows, c.misplaced_share
from quality.extract_columns c
join reference.ref_template_columns t using (column_name)
where c.unit_code = ?
order by t.column_name = 'ma_ho_so' desc, c.required desc, c.column_label_vi
"""

_RANKING_SQL = """
select criterion, pass_rate, unit_rank, units_ranked, previous_rank, rank_change, month
from quality.unit_ranking
where unit_code = $unit and month = (select max(month) from quality.unit_ranking)
order by list_position(['correct', 'sufficient', 'clean', 'living', 'overall'], criterion)
"""

_HEADERS = ("Mã hồ sơ", "Tệp nguồn", "Dòng", "Tiêu chí", "Vấn đề", "Mức độ", "Nội dung cần sửa", "Trường",
            "Giá trị đơn vị gửi", "Dữ liệu dân cư", "Xử lý hồ sơ", "Mã quy tắc")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula is prefixed with an apostrophe; characters a workbook
    cannot store become U+FFFD (the rest of the cell is kept)."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _value_case(con: duckdb.DuckDBPyConnection) -> str:
    """The value of each rule's field (ref_record_rules.field); dates as the unit writes them, dd/mm/yyyy."""
    types = dict(con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = 'fct_civil_servant_records'").fetchall())

    def shown(column: str) -> str:
        return f"strftime(r.{column}, '%d/%m/%Y')" if types.get(column) == "DATE" else f"cast(r.{column} as varchar)"

    branches = " ".join(f"when '{rule.name}' then {shown(rule.field)}" for rule in rule_catalogue().values()
                        if rule.field)
    return f"case f.rule {branches} end"


def _field_labels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Rule -> the Vietnamese label of the column whose value is shown (a `_sent` column is its template column)."""
    labels = dict(con.execute("select column_name, label_vi from reference.ref_template_columns").fetchall())
    return {rule.name: labels.get(rule.field.removesuffix("_sent"), "") for rule in rule_catalogue().values()
            if rule.field}


def _bold_header(sheet: Worksheet, row: int = 1) -> None:
    for cell in sheet[row]:
        cell.font = Font(bold=True)


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [schema, table]).fetchall()[0][0])


def _summary_sheet(sheet: Worksheet, con: duckdb.DuckDBPyConnection, unit_code: str, unit_name: str) -> str | None:
    """The unit's outcome and scorecard; returns the outcome of its latest publication decision."""
    snapshot = con.execute(
        "select outcome, rows_read, rows_published, rows_quarantined, extract_date, held_reason "
        "from published.snapshots where unit_code = ? order by decided_at desc limit 1", [unit_code]
    ).fetchall()
    scorecard = con.execute(
        "select criterion, pass_rate, meets_target from quality.scorecard where unit_code = ? "
        "and load_id = (select max_by(load_id, measured_at) from quality.scorecard where unit_code = ?)",
        [unit_code, unit_code],
    ).fetchall()
    sheet.title = "Tổng hợp"
    sheet.append(["Phản hồi chất lượng dữ liệu CSDLQG về cán bộ, công chức, viên chức"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["Đơn vị", unit_name])
    outcome = None
    if not snapshot:
        sheet.append(["Kết quả", OUTCOME_VI[None]])
    if snapshot:
        outcome, read, published, quarantined, extract_date, held_reason = snapshot[0]
        sheet.append(["Ngày dữ liệu", extract_date.strftime("%d/%m/%Y") if isinstance(extract_date, date) else ""])
        sheet.append(["Kết quả", OUTCOME_VI.get(outcome, outcome)])
        if held_reason:
            sheet.append(["Lý do tạm giữ", held_reason])
        sheet.append(["Số hồ sơ nhận", read])
        sheet.append(["Số hồ sơ công bố", published])
        sheet.append(["Số hồ sơ chưa công bố", quarantined])
    sheet.append([])
    sheet.append(["Tiêu chí", "Tỷ lệ hồ sơ đạt", "Mục tiêu"])
    _bold_header(sheet, sheet.max_row)
    for criterion, rate, meets_target in scorecard:
        sheet.append([CRITERIA_VI.get(criterion, criterion), round(float(rate), 4),
                      "Đạt" if meets_target else "Chưa đạt"])
        sheet.cell(sheet.max_row, 2).number_format = _PERCENT
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 60
    return outcome


def _problems_sheet(sheet: Worksheet, con: duckdb.DuckDBPyConnection, unit_code: str, held: bool) -> int:
    problems = con.execute(_PROBLEMS_SQL.format(value_case=_value_case(con)), [unit_code]).fetchall()
    catalogue, fields = rule_catalogue(), _field_labels(con)
    sheet.append(list(_HEADERS))
    _bold_header(sheet)
    for ma_ho_so, source_file, source_row, criterion, rule, severity, detail, sent, registry, published in problems:
        handling = "held" if held else "published" if published else "quarantined"
        known = catalogue.get(rule)
        sheet.append([neutralise(v) for v in (
            ma_ho_so, source_file, source_row, CRITERIA_VI.get(criterion, criterion),
            known.label_vi if known else "", SEVERITY_VI.get(severity, severity), detail, fields.get(rule, ""),
            sent, registry, HANDLING_VI[handling], rule)])
    # The rule code is for the data team: kept, but hidden from the unit's officer.
    sheet.column_dimensions[get_column_letter(len(_HEADERS))].hidden = True
    return len(problems)


def _columns_sheet(sheet: Worksheet, con: duckdb.DuckDBPyConnection, unit_code: str) -> None:
    """How the extract looks column by column: what the integrity gates judge the file on."""
    sheet.append(["Cột", "Bắt buộc", "Số dòng", "Số dòng để trống", "Tỷ lệ để trống",
                  "Số giá trị không đúng loại", "Tỷ lệ không đúng loại"])
    _bold_header(sheet)
    if not _table_exists(con, "quality", "extract_columns"):
        return
    for label, required, rows, blank, blank_share, misplaced, misplaced_share in con.execute(
            _COLUMNS_SQL, [unit_code]).fetchall():
        sheet.append([label, "Có" if required else "Không", rows, blank, round(float(blank_share), 4), misplaced,
                      round(float(misplaced_share), 4)])
        sheet.cell(sheet.max_row, 5).number_format = _PERCENT
        sheet.cell(sheet.max_row, 7).number_format = _PERCENT


def _movement(rank: int | None, previous: int | None, change: int | None) -> str:
    if rank is None:
        return "Chưa được xếp hạng"
    if previous is None:
        return "Lần đầu được xếp hạng"
    if change and change > 0:
        return f"Tăng {change} bậc"
    if change and change < 0:
        return f"Giảm {-change} bậc"
    return "Giữ nguyên"


def _ranking_sheet(sheet: Worksheet, con: duckdb.DuckDBPyConnection, unit_code: str) -> None:
    """The unit's place in this month's ranking, per criterion and overall."""
    rows = con.sql(_RANKING_SQL, params={"unit": unit_code}).fetchall() \
        if _table_exists(con, "quality", "unit_ranking") else []
    sheet.append([f"Xếp hạng tháng {rows[0][6]:%m/%Y}" if rows else "Chưa có xếp hạng tháng này"])
    sheet["A1"].font = Font(bold=True, size=12)
    sheet.append(["Tiêu chí", "Tỷ lệ hồ sơ đạt", "Hạng", "Số đơn vị được xếp hạng", "Hạng tháng trước", "Thay đổi"])
    _bold_header(sheet, 2)
    for criterion, rate, rank, units, previous, change, _month in rows:
        sheet.append([CRITERIA_VI.get(criterion, criterion), None if rate is None else round(float(rate), 4),
                      rank, units, previous, _movement(rank, previous, change)])
        sheet.cell(sheet.max_row, 2).number_format = _PERCENT
    sheet.column_dimensions["A"].width = 34


_REFUSED_SQL = """
select f.source_file, coalesce(r.reason_vi, f.reason_code), coalesce(r.action_vi, '')
from quarantine.files f left join reference.ref_file_reasons r using (reason_code)
where f.unit_code = $unit
union all
select 'Lỗi xử lý (' || e.step || ')', e.reason_vi, 'Quản trị hệ thống đã được báo; không cần gửi lại tệp.'
from quarantine.unit_errors e where e.unit_code = $unit and e.step <> 'feedback'
order by 1
"""


def _refused_sheet(sheet: Worksheet, con: duckdb.DuckDBPyConnection, unit_code: str) -> None:
    """Files the unit sent that were not read, and steps that could not handle its data, with what to do."""
    sheet.append(["Tệp", "Lý do", "Cách xử lý"])
    _bold_header(sheet)
    for row in con.execute(_REFUSED_SQL, {"unit": unit_code}).fetchall():
        sheet.append([neutralise(value) for value in row])
    for column, width in zip("ABC", (50, 70, 60), strict=True):
        sheet.column_dimensions[column].width = width


def write_unit_feedback(con: duckdb.DuckDBPyConnection, reports_path: Path, unit_code: str) -> tuple[Path, int] | None:
    """The unit's workbook for its current extract, at reports/feedback/<unit>/<extract date>_phan_hoi.xlsx
    (dated today when it has none, only files refused); returns its path and the number of problems listed
    (None when the unit sent nothing at all)."""
    found = con.execute(
        "select max(extract_date) from marts.fct_civil_servant_records where unit_code = ?", [unit_code]
    ).fetchall()
    extract = found[0][0] if found else None
    refused = con.execute("select count(*) from quarantine.files where unit_code = ?", [unit_code]).fetchall()[0][0]
    if extract is None and not refused:
        return None
    unit_name = con.execute("select any_value(name) from reference.ref_source_units where unit_code = ?",
                            [unit_code]).fetchall()[0][0] or unit_code
    day = extract or date.today()
    path = reports_path / "feedback" / unit_code / f"{day.isoformat()}_phan_hoi.xlsx"
    return path, write_feedback_workbook(con, unit_code, unit_name, path)


def write_feedback_workbook(con: duckdb.DuckDBPyConnection, unit_code: str, unit_name: str, path: Path) -> int:
    """Write the unit's workbook; returns the number of problems listed."""
    workbook = Workbook()
    outcome = _summary_sheet(workbook.active, con, unit_code, unit_name)
    problems = _problems_sheet(workbook.create_sheet("Hồ sơ cần sửa"), con, unit_code, held=outcome == "held")
    _columns_sheet(workbook.create_sheet("Kiểm tra tệp"), con, unit_code)
    _ranking_sheet(workbook.create_sheet("Xếp hạng"), con, unit_code)
    _refused_sheet(workbook.create_sheet("Tệp không được nhận"), con, unit_code)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return problems
