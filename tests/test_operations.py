"""Operations: monthly schedules per unit and the new-extract sensor (real Dagster evaluation)."""

import shutil
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.definitions import defs
from orchestration.resources import PipelineSettings
from orchestration.schedules import TIMEZONE, unit_schedules
from orchestration.sensors import new_extracts
from orchestration.units import unit_codes
from tests.conftest import TEST_TOKEN_KEY


def test_every_unit_has_a_monthly_schedule_in_vietnam_time_and_none_start_together():
    by_unit = {}
    for schedule in unit_schedules:
        context = dg.build_schedule_context(
            scheduled_execution_time=datetime(2026, 12, 5, 1, 0, tzinfo=ZoneInfo(TIMEZONE)),
            repository_def=defs.get_repository_def())
        request = schedule.evaluate_tick(context).run_requests[0]
        by_unit[request.partition_key] = schedule
        assert schedule.execution_timezone == "Asia/Ho_Chi_Minh"
        assert request.tags["cbccvc/unit"] == request.partition_key
    assert set(by_unit) == set(unit_codes())
    assert len({schedule.cron_schedule for schedule in unit_schedules}) == 62
    loaded = {s.name for s in defs.get_repository_def().schedule_defs}
    assert {s.name for s in unit_schedules} | {"monthly_shared_inputs"} <= loaded


def _sensor_tick(landing_root, cursor: str | None):
    context = dg.build_sensor_context(
        cursor=cursor,
        repository_def=defs.get_repository_def(),
        resources={"settings": PipelineSettings(token_key=TEST_TOKEN_KEY, data_dir=str(landing_root),
                                                  warehouse_path=str(landing_root / "w.duckdb"))},
    )
    result = new_extracts.evaluate_tick(context)
    return result, context.cursor


def _write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_sensor_requests_one_run_per_new_extract_and_nothing_for_copies(tmp_path):
    landing = tmp_path / "landing"
    _write(landing / "ha-noi" / "2026-10-01_extract.csv", "ma_ho_so\nA\n")
    _write(landing / "hue" / "2026-10-01_extract.csv", "ma_ho_so\nB\n")

    first, cursor = _sensor_tick(tmp_path, None)
    assert sorted(r.partition_key for r in first.run_requests) == ["ha-noi", "hue"]

    again, cursor = _sensor_tick(tmp_path, cursor)
    assert again.run_requests == [] and again.skip_message

    # A copy of the same content under a newer name requests nothing.
    shutil.copy(landing / "hue" / "2026-10-01_extract.csv", landing / "hue" / "2026-11-01_extract.csv")
    copied, cursor = _sensor_tick(tmp_path, cursor)
    assert copied.run_requests == []

    # A new extract requests exactly one run, for its unit only.
    _write(landing / "ha-noi" / "2026-11-01_extract.csv", "ma_ho_so\nA\nC\n")
    new, cursor = _sensor_tick(tmp_path, cursor)
    assert [(r.partition_key, r.tags["cbccvc/trigger"]) for r in new.run_requests] == [("ha-noi", "new_extract")]
    assert new.run_requests[0].run_key.startswith("ha-noi:")


def test_sensor_reports_folders_that_are_not_units(tmp_path):
    _write(tmp_path / "landing" / "so-khong-ton-tai" / "2026-11-01_extract.csv", "ma_ho_so\nX\n")
    result, _ = _sensor_tick(tmp_path, None)
    assert result.run_requests == []
    assert "so-khong-ton-tai" in result.skip_message


def test_unit_runs_share_one_warehouse_pool():
    job = defs.resolve_job_def("unit_pipeline")
    assert job.partitions_def is not None
    pools = {node.definition.pool for node in job.graph.node_dict.values()}
    assert pools == {"duckdb_warehouse"}
