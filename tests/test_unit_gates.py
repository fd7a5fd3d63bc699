"""What gets published, end to end: records are published one by one when their identity is settled, and a
unit is held as a whole only when its extract as a set cannot be trusted (docs/quality-gates.md)."""

import shutil
from pathlib import Path

import duckdb
import pytest

from synthetic import DefectRates, generate
from tests.conftest import (
    AS_OF,
    REGISTRY_SIZE,
    SMALL_SCALE,
    ordinary_units,
    pipeline_environment,
    resend_extract,
    swap_birth_date_and_sex,
)

# Record defects well above the 2025 figures for a unit: they are the link layer's job, never a hold.
ID_DEFECTS = DefectRates(blank_id=0.15, old_cmnd=0.08)


@pytest.fixture(scope="module")
def id_defect_data(tmp_path_factory) -> Path:
    """Three ordinary provinces of a data set with 15 % blank IDs and 8 % old 9-digit IDs, and the registry."""
    generated = tmp_path_factory.mktemp("id_defects_generated")
    generate(generated, scale=SMALL_SCALE, seed=29, registry_size=REGISTRY_SIZE, as_of=AS_OF, rates=ID_DEFECTS)
    data_dir = tmp_path_factory.mktemp("id_defects") / "data"
    for unit in ordinary_units(generated, 3):
        newest = _newest(generated / "landing" / unit)
        (data_dir / "landing" / unit).mkdir(parents=True)
        shutil.copy(newest, data_dir / "landing" / unit / newest.name)
    shutil.copytree(generated / "registry", data_dir / "registry")
    return data_dir


def _newest(unit_dir: Path) -> Path:
    return max(p for p in unit_dir.iterdir() if p.name[:4].isdigit())


def _half(headers: list[str], rows: list[list]) -> list[list]:
    return rows[: len(rows) // 2]


def _latest_outcomes(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    rows = con.execute("""
        select unit_code, arg_max(outcome, decided_at), arg_max(failed_gates, decided_at),
            arg_max(held_reason, decided_at)
        from published.snapshots group by 1
    """).fetchall()
    return {unit: (outcome, gates, reason) for unit, outcome, gates, reason in rows}


def test_record_defects_never_hold_a_unit_and_broken_exports_always_do(id_defect_data):
    from orchestration.run import run_pipeline

    # Sent as generated, then: the first as it is, the second half of it, the third with two columns swapped.
    units = sorted(p.name for p in (id_defect_data / "landing").iterdir())
    warehouse = id_defect_data / "warehouse.duckdb"
    with pipeline_environment(id_defect_data) as instance:
        run_pipeline(units, instance)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            outcomes = _latest_outcomes(con)
            assert {unit: outcome for unit, (outcome, _, _) in outcomes.items()} == dict.fromkeys(units, "published")
            blank, old, rows = con.execute("""
                select count(*) filter (where id_kind = 'blank'), count(*) filter (where id_kind = 'cmnd'), count(*)
                from marts.fct_civil_servant_records""").fetchall()[0]
            assert blank / rows >= 0.12 and old / rows >= 0.06
            # Every record whose identity is settled and that carries no blocking rule is published,
            # those with a blank or old ID included.
            settled, published, published_without_id = con.execute("""
                select count(*), count(p.source_row),
                    count(p.source_row) filter (where r.id_kind in ('blank', 'cmnd'))
                from marts.fct_civil_servant_records r
                join link.record_links l using (source_file, source_row)
                left join published.civil_servants p using (source_file, source_row)
                where l.decision = 'auto_link' and not exists (
                    select 1 from quality.record_flags f
                    where f.source_file = r.source_file and f.source_row = r.source_row and f.severity = 'blocking')
            """).fetchall()[0]
            assert published == settled
            assert published_without_id >= 0.9 * (blank + old)
            first_loads = dict(con.execute(
                "select unit_code, any_value(load_id) from published.civil_servants group by 1").fetchall())

        landing = id_defect_data / "landing"
        resend_extract(landing / units[1], _half)
        resend_extract(landing / units[2], swap_birth_date_and_sex)
        run_pipeline(units, instance)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        outcomes = _latest_outcomes(con)
        assert outcomes[units[0]][0] == "published"
        for unit, gate in ((units[1], "rows_dropped"), (units[2], "columns_shifted")):
            outcome, gates, reason = outcomes[unit]
            assert outcome == "held" and gates == [gate], unit
            assert reason and "tạm giữ" in reason, unit
            # The previous snapshot stays published; every new row is quarantined with the gate's reason.
            loads = {load for (load,) in con.execute(
                "select distinct load_id from published.civil_servants where unit_code = ?", [unit]).fetchall()}
            assert loads == {first_loads[unit]}
            read, held = con.execute("""
                select (select count(*) from raw.extracts where unit_code = $unit),
                    (select count(*) from quarantine.rows where unit_code = $unit and reason_code = $code)
            """, {"unit": unit, "code": f"held.{gate}"}).fetchall()[0]
            assert read == held
        assert "Ngày sinh" in outcomes[units[2]][2] or "Giới tính" in outcomes[units[2]][2]
