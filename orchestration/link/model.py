"""The Splink model: settings as data (splink_settings.json), training, and the saved, versioned artefact."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
from splink import DuckDBAPI, Linker, block_on

SETTINGS_PATH = Path(__file__).with_name("splink_settings.json")

# Pairs the deterministic rule finds are almost surely matches; recall is a conservative guess.
_DETERMINISTIC_RULES = [block_on("so_dinh_danh", "name_key", "ngay_sinh")]
_DETERMINISTIC_RECALL = 0.9
# EM needs pairs that mix matches and non-matches; each rule leaves the other comparisons free.
_EM_BLOCKING_RULES = [block_on("so_dinh_danh"), block_on("name_key", "birth_year")]


# No disagreement is impossible: every level keeps at least this share of true matches (m) and of
# non-matches (u). Without it, a level never seen in training (a wrong sex, a mistyped ID prefix)
# gets a weight of minus infinity and vetoes an otherwise certain match.
M_FLOOR = 0.001
U_FLOOR = 1e-7


def regularise(model: dict) -> dict:
    """Floor every trained m and u probability and renormalise each comparison's levels."""
    for comparison in model["comparisons"]:
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        for key, floor in (("m_probability", M_FLOOR), ("u_probability", U_FLOOR)):
            values = [max(level.get(key) or 0.0, floor) for level in levels]
            total = sum(values)
            for level, value in zip(levels, values, strict=True):
                level[key] = value / total
    return model


def linkage_settings() -> dict:
    return json.loads(SETTINGS_PATH.read_text(encoding="utf-8"))


def _quiet_splink() -> None:
    logging.getLogger("splink").setLevel(logging.WARNING)


def records_dataset_name(records: str) -> str:
    """The source_dataset value Splink gives the records side (pairs are not ordered records-first)."""
    return f"splink_{records}"


def _register_registry_term_frequencies(db_api: DuckDBAPI, linker: Linker) -> None:
    """Name frequencies come from the whole registry (table ``name_frequencies``, from the dbt model
    ``dim_linkage_name_frequencies``), not from the records being linked: a unit's links then do not depend
    on which other units share its run, nor on which registry persons are its candidates."""
    linker.table_management.register_term_frequency_lookup(
        db_api.register("name_frequencies", table_name=f"splink_tf_name_accented_{id(linker)}"), "name_accented"
    )


def _linker(con: duckdb.DuckDBPyConnection, records: str, registry: str, settings: dict) -> Linker:
    """A linker over two tables of ``con`` (which also holds ``name_frequencies``). Splink's own names for
    them are unique to this linker: a training and a prediction linker on one connection never share
    Splink's cached tables."""
    _quiet_splink()
    db_api = DuckDBAPI(connection=con)
    inputs = [
        db_api.register(records, table_name=records_dataset_name(records)),
        db_api.register(registry, table_name=f"splink_{registry}_for_{records}"),
    ]
    linker = Linker(inputs, settings, log_level=None)
    _register_registry_term_frequencies(db_api, linker)
    return linker


def train_model(con: duckdb.DuckDBPyConnection, records: str, registry: str, seed: int = 42) -> Linker:
    """Estimate the model from the records and registry tables in ``con``: u by sampling, m by EM."""
    linker = _linker(con, records, registry, linkage_settings())
    linker.training.estimate_probability_two_random_records_match(_DETERMINISTIC_RULES, recall=_DETERMINISTIC_RECALL)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=seed)
    for rule in _EM_BLOCKING_RULES:
        linker.training.estimate_parameters_using_expectation_maximisation(rule, record_sample_proportion=1.0)
    return linker


def load_model(con: duckdb.DuckDBPyConnection, records: str, registry: str, model: dict) -> Linker:
    return _linker(con, records, registry, model)


@dataclass(frozen=True)
class ModelStore:
    """Trained models as JSON files named by content hash; ``current.json`` names the one in use."""

    directory: Path

    @property
    def pointer(self) -> Path:
        return self.directory / "current.json"

    def current(self) -> tuple[str, dict] | None:
        if not self.pointer.exists():
            return None
        version = json.loads(self.pointer.read_text(encoding="utf-8"))["version"]
        return version, json.loads((self.directory / f"{version}.json").read_text(encoding="utf-8"))

    def save(self, linker: Linker) -> str:
        model = regularise(linker.misc.save_model_to_json(out_path=None))
        text = json.dumps(model, indent=2, sort_keys=True, default=str)
        version = "model-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / f"{version}.json").write_text(text, encoding="utf-8")
        self.pointer.write_text(json.dumps({"version": version}) + "\n", encoding="utf-8")
        return version
