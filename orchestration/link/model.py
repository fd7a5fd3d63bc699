"""The Splink model: settings as data, training, and the saved model artefact."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

# Candidate pairs: any one of these must hold. Each rule is narrow enough that the frequent
# surname "Nguyễn" cannot make the candidate set explode (no rule blocks on surname alone).
BLOCKING_RULES = [
    block_on("so_dinh_danh"),
    block_on("cmnd"),
    block_on("ngay_sinh", "given_key"),
    block_on("name_key", "birth_year"),
]


def linkage_settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=BLOCKING_RULES,
        comparisons=[
            cl.LevenshteinAtThresholds("so_dinh_danh", [1]),
            cl.ExactMatch("cmnd"),
            cl.JaroWinklerAtThresholds("name_key", [0.95, 0.88]).configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("ngay_sinh", input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.ExactMatch("gioi_tinh"),
        ],
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=[],
    )


def _quiet_splink() -> None:
    logging.getLogger("splink").setLevel(logging.WARNING)


def train_model(con: duckdb.DuckDBPyConnection, records: str, registry: str, seed: int = 42) -> Linker:
    """Estimate the model from the records and registry tables in ``con`` (u by sampling, m by EM)."""
    _quiet_splink()
    db_api = DuckDBAPI(connection=con)
    linker = Linker(
        [db_api.register(records, table_name="records"), db_api.register(registry, table_name="registry")],
        linkage_settings(),
        log_level=None,
    )
    linker.training.estimate_probability_two_random_records_match(
        [block_on("so_dinh_danh", "name_key", "ngay_sinh")], recall=0.9
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("ngay_sinh"), record_sample_proportion=1.0
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name_key"), record_sample_proportion=1.0
    )
    return linker


def load_model(con: duckdb.DuckDBPyConnection, records: str, registry: str, model_path: Path) -> Linker:
    _quiet_splink()
    db_api = DuckDBAPI(connection=con)
    return Linker(
        [db_api.register(records, table_name="records"), db_api.register(registry, table_name="registry")],
        json.loads(model_path.read_text(encoding="utf-8")),
        log_level=None,
    )


def save_model(linker: Linker, model_path: Path) -> None:
    model_path.parent.mkdir(parents=True, exist_ok=True)
    linker.misc.save_model_to_json(str(model_path), overwrite=True)
