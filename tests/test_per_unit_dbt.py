"""Per-unit dbt (issue #14): the run's units reach dbt as a var, and per-unit models replace only their rows.

One-unit builds, one after the other, must leave the same tables as one full build of the same data.
"""

import json
import shutil

import duckdb
import pytest

from orchestration.conform.assets import CONFORM_SELECT, RANKING_SELECT
from orchestration.conform.dbt_vars import dbt_build_args, dbt_vars
from tests.conftest import PipelineData, dbt_build, ordinary_units

EVERY_UNIT = ["a", "b", "c"]
PER_UNIT_MODELS = ("intermediate.int_records__identity", "intermediate.int_records__employment",
                   "intermediate.int_records__residence", "marts.fct_civil_servant_records",
                   "quality.extract_columns", "quality.extract_integrity", "quality.record_flags",
                   "linkage.fct_linkage_records", "linkage.fct_linkage_exact_matches", "linkage.fct_linkage_candidates")


def test_dbt_vars_name_the_runs_units_and_nothing_for_a_run_over_every_unit():
    assert dbt_vars(["b", "a", "b"], EVERY_UNIT) == {"units": ["a", "b"]}
    assert dbt_vars(["c", "a", "b"], EVERY_UNIT) == {}
    with pytest.raises(ValueError, match="not unit codes: x"):
        dbt_vars(["a", "x"], EVERY_UNIT)
    with pytest.raises(ValueError, match="at least one unit"):
        dbt_vars([], EVERY_UNIT)


def test_dbt_build_args_carry_the_vars_as_json_and_a_full_refresh_when_asked():
    assert dbt_build_args(["build"], {}, False) == ["build"]
    args = dbt_build_args(["build"], {"units": ["ha-noi"]}, True)
    assert args[:2] == ["build", "--vars"] and json.loads(args[2]) == {"units": ["ha-noi"]}
    assert args[-1] == "--full-refresh"


def _contents(warehouse) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {name: sorted(con.execute(f"select * from {name}").fetchall(), key=repr) for name in PER_UNIT_MODELS}


def test_one_unit_builds_in_sequence_equal_one_full_build(pipeline: PipelineData, tmp_path):
    changed, removed_from = ordinary_units(pipeline.data_dir, 2)
    for copy in ("sequence", "full"):
        (tmp_path / copy).mkdir()
        shutil.copy(pipeline.warehouse, tmp_path / copy / "warehouse.duckdb")
        with duckdb.connect(str(tmp_path / copy / "warehouse.duckdb")) as con:
            # A re-cased name in one unit, fewer rows in another: what a newer extract of each would bring.
            con.execute("update raw.extracts set ho_va_ten = upper(ho_va_ten) where unit_code = ? and source_row <= 5",
                        [changed])
            # (Rows of people on no other unit's roster: a cross-unit flag of a unit not rebuilt stays as it was.)
            con.execute("""
                delete from raw.extracts r where unit_code = ? and source_row > 40 and not exists (
                    select 1 from link.record_links l join link.record_links o
                        on o.so_dinh_danh = l.so_dinh_danh and o.unit_code <> l.unit_code
                    where l.source_file = r.source_file and l.source_row = r.source_row)""", [removed_from])
    for unit in (changed, removed_from):
        dbt_build(tmp_path / "sequence" / "warehouse.duckdb", CONFORM_SELECT, "--exclude", RANKING_SELECT,
                  "--vars", json.dumps({"units": [unit]}))
    dbt_build(tmp_path / "full" / "warehouse.duckdb", CONFORM_SELECT, "--exclude", RANKING_SELECT, "--full-refresh")
    sequence = _contents(tmp_path / "sequence" / "warehouse.duckdb")
    full = _contents(tmp_path / "full" / "warehouse.duckdb")
    before = _contents(pipeline.warehouse)
    for name in PER_UNIT_MODELS:
        assert sequence[name] == full[name], name
    assert sequence["marts.fct_civil_servant_records"] != before["marts.fct_civil_servant_records"]
