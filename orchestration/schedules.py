"""Monthly schedules: the shared inputs first, then one run per unit, staggered so that 62 runs
never start at once. Units approve their data monthly; times are Vietnam time."""

import dagster as dg

from orchestration.jobs import shared_inputs_job, unit_pipeline_job
from orchestration.units import SourceUnit, source_units

TIMEZONE = "Asia/Ho_Chi_Minh"
RUN_DAY = 5  # of each month, after units have approved their monthly extracts
FIRST_HOUR = 1
MINUTES_APART = 7


def unit_cron(position: int) -> str:
    """Unit number `position` starts MINUTES_APART minutes after the one before it (01:00, 01:07, …)."""
    minutes = FIRST_HOUR * 60 + position * MINUTES_APART
    return f"{minutes % 60} {minutes // 60} {RUN_DAY} * *"


def unit_schedule(unit: SourceUnit, position: int) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"monthly_{unit.unit_code.replace('-', '_')}",
        cron_schedule=unit_cron(position),
        execution_timezone=TIMEZONE,
        job=unit_pipeline_job,
        description=f"Monthly run for {unit.name}.",
        tags={"cbccvc/unit": unit.unit_code, "cbccvc/unit_kind": unit.kind},
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        month = context.scheduled_execution_time.strftime("%Y-%m")
        return dg.RunRequest(
            run_key=f"{unit.unit_code}:{month}",
            partition_key=unit.unit_code,
            tags={"cbccvc/unit": unit.unit_code, "cbccvc/trigger": "schedule"},
        )

    return _schedule


shared_inputs_schedule = dg.ScheduleDefinition(
    name="monthly_shared_inputs",
    cron_schedule=f"0 0 {RUN_DAY} * *",
    execution_timezone=TIMEZONE,
    job=shared_inputs_job,
    description="Reference seeds and the registry snapshot, an hour before the first unit run.",
)

unit_schedules = [unit_schedule(unit, position) for position, unit in enumerate(source_units())]
