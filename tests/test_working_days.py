"""Working days and the 3-working-day deadline of Decree 27/2026/NĐ-CP for a unit's changes."""

import shutil
from datetime import date

import duckdb
import pytest

from tests.conftest import PipelineData


def _working(pipeline: PipelineData, day: str) -> bool:
    return pipeline.scalar("select is_working_day from marts.dim_working_days where day = ?", [date.fromisoformat(day)])


def _between(pipeline: PipelineData, start: str, end: str) -> int:
    return pipeline.scalar("""
        select e.working_day_number - s.working_day_number from marts.dim_working_days s, marts.dim_working_days e
        where s.day = ? and e.day = ?""", [date.fromisoformat(start), date.fromisoformat(end)])


def test_tet_2026_and_national_day_are_days_off(pipeline: PipelineData):
    assert [_working(pipeline, f"2026-02-{d}") for d in range(13, 24)] == [
        True, False, False, False, False, False, False, False, False, False, True]  # Fri 13 ... Mon 23
    assert _between(pipeline, "2026-02-13", "2026-02-23") == 1
    assert not _working(pipeline, "2026-09-02") and not _working(pipeline, "2026-09-01")
    assert _working(pipeline, "2026-09-03")
    # Hùng Kings' day fell on Sunday 26 April 2026: Monday 27 is the day off in compensation.
    assert not _working(pipeline, "2026-04-27") and _working(pipeline, "2026-04-28")


def test_a_make_up_saturday_is_a_working_day_and_its_swapped_friday_is_not(pipeline: PipelineData):
    assert _working(pipeline, "2026-01-10")  # Saturday
    assert not _working(pipeline, "2026-01-02")  # Friday
    assert not _working(pipeline, "2026-01-17")  # an ordinary Saturday
    assert _between(pipeline, "2026-01-01", "2026-01-12") == 7  # Mon 5 to Fri 9, Saturday 10, Monday 12
    # An extract of Friday 9 January published on Tuesday 13 was published within 3 working days.
    assert _between(pipeline, "2026-01-09", "2026-01-13") == 3


@pytest.fixture
def history_copy(pipeline: PipelineData, tmp_path):
    shutil.copy(pipeline.warehouse, tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield con
    con.close()


def _timeliness(con, unit: str) -> dict[str, int]:
    return dict(con.execute("select timeliness, count(*) from quality.change_timeliness where unit_code = ? "
                            "group by 1", [unit]).fetchall())


def test_changes_are_timed_from_the_extract_date_in_working_days(pipeline: PipelineData, history_copy):
    con = history_copy
    on_time, late = pipeline.query("select distinct unit_code from published.civil_servants order by 1 limit 2")
    on_time, late = on_time[0], late[0]
    # The first publication of a unit: every record is new. One unit published 2 working days after its
    # extract date, the other 4.
    for unit, days in ((on_time, 2), (late, 4)):
        con.execute("""
            update published.record_history h set published_at = (
                select min(d.day) from marts.dim_working_days d, marts.dim_working_days e
                where e.day = h.extract_date and d.working_day_number = e.working_day_number + ?)
            where unit_code = ?""", [days, unit])
    published = pipeline.scalar("select count(*) from published.civil_servants where unit_code = ?", [on_time])
    # Records quarantined one by one were never published: overdue, as the as-of date is weeks later.
    counts = _timeliness(con, on_time)
    assert counts["on_time"] == published and set(counts) <= {"on_time", "overdue"}
    assert "late" in _timeliness(con, late) and set(_timeliness(con, late)) <= {"late", "overdue"}
    shares = dict(con.execute("select unit_code, on_time_share from quality.unit_change_timeliness "
                              "where unit_code in (?, ?)", [on_time, late]).fetchall())
    assert shares == {on_time: pytest.approx(published / sum(counts.values())), late: 0.0}


def test_only_records_changed_against_the_previous_snapshot_are_timed(pipeline: PipelineData, history_copy):
    con = history_copy
    unit = pipeline.scalar("select unit_code from published.civil_servants order by 1 limit 1")
    total = pipeline.scalar("select count(*) from published.civil_servants where unit_code = ?", [unit])
    # A previous snapshot a month older holding the same values for every record but two: one had another
    # salary step, one another position.
    con.execute("""
        insert into published.record_history
        select * replace (extract_date - interval 30 day as extract_date,
                          published_at - interval 30 day as published_at, recorded_at - interval 30 day as recorded_at)
        from published.record_history where unit_code = ?""", [unit])
    changed = con.execute("""
        select ma_ho_so from published.civil_servants where unit_code = ? and bac_luong is not null
        order by ma_ho_so limit 2""", [unit]).fetchall()
    con.execute("update published.record_history set bac_luong = bac_luong + 1 where unit_code = ? and ma_ho_so = ? "
                "and extract_date < (select max(extract_date) from published.record_history where unit_code = ?)",
                [unit, changed[0][0], unit])
    con.execute("update published.record_history set chuc_vu = 'Chức vụ trước' where unit_code = ? and ma_ho_so = ? "
                "and extract_date < (select max(extract_date) from published.record_history where unit_code = ?)",
                [unit, changed[1][0], unit])
    kinds = dict(con.execute("select ma_ho_so, change_kind from quality.change_timeliness where unit_code = ?",
                             [unit]).fetchall())
    assert kinds[changed[0][0]] == "salary_step" and kinds[changed[1][0]] == "position"
    # Every other change is a record the previous snapshot did not publish (quarantined there): new to it.
    published = {m for (m,) in con.execute("select ma_ho_so from published.civil_servants where unit_code = ?",
                                            [unit]).fetchall()}
    others = {m: kind for m, kind in kinds.items() if m not in (changed[0][0], changed[1][0])}
    assert set(others.values()) <= {"new_record"} and not set(others) & published
    assert total > 2 + len(others)
