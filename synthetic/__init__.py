"""Synthetic data generator for the CBCCVC pipeline.

Usage::

    python -m synthetic --out DIR --scale S --seed N [--registry-size R] [--as-of YYYY-MM-DD]
        [--defect-scale F]

``--scale 1.0`` is national size (1,436,507 personnel records over the 62 units of
``dbt_project/seeds/ref_source_units.csv``); the demo uses ``--scale 0.013``. The same seed and
as-of date give byte-identical files. Outputs under DIR:

* ``landing/<unit_code>/<YYYY-MM-DD>_extract.<csv|xlsx>`` - monthly extracts per unit, with
  injected defects and a few deliberately bad files (undated name, unknown unit folder,
  missing required column, stale units, one unit with 40 % blank IDs);
* ``registry/registry-NNN.parquet`` - the national population registry (12-digit IDs), in parts of
  at most 500,000 persons plus employees, each part sorted by ID;
* ``truth/records.parquet`` - one row per landing data row: true registry ID, person key, defect
  labels, true 2025 ward of residence and the form its address was written in;
* ``truth/files.csv`` - one row per landing file: kind (current, older, stale_current, ...) and rows.

From Python: ``generate(out, scale, seed, registry_size=None, as_of=None, rates=None) -> GenerationSummary``;
``rates`` is a ``DefectRates`` (``NO_DEFECTS`` for none). ``docs/synthetic-data.md`` documents it all.
"""

from .defects import NO_DEFECTS, DefectRates
from .generate import GenerationSummary, generate

__all__ = ["NO_DEFECTS", "DefectRates", "GenerationSummary", "generate"]
