"""The ingest reader on real tricky inputs: encodings, legacy fonts, delimiters, spreadsheets, JSON and
broken or hostile files. The bytes are written here by hand, independently of the generator."""

import unicodedata
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook

from orchestration.columns import canonical_column
from orchestration.ingest.encodings import decode_bytes, from_tcvn3, from_vni
from orchestration.ingest.extracts import load_unit
from orchestration.ingest.readers import ExtractReadError, read_extract
from orchestration.limits import MIB, ExtractLimits
from orchestration.warehouse import ensure_warehouse

HEADER = "ma_ho_so,ho_va_ten,ngay_sinh,gioi_tinh,loai,co_quan,ma_ngach,trang_thai"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def column(extract, name: str) -> list:
    """The values of one template column (first column of that name)."""
    position = next(i for i, h in enumerate(extract.headers) if canonical_column(h) == name)
    return [row[position] for row in extract.rows]


def rejection(path: Path) -> ExtractReadError:
    with pytest.raises(ExtractReadError) as error:
        read_extract(path)
    assert path.name in error.value.reason
    return error.value


# ---------------------------------------------------------------- encodings


def test_utf8_with_bom_and_crlf(tmp_path):
    text = "Mã hồ sơ,Họ và tên,Ngày sinh,Giới tính\r\nHS-1,Nguyễn Thị Hoà,05/03/1985,Nữ\r\n"
    extract = read_extract(write(tmp_path / "a.csv", b"\xef\xbb\xbf" + text.encode("utf-8")))
    assert extract.headers == ["Mã hồ sơ", "Họ và tên", "Ngày sinh", "Giới tính"]
    assert extract.rows == [["HS-1", "Nguyễn Thị Hoà", "05/03/1985", "Nữ"]]


def test_utf16_little_endian_with_bom_tab_separated(tmp_path):
    text = "Mã hồ sơ\tHọ và tên\tNgày sinh\tHệ số lương\r\nHS-1\tTrần Văn Đức\t1990\t2,34\r\n"
    extract = read_extract(write(tmp_path / "a.txt", b"\xff\xfe" + text.encode("utf-16-le")))
    assert extract.rows == [["HS-1", "Trần Văn Đức", "1990", "2,34"]]
    assert decode_bytes(b"\xff\xfe" + text.encode("utf-16-le")).encoding == "utf-16-le"


def test_windows_1258_with_combining_tone_marks_becomes_nfc(tmp_path):
    # "Nguyễn Thị Hoà" as Windows writes it: ê + combining tilde (DE), i + combining dot below (F2),
    # precomposed à (E0); "Đang công tác": Đ is D0, á is precomposed E1.
    data = (b"ho_va_ten;gioi_tinh;trang_thai;ma_ho_so\r\n"
            b"Nguy\xea\xden Thi\xf2 Ho\xe0;N\xfd\xde;\xd0ang c\xf4ng t\xe1c;HS-1\r\n")
    extract = read_extract(write(tmp_path / "a.csv", data))
    assert decode_bytes(data).encoding == "cp1258"
    assert extract.rows == [["Nguyễn Thị Hoà", "Nữ", "Đang công tác", "HS-1"]]
    assert all(unicodedata.is_normalized("NFC", cell) for cell in extract.rows[0])


def test_tcvn3_file_is_converted_to_unicode(tmp_path):
    # TCVN3 (ABC) bytes: "Họ và tên" header, "Nguyễn Văn An", "Đặng Thị Ánh", "Đang công tác".
    data = (b"M\xb7 h\xe5 s\xac,H\xe4 v\xb5 t\xaan,Gi\xedi t\xddnh,Tr\xb9ng th\xb8i\r\n"
            b"HS-1,Nguy\xd4n V\xa8n An,Nam,\xa7ang c\xabng t\xb8c\r\n"
            b"HS-2,\xa7\xc6ng Th\xde \xb8nh,N\xf7,Ngh\xd8 h\xadu\r\n")
    extract = read_extract(write(tmp_path / "a.csv", data))
    assert decode_bytes(data).encoding == "cp1252"
    assert extract.headers == ["Mã hồ sơ", "Họ và tên", "Giới tính", "Trạng thái"]
    assert extract.rows == [["HS-1", "Nguyễn Văn An", "Nam", "Đang công tác"],
                            ["HS-2", "Đặng Thị Ánh", "Nữ", "Nghỉ hưu"]]


