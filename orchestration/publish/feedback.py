"""Per-unit feedback workbooks (XLSX, Vietnamese labels): the unit's scorecard and every record to fix.

Only the unit's own records appear. Cells that begin with = + - @ are neutralised (a leading
apostrophe) so that nothing a unit sent can run as a formula when the workbook is opened.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
from openpyxl import Workbook
from openpyxl.styles import Font

CRITERIA_VI = {"correct": "Đúng", "sufficient": "Đủ", "clean": "Sạch", "living": "Sống"}
SEVERITY_VI = {"blocking": "Chặn (không công bố)", "warning": "Cảnh báo"}
_FORMULA_STARTS = ("=", "+", "-", "@")

# The value the unit sent that each rule is about (column of marts.fct_civil_servant_records).
RULE_FIELDS = {
    "id_invalid": "so_dinh_danh", "id_old_cmnd": "so_dinh_danh", "id_structure": "so_dinh_danh",
    "id_wrong": "so_dinh_danh", "dob_invalid": "ngay_sinh_sent", "dob_placeholder": "ngay_sinh_sent",
    "dob_implausible": "ngay_sinh_sent", "sex_invalid": "gioi_tinh_sent", "rank_malformed": "ma_ngach",
    "rank_unknown": "ma_ngach", "coefficient_off_scale": "he_so_luong", "category_unknown": "loai_sent",
    "status_unknown": "trang_thai_sent", "deceased_but_active": "trang_thai_sent",
    "past_retirement_age": "ngay_sinh_sent", "address_pre_2025": "noi_thuong_tru",
    "address_unresolved": "noi_thuong_tru", "record_not_updated": "ngay_cap_nhat",
    "recruited_under_18": "ngay_tuyen_dung", "duplicate_record_id": "ma_ho_so",
    "name_differs_from_registry": "ho_va_ten_sent", "dob_differs_from_registry": "ngay_sinh_sent",
    "dob_year_only": "ngay_sinh_sent", "sex_differs_from_registry": "gioi_tinh_sent", "id_missing": "so_dinh_danh",
    "duplicate_person": "ma_ho_so", "hometown_not_2025": "que_quan",
}

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
    end as registry_value
from quality.record_flags f
join marts.fct_civil_servant_records r using (source_file, source_row)
left join link.record_links l using (source_file, source_row)
left join marts.dim_registry_persons g on g.so_dinh_danh = l.so_dinh_danh
where f.unit_code = ?
order by f.source_row, f.criterion, f.rule
"""

_HEADERS = ("Mã hồ sơ", "Tệp nguồn", "Dòng", "Tiêu chí", "Quy tắc", "Mức độ", "Nội dung cần sửa",
            "Giá trị đơn vị gửi", "Dữ liệu CSDLQG về dân cư")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _value_case() -> str:
    branches = " ".join(f"when '{rule}' then cast(r.{column} as varchar)" for rule, column in RULE_FIELDS.items())
    return f"case f.rule {branches} end"


def write_feedback_workbook(con: duckdb.DuckDBPyConnection, unit_code: str, unit_name: str, path: Path) -> int:
    """Write the unit's workbook; returns the number of problems listed."""
    snapshot = con.execute(
        "select outcome, rows_read, rows_published, rows_quarantined, extract_date, failed_gates "
        "from published.snapshots where unit_code = ? order by decided_at desc limit 1", [unit_code]
    ).fetchall()
    scorecard = con.execute(
        "select criterion, pass_rate from quality.scorecard where unit_code = ? "
        "and load_id = (select max_by(load_id, snapshot_date) from quality.scorecard where unit_code = ?)",
        [unit_code, unit_code],
    ).fetchall()
    problems = con.execute(_PROBLEMS_SQL.format(value_case=_value_case()), [unit_code]).fetchall()
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Tổng hợp"
    summary.append(["Phản hồi chất lượng dữ liệu CSDLQG CBCCVC"])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append(["Đơn vị", unit_name])
    if snapshot:
        outcome, read, published, quarantined, extract_date, failed = snapshot[0]
        summary.append(["Ngày dữ liệu", extract_date.strftime("%d/%m/%Y") if isinstance(extract_date, date) else ""])
        summary.append(["Kết quả", "Đã công bố" if outcome == "published" else "Tạm giữ, chưa công bố"])
        summary.append(["Số hồ sơ nhận", read])
        summary.append(["Số hồ sơ công bố", published])
        summary.append(["Số hồ sơ chưa công bố", quarantined])
        if failed:
            summary.append(["Tiêu chí không đạt", ", ".join(CRITERIA_VI.get(c, c) for c in failed)])
    summary.append([])
    summary.append(["Tiêu chí", "Tỷ lệ hồ sơ đạt"])
    for criterion, rate in scorecard:
        summary.append([CRITERIA_VI.get(criterion, criterion), round(float(rate), 4)])
    sheet = workbook.create_sheet("Hồ sơ cần sửa")
    sheet.append(list(_HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for ma_ho_so, source_file, source_row, criterion, rule, severity, detail, sent, registry in problems:
        sheet.append([neutralise(v) for v in (
            ma_ho_so, source_file, source_row, CRITERIA_VI.get(criterion, criterion), rule,
            SEVERITY_VI.get(severity, severity), detail, sent, registry)])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return len(problems)
