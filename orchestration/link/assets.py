"""Link assets: the trained model (retrained only on request) and each unit's links to the registry."""

import dagster as dg
import duckdb

from orchestration.asset_defaults import unit_asset, warehouse_asset
from orchestration.link.charts import write_model_charts
from orchestration.link.linkage import link_units, load_training_inputs
from orchestration.link.model import ModelStore, train_model
from orchestration.link.review import read_clerical_decisions, store_decision_problems, write_review_queue
from orchestration.resources import PipelineSettings
from orchestration.units import unit_codes
from orchestration.warehouse import ensure_warehouse

MODEL_KEY = dg.AssetKey(["link", "splink_model"])


def model_store(settings: PipelineSettings) -> ModelStore:
    return ModelStore(settings.data_path / "models" / "splink")


@warehouse_asset(
    key=MODEL_KEY,
    group_name="link",
    deps=[["linkage", "fct_linkage_records"], ["linkage", "dim_linkage_registry"],
          ["linkage", "dim_linkage_name_frequencies"]],
    kinds={"splink", "duckdb"},
    description=(
        "The Splink linkage model, trained on every conformed record against the registry and saved as a "
        "versioned JSON artefact (models/splink/<version>.json; current.json names the one in use). Ordinary "
        "runs reuse it; materialize this asset to retrain. Charts (match weights, m/u parameters) are HTML."
    ),
)
def splink_model(settings: PipelineSettings) -> dg.MaterializeResult:
    store = model_store(settings)
    with settings.scratch() as work:
        with settings.connect() as con:
            load_training_inputs(work, con, unit_codes())
        linker = train_model(work, "training_records", "training_registry")
        version = store.save(linker)
        charts = write_model_charts(linker, settings.reports_path / "splink" / version)
        records = work.execute("select count(*) from training_records").fetchall()[0][0]
    return dg.MaterializeResult(
        metadata={
            "version": version,
            "training_records": records,
            "model_file": dg.MetadataValue.path(str(store.directory / f"{version}.json")),
            **{f"chart_{name}": settings.report_link(path) for name, path in charts.items()},
        }
    )


@unit_asset(
    key=["link", "record_links"],
    group_name="link",
    deps=[["linkage", "fct_linkage_records"], ["linkage", "fct_linkage_exact_matches"],
          ["linkage", "fct_linkage_candidates"], ["linkage", "dim_linkage_registry"],
          ["linkage", "dim_linkage_name_frequencies"]],
    kinds={"duckdb", "splink"},
    description=(
        "Each conformed record linked to the population registry: a deterministic cascade (exact 12-digit ID, "
        "old CMND, a join in dbt) then the Splink model on the candidates dbt selected by blocking key (records "
        "scored before with the same features, model and registry snapshot keep their scores), with reviewers' "
        "decisions taking precedence. Writes the registry ID "
        "or none, match probability and weight, decision (auto_link / review / no_link), a match status a unit "
        "understands, the per-comparison evidence, and a review queue per unit (review/queue/<unit>.csv)."
    ),
)
def record_links(
    context: dg.AssetExecutionContext, settings: PipelineSettings
) -> dg.MaterializeResult:
    units = list(context.partition_keys)
    store = model_store(settings)
    run_id = context.run.run_id
    with settings.connect() as con:
        ensure_warehouse(con)
        clerical = read_clerical_decisions(con, settings.data_path)
        store_decision_problems(con, clerical.problems, run_id)
        for problem in clerical.problems:  # line numbers and reasons only: the lines hold personal data
            context.log.warning(f"review/decisions.csv line {problem.line} not applied: {problem.reason}")
        outcome = link_units(
            con, units, store, run_id, settings.auto_link_threshold, settings.review_threshold,
            settings.margin_weight, clerical.table, charts_folder=settings.reports_path / "splink" / "latest",
        )
        _replace_evidence(con, units, outcome.evidence, run_id)
        queued = write_review_queue(con, units, outcome.review_candidates, settings.token_key, run_id,
                                    settings.data_path)
    linked = outcome.decisions.get("auto_link", 0)
    return dg.MaterializeResult(
        metadata={
            "records": outcome.records,
            "link_rate": dg.FloatMetadataValue(round(linked / outcome.records, 4) if outcome.records else 0.0),
            "review_share": dg.FloatMetadataValue(
                round(outcome.decisions.get("review", 0) / outcome.records, 4) if outcome.records else 0.0),
            "decisions": outcome.decisions,
            "match_statuses": outcome.statuses,
            "stages": outcome.stages,
            "candidate_pairs_scored": outcome.predictions,
            "records_scored_by_splink": outcome.records_scored,
            "records_with_reused_scores": outcome.scores_reused,
            "registry_rows_loaded": outcome.registry_rows_loaded,
            "review_queue_rows": queued,
            "clerical_decisions_applied": clerical.table.num_rows,
            "clerical_lines_not_applied": len(clerical.problems),
            "model_version": outcome.model_version,
            "model_trained_this_run": outcome.model_trained,
            "waterfall_chart": settings.report_link(
                settings.reports_path / "splink" / "latest" / "waterfall_sample.html"),
        }
    )


def _replace_evidence(con: duckdb.DuckDBPyConnection, units: list[str], evidence, load_id: str) -> None:
    con.execute("DELETE FROM link.link_evidence WHERE unit_code IN (SELECT unnest(?))", [units])
    if evidence is not None and evidence.num_rows:
        con.register("evidence_rows", evidence)
        con.execute("INSERT INTO link.link_evidence BY NAME SELECT *, ? AS load_id FROM evidence_rows", [load_id])
        con.unregister("evidence_rows")