def test_vni_file_is_converted_to_unicode(tmp_path):
    # VNI bytes: a base letter followed by its marks ("Nguyeãn" = Nguyễn, "Thò" = Thị, "Ñaëng" = Đặng).
    data = (b"MA HO SO;HO VA TEN;GIOI TINH;TRANG THAI\r\n"
            b"HS-1;Nguye\xe3n Th\xf2 Hoa\xf8;N\xf6\xf5;\xd1ang co\xe2ng ta\xf9c\r\n"
            b"HS-2;\xd1a\xebng Tr\xf6\xf4\xf8ng;Nam;Chuye\xe5n co\xe2ng ta\xf9c\r\n")
    extract = read_extract(write(tmp_path / "a.csv", data))
    assert extract.rows == [["HS-1", "Nguyễn Thị Hoà", "Nữ", "Đang công tác"],
                            ["HS-2", "Đặng Trường", "Nam", "Chuyển công tác"]]


def test_tcvn3_names_pasted_into_a_unicode_file_are_converted_by_column(tmp_path):
    text = ("ma_ho_so,ho_va_ten,gioi_tinh,trang_thai\n"
            "HS-1,NguyÔn V¨n An,Nam,Đang công tác\n"
            "HS-2,Vâ ThÞ Hoµ,Nữ,Đang công tác\n"
            "HS-3,Lª H÷u TuÊn,Nam,Nghỉ hưu\n")
    extract = read_extract(write(tmp_path / "a.csv", text.encode("utf-8")))
    assert column(extract, "ho_va_ten") == ["Nguyễn Văn An", "Võ Thị Hoà", "Lê Hữu Tuấn"]
    assert column(extract, "trang_thai") == ["Đang công tác", "Đang công tác", "Nghỉ hưu"]


def test_legacy_decoders_restore_capitals():
    assert from_tcvn3("NGUY\xd4N TH\xde \xb8NH") == "NGUYỄN THỊ ÁNH"
    assert from_tcvn3("L\xaa H\xb5") == "Lê Hà"
    assert from_tcvn3("S\xeb N\xe9i v\xf4") == "Sở Nội vụ"
    assert from_vni("NGUYE\xc3N TH\xd2 A\xd9NH") == "NGUYỄN THỊ ÁNH"


def test_nfd_text_is_returned_as_sent_and_its_headers_still_match(tmp_path):
    text = unicodedata.normalize(
        "NFD", "Mã hồ sơ,Họ và tên,Giới tính,Trạng thái\nHS-1,Nguyễn Thị Hoà,Nữ,Đang công tác\n")
    extract = read_extract(write(tmp_path / "a.csv", text.encode("utf-8")))
    assert [canonical_column(h) for h in extract.headers] == ["ma_ho_so", "ho_va_ten", "gioi_tinh", "trang_thai"]
    assert extract.rows[0][1] == unicodedata.normalize("NFD", "Nguyễn Thị Hoà")
    assert unicodedata.normalize("NFC", extract.rows[0][1]) == "Nguyễn Thị Hoà"


def test_broken_utf8_is_rejected_not_misread(tmp_path):
    data = ("ma_ho_so,ho_va_ten,gioi_tinh\nHS-1,Nguyễn Văn An,Nam\nHS-2,Trần Thị Bình,Nữ\n").encode()
    error = rejection(write(tmp_path / "a.csv", data.replace(b"Tr", b"T\xff", 1)))
    assert error.reason_code == "unreadable_encoding"


# ---------------------------------------------------------------- delimiters and quoting


def test_semicolons_with_decimal_commas_and_quoted_delimiters(tmp_path):
    text = ('ma_ho_so;ho_va_ten;co_quan;he_so_luong\n'
            'HS-1;Nguyễn Văn An;"Sở Nội vụ; Phòng 2";2,34\n'
            'HS-2;"Trần ""Bé"" Bình";Sở Y tế;4,00\n')
    extract = read_extract(write(tmp_path / "a.csv", text.encode("utf-8")))
    assert extract.rows == [["HS-1", "Nguyễn Văn An", "Sở Nội vụ; Phòng 2", "2,34"],
                            ["HS-2", 'Trần "Bé" Bình', "Sở Y tế", "4,00"]]


def test_tab_separated_text(tmp_path):
    text = "ma_ho_so\tho_va_ten\tngay_sinh\tgioi_tinh\nHS-1\tLò Văn Páo\t01/02/1980\tNam\n"
    extract = read_extract(write(tmp_path / "a.txt", text.encode("utf-8")))
    assert extract.rows == [["HS-1", "Lò Văn Páo", "01/02/1980", "Nam"]]


