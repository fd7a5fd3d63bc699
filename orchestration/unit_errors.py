"""One unit's failure stays that unit's: every step handles its units one by one through `UnitErrors`.

An unexpected error while handling one unit (its rows, its gates, its publication, its workbook) is
recorded in ``quarantine.unit_errors`` with the step, a reason code and a Vietnamese sentence, logged
without personal data (the error's type only: a message may quote a cell), and the step goes on with the
other units. The step fails only when every unit of a run of several failed the same way, which means the
cause is global (the warehouse, the registry, the model). Errors are never retried: the same input fails
the same way again. `make run` exits non-zero when its run recorded any.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import dagster as dg
import duckdb

T = TypeVar("T")

STEP_SENTENCES_VI = {
    "ingest": "Hệ thống gặp lỗi khi nạp tệp của đơn vị; dữ liệu đã công bố lần trước được giữ nguyên.",
    "quality": "Hệ thống gặp lỗi khi kiểm tra chất lượng dữ liệu của đơn vị; tệp được tạm giữ, chưa công bố.",
    "publish": "Hệ thống gặp lỗi khi công bố dữ liệu của đơn vị; dữ liệu đã công bố lần trước được giữ nguyên.",
    "feedback": "Hệ thống gặp lỗi khi lập báo cáo phản hồi cho đơn vị.",
}


@dataclass
class UnitErrors:
    """Collects the units a step could not handle, and why."""

    step: str
    run_id: str
    log: object  # the step's logger
    failed: dict[str, str] = field(default_factory=dict)

    def attempt(self, unit_code: str, work: Callable[[], T]) -> T | None:
        """Run one unit's work; on any error record it for the unit and return None."""
        try:
            return work()
        except Exception as error:  # noqa: BLE001 - isolating one unit is the point
            self.failed[unit_code] = type(error).__name__
            self.log.error(f"{unit_code}: {self.step} failed ({type(error).__name__}); the other units go on")
            return None

    def record(self, con: duckdb.DuckDBPyConnection, units: list[str]) -> None:
        """Replace the units' error rows for this step; fail the step when the cause is plainly global."""
        con.execute("DELETE FROM quarantine.unit_errors WHERE step = ? AND unit_code IN (SELECT unnest(?))",
                    [self.step, units])
        now = datetime.now()
        for unit_code, error_type in sorted(self.failed.items()):
            con.execute(
                "INSERT INTO quarantine.unit_errors VALUES (?, ?, ?, ?, ?, ?, ?)",
                [self.run_id, unit_code, self.step, f"step_failed.{self.step}", error_type,
                 STEP_SENTENCES_VI[self.step], now],
            )
        if len(units) > 1 and set(self.failed) >= set(units):
            raise dg.Failure(f"{self.step} failed for every one of the {len(units)} units: the cause is not one "
                             "unit's data (see the log)")

    def metadata(self) -> dict[str, object]:
        return {"units_failed": sorted(self.failed)}


def run_unit_errors(con: duckdb.DuckDBPyConnection, run_ids: list[str]) -> list[tuple[str, str]]:
    """(unit, step) of every unit error recorded by these runs."""
    return con.execute(
        "SELECT unit_code, step FROM quarantine.unit_errors WHERE run_id IN (SELECT unnest(?)) ORDER BY 1, 2",
        [run_ids],
    ).fetchall()
