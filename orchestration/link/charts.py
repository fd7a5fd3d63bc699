"""Splink's charts written as HTML files, for the model and for a sample of decisions."""

from __future__ import annotations

from pathlib import Path

from splink import Linker

# Compared values are masked in the waterfall charts: they explain weights, not people.
_MASKED_SUFFIXES = ("_l", "_r")


def write_model_charts(linker: Linker, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    charts = {
        "match_weights": linker.visualisations.match_weights_chart(),
        "m_u_parameters": linker.visualisations.m_u_parameters_chart(),
    }
    paths = {}
    for name, chart in charts.items():
        paths[name] = folder / f"{name}.html"
        chart.save(str(paths[name]))
    return paths


def write_waterfall(linker: Linker, sample: list[dict], path: Path) -> Path | None:
    if not sample:
        return None
    masked = [
        {key: ("•" if key.endswith(_MASKED_SUFFIXES) and isinstance(value, str) else value)
         for key, value in row.items()}
        for row in sample
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    linker.visualisations.waterfall_chart(masked, filter_nulls=False).save(str(path))
    return path