def test_quoted_newlines_and_commas_stay_inside_their_cell(tmp_path):
    text = (f'{HEADER}\n'
            'HS-1,Nguyễn Văn An,05/03/1985,Nam,cong_chuc,"Sở Nội vụ, Tỉnh A\ntầng 2",01.003,Đang công tác\n'
            'HS-2,Trần Thị Bình,1990,Nữ,vien_chuc,Bệnh viện A,V.08.01.03,Nghỉ hưu\n')
    extract = read_extract(write(tmp_path / "a.csv", text.encode("utf-8")))
    assert column(extract, "co_quan") == ["Sở Nội vụ, Tỉnh A\ntầng 2", "Bệnh viện A"]
    assert column(extract, "ngay_sinh") == ["05/03/1985", "1990"]


def test_formula_text_is_read_as_text(tmp_path):
    text = (f"{HEADER},chuc_vu\n"
            'HS-1,An,1990,Nam,cong_chuc,A,01.003,Đang công tác,"=HYPERLINK(""http://x"",""y"")"\n'
            "HS-2,Bình,1990,Nữ,cong_chuc,A,01.003,Đang công tác,+SUM(1)\n"
            "HS-3,Chi,1990,Nữ,cong_chuc,A,01.003,Đang công tác,@cmd\n")
    extract = read_extract(write(tmp_path / "a.csv", text.encode("utf-8")))
    assert column(extract, "chuc_vu") == ['=HYPERLINK("http://x","y")', "+SUM(1)", "@cmd"]


# ---------------------------------------------------------------- spreadsheets and JSON


