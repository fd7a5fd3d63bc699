"""A tiny column store of numpy arrays, plus date helpers used across the generator.

Text columns are numpy object arrays (None for missing); dates are ``datetime64[D]`` arrays
(NaT for missing). Keeping to plain numpy keeps the generator fast and its output predictable.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

DAY = np.timedelta64(1, "D")


def stream(seed: int, *keys: int) -> np.random.Generator:
    """An independent Generator for one part of the generation, keyed by the seed and the part."""
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


class YearOnly(str):
    """A date a unit sent as its year alone ("1975").

    A date column that holds one is an object array; writers format dates with ``strftime`` or
    ``isoformat``, and both give back the bare year, so CSV, XLSX (a text cell) and JSON all carry "1975".
    """

    def strftime(self, _format: str) -> str:
        return str(self)

    def isoformat(self) -> str:
        return str(self)


@dataclass
class Table:
    """Equal-length named columns."""

    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        if self.columns and len(values) != len(self):
            raise ValueError(f"column {name} has {len(values)} values, table has {len(self)} rows")
        self.columns[name] = values

    def take(self, index: np.ndarray) -> Table:
        """Rows at the given positions (or boolean mask), as a new table."""
        return Table({name: values[index] for name, values in self.columns.items()})

    def copy(self) -> Table:
        return Table({name: values.copy() for name, values in self.columns.items()})

    @staticmethod
    def concat(tables: Iterable[Table]) -> Table:
        """Stack tables that share the same columns."""
        parts = [table for table in tables if len(table)]
        if not parts:
            return Table()
        return Table({name: np.concatenate([part[name] for part in parts]) for name in parts[0].columns})


def add_months(day: date, months: int) -> date:
    """Shift a date by whole months, clamping the day to the target month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """Shift a date by whole years (29 February becomes 28 February when needed)."""
    return add_months(day, 12 * years)


def to_dt64(day: date) -> np.datetime64:
    return np.datetime64(day, "D")


def to_dates(values: np.ndarray) -> list[date | YearOnly | None]:
    """Python dates (None for NaT) from a ``datetime64[D]`` array, or from an object array of dates,
    ``datetime64`` values, ``YearOnly`` years and None."""
    if values.dtype != object:
        return [None if np.isnat(value) else value.item() for value in values.astype("datetime64[D]")]
    return [_one_date(value) for value in values.tolist()]


def _one_date(value: object) -> date | YearOnly | None:
    if value is None or isinstance(value, YearOnly | date):
        return value
    day = np.datetime64(value, "D")
    return None if np.isnat(day) else day.item()


def stochastic_round(expected: float, rng: np.random.Generator) -> int:
    """``floor(expected)``, plus one with probability equal to the fraction: right on average, never far off."""
    whole = int(np.floor(expected))
    return whole + int(rng.random() < expected - whole)


def year_month_day(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a ``datetime64[D]`` array into integer year, month and day arrays."""
    months = values.astype("datetime64[M]")
    year = values.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (values - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def age_at(births: np.ndarray, on: date) -> np.ndarray:
    """Age in completed years on a given date."""
    year, month, day = year_month_day(births)
    before_birthday = (on.month < month) | ((on.month == month) & (on.day < day))
    return on.year - year - before_birthday.astype(np.int64)


def uniform_dates(rng: np.random.Generator, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """One uniformly random date per row between start and end inclusive (end is raised to start)."""
    start, end = np.broadcast_arrays(np.asarray(start, dtype="datetime64[D]"),
                                     np.asarray(end, dtype="datetime64[D]"))
    end = np.maximum(end, start)
    span = (end - start).astype(np.int64) + 1
    return start + (rng.random(span.shape) * span).astype(np.int64) * DAY