def _workbook(path: Path, titles: list[list], header: list, rows: list[list]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in [*titles, header, *rows]:
        sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_with_three_title_rows_dates_numbers_and_formula_text(tmp_path):
    header = ["Mã hồ sơ", "Họ và tên", "Ngày sinh", "Bậc lương", "Hệ số lương", "Chức vụ"]
    rows = [["HS-1", "Trần Thị Bình", datetime(1990, 7, 9), 3, 2.34, '=HYPERLINK("http://x","y")'],
            ["HS-2", "Lê Văn Cường", date(1985, 1, 2), 4.0, "3,00", None]]
    titles = [["DANH SÁCH CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC"], ["Sở Nội vụ Thành phố Hà Nội"], []]
    path = _workbook(tmp_path / "a.xlsx", titles, header, rows)
    from openpyxl import load_workbook  # the formula-like text must be a text cell, as units type it
    workbook = load_workbook(path)
    workbook.active["F5"].data_type = "s"
    workbook.save(path)
    extract = read_extract(path)
    assert extract.headers == header
    assert extract.rows == [["HS-1", "Trần Thị Bình", "1990-07-09", "3", "2.34", '=HYPERLINK("http://x","y")'],
                            ["HS-2", "Lê Văn Cường", "1985-01-02", "4", "3,00", None]]


def test_json_array_with_english_keys_numbers_and_repeated_keys(tmp_path):
    text = ('[{"Record ID": "HS-1", "Full name": "Nguyễn Văn An", "Salary step": 3, "Salary coefficient": 3.00,'
            ' "Position": null, "Full name": "NGUYEN VAN AN"},\n'
            ' {"Record ID": "HS-2", "Full name": "Trần Thị Bình", "Salary step": 4, "Note": "mới"}]')
    extract = read_extract(write(tmp_path / "a.json", text.encode("utf-8")))
    assert extract.headers == ["Record ID", "Full name", "Salary step", "Salary coefficient", "Position", "Full name",
                               "Note"]
    assert extract.rows == [["HS-1", "Nguyễn Văn An", "3", "3.00", None, "NGUYEN VAN AN", None],
                            ["HS-2", "Trần Thị Bình", "4", None, None, None, "mới"]]


def test_json_lines(tmp_path):
    text = ('{"ma_ho_so": "HS-1", "ho_va_ten": "Nguyễn Văn An", "ngay_sinh": "1985-03-05"}\n'
            '\n'
            '{"ma_ho_so": "HS-2", "ho_va_ten": "Trần Thị Bình", "gioi_tinh": "Nữ"}\n')
    extract = read_extract(write(tmp_path / "a.jsonl", text.encode("utf-8")))
    assert extract.headers == ["ma_ho_so", "ho_va_ten", "ngay_sinh", "gioi_tinh"]
    assert extract.rows == [["HS-1", "Nguyễn Văn An", "1985-03-05", None], ["HS-2", "Trần Thị Bình", None, "Nữ"]]


# ---------------------------------------------------------------- files rejected as a whole


def test_header_only_files_are_empty_extracts(tmp_path):
    assert rejection(write(tmp_path / "a.csv", f"{HEADER}\r\n".encode())).reason_code == "empty_extract"
    path = _workbook(tmp_path / "b.xlsx", [["DANH SÁCH"], []], HEADER.split(","), [])
    assert rejection(path).reason_code == "empty_extract"
    assert rejection(write(tmp_path / "c.json", b"[]\n")).reason_code == "empty_extract"
    assert rejection(write(tmp_path / "d.csv", b"")).reason_code == "empty_file"


def test_a_csv_cut_mid_row_is_truncated_and_keeps_the_rows_before_the_cut(tmp_path):
    text = (f"{HEADER}\n"
            "HS-1,Nguyễn Văn An,05/03/1985,Nam,cong_chuc,Sở Nội vụ,01.003,Đang công tác\n"
            "HS-2,Trần Thị Bình,1990,Nữ,vien_chuc,Bệ")
    error = rejection(write(tmp_path / "a.csv", text.encode("utf-8")))
    assert error.reason_code == "truncated_file"
    assert error.partial.rows == [["HS-1", "Nguyễn Văn An", "05/03/1985", "Nam", "cong_chuc", "Sở Nội vụ", "01.003",
                                   "Đang công tác"]]
    # Cut inside a multi-byte character, or inside a quoted cell: also truncated.
    cut_char = text.encode("utf-8")[:-1]
    assert rejection(write(tmp_path / "b.csv", cut_char)).reason_code == "truncated_file"
    quoted = f'{HEADER}\nHS-1,An,1985,Nam,cong_chuc,"Sở Nội vụ,\ntầng'
    assert rejection(write(tmp_path / "c.csv", quoted.encode("utf-8"))).reason_code == "truncated_file"


def test_a_complete_last_row_without_a_final_newline_is_not_truncated(tmp_path):
    text = f"{HEADER}\nHS-1,Nguyễn Văn An,05/03/1985,Nam,cong_chuc,Sở Nội vụ,01.003,Đang công tác"
    assert len(read_extract(write(tmp_path / "a.csv", text.encode("utf-8"))).rows) == 1


def test_truncated_json_utf16_and_xlsx(tmp_path):
    json_text = '[{"ma_ho_so": "HS-1", "ho_va_ten": "An"},\n {"ma_ho_so": "HS-2", "ho_va'
    error = rejection(write(tmp_path / "a.json", json_text.encode("utf-8")))
    assert error.reason_code == "truncated_file" and error.partial.rows == [["HS-1", "An"]]
    lines = '{"ma_ho_so": "HS-1"}\n{"ma_ho_so": "HS'
    assert rejection(write(tmp_path / "b.jsonl", lines.encode("utf-8"))).reason_code == "truncated_file"
    utf16 = b"\xff\xfe" + f"{HEADER}\r\nHS-1,An".encode("utf-16-le")
    assert rejection(write(tmp_path / "c.csv", utf16[:-1])).reason_code == "truncated_file"
    workbook = _workbook(tmp_path / "whole.xlsx", [], HEADER.split(","), [["HS-1"] * 8])
    cut = workbook.read_bytes()
    assert rejection(write(tmp_path / "d.xlsx", cut[: len(cut) // 2])).reason_code == "truncated_file"


def test_json_that_is_not_json_is_unreadable(tmp_path):
    assert rejection(write(tmp_path / "a.json", b'[{"a": 1} {"b": 2}]')).reason_code == "unreadable_json"


# ---------------------------------------------------------------- hostile headers


HOSTILE = ["Ghi chú " + "rất dài " * 200, 'Ghi chú "nội bộ"; DROP TABLE raw.extracts; --', "Nơi làm việc\n(cũ)", "",
           "source_file", "ho_va_ten"]


def _hostile_csv(path: Path) -> Path:
    def quote(cell: str) -> str:
        return '"' + cell.replace('"', '""') + '"'

    header = ",".join(quote(h) for h in [*HEADER.split(","), *HOSTILE])
    row = ",".join(quote(c) for c in ["HS-1", "Nguyễn Văn An", "05/03/1985", "Nam", "cong_chuc", "Sở Nội vụ",
                                      "01.003", "Đang công tác", "", "x", "Phòng cũ", "y", "../../etc/passwd",
                                      "NGUYEN VAN AN"])
    return write(path, f"{header}\n{row}\n".encode())


def test_hostile_headers_are_kept_and_never_crash_the_reader(tmp_path):
    extract = read_extract(_hostile_csv(tmp_path / "a.csv"))
    assert extract.headers == [*HEADER.split(","), *[h.strip() for h in HOSTILE]]
    assert extract.rows[0][-1] == "NGUYEN VAN AN" and extract.rows[0][1] == "Nguyễn Văn An"


def test_hostile_headers_load_with_the_repeated_column_kept_as_unknown(tmp_path):
    landing = tmp_path / "landing"
    _hostile_csv(landing / "ha-noi" / "2026-11-01_extract.csv")
    with duckdb.connect() as con:
        ensure_warehouse(con)
        load = load_unit(con, landing, "ha-noi", "run-1")
        assert load.row_count == 1
        # A repeated template header keeps its values under a numbered name (its position), as documented.
        assert "ho_va_ten (14)" in load.unknown_columns and "source_file" in load.unknown_columns
        name, source, extra = con.execute(
            "select ho_va_ten, source_file, extra_columns from raw.extracts").fetchall()[0]
    assert name == "Nguyễn Văn An" and source == "landing/ha-noi/2026-11-01_extract.csv"
    assert '"ho_va_ten (14)": "NGUYEN VAN AN"' in extra and "../../etc/passwd" in extra


# ---------------------------------------------------------------- limits (orchestration/limits.py)

SMALL = ExtractLimits(max_file_bytes=1 * MIB, max_rows=3, max_workbook_bytes=1 * MIB, max_nesting_depth=4)


def _limited(path: Path) -> str:
    with pytest.raises(ExtractReadError) as error:
        read_extract(path, SMALL)
    assert path.name in error.value.reason
    return error.value.reason_code


def test_more_rows_than_the_limit_are_refused_in_every_shape(tmp_path):
    rows = "".join(f"HS-{i},Nguyễn Văn An,05/03/1985,Nam,cong_chuc,Sở Nội vụ,01.003,dang_cong_tac\n"
                   for i in range(4))
    assert _limited(write(tmp_path / "a.csv", f"{HEADER}\n{rows}".encode())) == "too_many_rows"
    records = [dict(zip(HEADER.split(","), line.split(","), strict=True)) for line in rows.splitlines()]
    import json

    assert _limited(write(tmp_path / "a.json", json.dumps(records).encode())) == "too_many_rows"
    workbook = Workbook()
    workbook.active.append(HEADER.split(","))
    for line in rows.splitlines():
        workbook.active.append(line.split(","))
    workbook.save(tmp_path / "a.xlsx")
    assert _limited(tmp_path / "a.xlsx") == "too_many_rows"
    assert len(read_extract(write(tmp_path / "b.csv", f"{HEADER}\n{rows}".encode())).rows) == 4  # default limits


def test_files_and_workbooks_over_their_size_limits_are_refused_before_parsing(tmp_path):
    big = write(tmp_path / "big.csv", f"{HEADER}\n".encode() + b"x" * (2 * MIB))
    assert _limited(big) == "file_too_large"
    workbook = Workbook()
    workbook.active.append(HEADER.split(","))
    workbook.active.append(["HS-1", "a" * 30_000] + [f"{'b' * 30_000}{i}" for i in range(40)])
    workbook.save(tmp_path / "wide.xlsx")
    assert (tmp_path / "wide.xlsx").stat().st_size < MIB  # small on disk, large when opened
    assert _limited(tmp_path / "wide.xlsx") == "workbook_too_large"


def test_json_nested_beyond_the_limit_is_refused_at_any_depth(tmp_path):
    nested = '[{"ma_ho_so": "HS-1", "ho_va_ten": "A", "ngay_sinh": "1980", "ghi_chu": ' + "[" * 5 + "]" * 5 + "}]"
    assert _limited(write(tmp_path / "a.json", nested.encode())) == "too_deeply_nested"
    parser_limit = '[{"ghi_chu": ' + "[" * 100_000 + "]" * 100_000 + "}]"  # deeper than Python's own parser
    assert _limited(write(tmp_path / "b.json", parser_limit.encode())) == "too_deeply_nested"
