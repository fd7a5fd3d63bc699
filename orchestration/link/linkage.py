"""Linking one batch of units to the registry: a cascade of deterministic stages, then Splink.

1. ``exact_id`` and ``old_cmnd``: the deterministic stages, a join in the warehouse (dbt model
   ``fct_linkage_exact_matches``): the ID sent is a registry person's, and name and date of birth agree.
2. ``splink``: every other record is scored against its candidate registry persons (``fct_linkage_candidates``:
   those agreeing on a blocking key), never against a copy of the whole registry. Scores are kept per set of
   compared features, model version and registry snapshot (``link.record_scores``): only records new or
   changed since they were last scored go to Splink. The best candidate wins; a close runner-up or a
   middling probability sends the record to review.
3. ``clerical``: reviewers' decisions (review/decisions.csv) replace the model's, on every later run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.link.charts import write_model_charts, write_waterfall
from orchestration.link.model import ModelStore, load_model, records_dataset_name, train_model
from orchestration.resources import configure_duckdb
from orchestration.warehouse import registered, transaction

MODEL_COLUMNS = (
    "unique_id", "so_dinh_danh", "cmnd", "name_accented", "name_key", "name_sorted", "surname_key", "given_key",
    "ngay_sinh", "birth_year", "dob_day_month", "reverse_day_month", "dob_imprecise", "gioi_tinh", "birth_province",
    "ma_xa_thuong_tru", "ma_tinh_thuong_tru",
)
# How many of a record's best candidates are kept: the winner, the runner-up, and the review queue's three.
KEPT_CANDIDATES = 3

_UNIT_RECORDS_SQL = "select * from linkage.fct_linkage_records where unit_code in (select unnest(?))"
_UNIT_EXACT_MATCHES_SQL = """
select record_id, registry_id, stage from linkage.fct_linkage_exact_matches where unit_code in (select unnest(?))
"""
_SNAPSHOT_SQL = "select max(registry_snapshot_id) from linkage.dim_linkage_registry"
# The registry rows a batch can need: its records' candidates, its exact matches and its reviewers' choices.
_UNIT_REGISTRY_SQL = """
select g.* exclude (registry_snapshot_id) from linkage.dim_linkage_registry g
where g.unique_id in (
    select registry_id from linkage.fct_linkage_candidates where unit_code in (select unnest($units))
    union select registry_id from linkage.fct_linkage_exact_matches where unit_code in (select unnest($units))
    union select unnest($clerical)
)
"""
_CACHED_SCORES_SQL = """
select features_hash, registry_id, match_probability, match_weight, id_conflicts, weights
from link.record_scores
where model_version = $version and registry_snapshot_id = $snapshot and features_hash in (
    select features_hash from linkage.fct_linkage_records where unit_code in (select unnest($units)))
"""
_CANDIDATE_PAIRS_SQL = """
select record_id, registry_id from linkage.fct_linkage_candidates where unit_code in (select unnest(?))
"""

# Best candidate per record; a runner-up close behind makes the decision a review, and so does a
# 12-digit ID sent that is wholly different from the candidate's (a namesake is not the person).
_SPLINK_DECISIONS_SQL = """
with ranked as (
    select
        record_id, registry_id, match_probability, match_weight, id_conflicts,
        row_number() over (partition by record_id order by match_weight desc, registry_id) as candidate_rank,
        lead(match_weight) over (partition by record_id order by match_weight desc, registry_id) as runner_up
    from predictions
)
select
    record_id,
    registry_id,
    match_probability,
    match_weight,
    case
        when match_probability >= $auto and coalesce(match_weight - runner_up, 99) >= $margin
            and not id_conflicts then 'auto_link'
        when match_probability >= $review then 'review'
        else 'no_link'
    end as decision
from ranked
where candidate_rank = 1
"""

_LINKS_SQL = """
with decided as (
    select record_id, registry_id, 1.0 as match_probability, null::double as match_weight,
        'auto_link' as decision, stage
    from deterministic
    union all
    select record_id, registry_id, match_probability, match_weight, decision, 'splink'
    from splink_decisions
    where record_id not in (select record_id from deterministic)
),
overridden as (
    select
        d.record_id,
        case when c.decision = 'link' then c.registry_id when c.decision = 'no_link' then null
             else d.registry_id end as registry_id,
        d.match_probability, d.match_weight,
        case when c.decision = 'link' then 'auto_link' when c.decision = 'no_link' then 'no_link'
             else d.decision end as decision,
        case when c.decision is not null then 'clerical' else d.stage end as stage
    from decided d
    left join clerical c on c.record_id = d.record_id
    union all
    select c.record_id, c.registry_id, null, null,
        case when c.decision = 'link' then 'auto_link' else 'no_link' end, 'clerical'
    from clerical c
    where c.record_id not in (select record_id from decided) and c.record_id in (select unique_id from records)
)
select
    r.unit_code, r.source_file, r.source_row, r.ma_ho_so,
    case when o.decision in ('auto_link', 'review') then o.registry_id end as so_dinh_danh,
    coalesce(o.match_probability, 0.0) as match_probability,
    o.match_weight,
    coalesce(o.decision, 'no_link') as decision,
    case
        when o.decision is null or o.decision = 'no_link' then 'not_found'
        when r.id_sent is not null and r.id_sent <> o.registry_id and r.id_sent is distinct from g.cmnd
            then 'id_wrong'
        when r.name_key <> g.name_key then 'name_differs'
        when r.ngay_sinh is distinct from g.ngay_sinh and not r.dob_imprecise then 'dob_differs'
        else 'matched'
    end as match_status,
    coalesce(o.stage, 'splink') as stage
from records r
left join overridden o on o.record_id = r.unique_id
left join registry g on g.unique_id = o.registry_id
"""


# Up to three candidates for each record the model left for review, best first.
_REVIEW_CANDIDATES_SQL = """
with ranked as (
    select record_id, registry_id, match_probability, match_weight,
        row_number() over (partition by record_id order by match_weight desc, registry_id) as candidate_rank
    from predictions
    where record_id in (select record_id from splink_decisions where decision = 'review')
)
select r.unit_code, r.source_file, r.source_row, r.ma_ho_so, ranked.candidate_rank, ranked.registry_id,
    ranked.match_probability, ranked.match_weight
from ranked join records r on r.unique_id = ranked.record_id
where candidate_rank <= 3
"""


@dataclass
class LinkOutcome:
    records: int
    decisions: dict[str, int]
    statuses: dict[str, int]
    stages: dict[str, int]
    model_version: str
    model_trained: bool
    predictions: int = 0
    records_scored: int = 0
    scores_reused: int = 0
    registry_rows_loaded: int = 0
    evidence: pa.Table | None = field(default=None, repr=False)
    review_candidates: pa.Table | None = field(default=None, repr=False)


def _copy(work: duckdb.DuckDBPyConnection, name: str, rows: pa.Table) -> None:
    """A warehouse result as a table of the scratch database."""
    work.register(f"{name}_arrow", rows)
    work.execute(f"create or replace table {name} as select * from {name}_arrow")
    work.unregister(f"{name}_arrow")


def load_training_inputs(work: duckdb.DuckDBPyConnection, warehouse: duckdb.DuckDBPyConnection,
                         units: list[str]) -> None:
    """The units' records and the whole registry, as training needs (u is estimated by sampling random
    registry persons): the only path that copies the registry, taken when a model is (re)trained."""
    columns = ", ".join(MODEL_COLUMNS)
    _copy(work, "training_records",
          warehouse.sql(f"select {columns} from ({_UNIT_RECORDS_SQL})", params=[units]).to_arrow_table())
    _copy(work, "training_registry",
          warehouse.sql(f"select {columns} from linkage.dim_linkage_registry").to_arrow_table())
    _copy(work, "name_frequencies",
          warehouse.sql("select name_accented, tf_name_accented from linkage.dim_linkage_name_frequencies")
          .to_arrow_table())


def _load_batch(work: duckdb.DuckDBPyConnection, warehouse: duckdb.DuckDBPyConnection, units: list[str],
                version: str, snapshot: str, clerical_ids: list[str]) -> None:
    """The batch's records, exact matches, candidate registry rows and reusable scores, in ``work``."""
    _copy(work, "records", warehouse.sql(_UNIT_RECORDS_SQL, params=[units]).to_arrow_table())
    _copy(work, "deterministic", warehouse.sql(_UNIT_EXACT_MATCHES_SQL, params=[units]).to_arrow_table())
    _copy(work, "registry", warehouse.sql(_UNIT_REGISTRY_SQL, params={"units": units, "clerical": clerical_ids})
          .to_arrow_table())
    _copy(work, "candidate_pairs", warehouse.sql(_CANDIDATE_PAIRS_SQL, params=[units]).to_arrow_table())
    _copy(work, "cached_scores", warehouse.sql(
        _CACHED_SCORES_SQL, params={"version": version, "snapshot": snapshot, "units": units}).to_arrow_table())
    columns = ", ".join(MODEL_COLUMNS)
    # Splink compares two tables of identical columns: the residual records not scored before, and the
    # registry persons that are their candidates.
    work.execute(f"""
        create table records_for_model as
        select {columns} from records
        where unique_id not in (select record_id from deterministic)
            and features_hash not in (select features_hash from cached_scores)
    """)
    work.execute(f"""
        create table registry_for_model as
        select {columns} from registry
        where unique_id in (select registry_id from candidate_pairs
                            where record_id in (select unique_id from records_for_model))
    """)
    _copy(work, "name_frequencies", warehouse.sql("""
        select name_accented, tf_name_accented from linkage.dim_linkage_name_frequencies
        where name_accented in (select name_accented from linkage.fct_linkage_records
                                where unit_code in (select unnest($units)))
            or name_accented in (select name_accented from linkage.dim_linkage_registry where unique_id in (
                select registry_id from linkage.fct_linkage_candidates where unit_code in (select unnest($units))))
    """, params={"units": units}).to_arrow_table())


def _current_model(work: duckdb.DuckDBPyConnection, warehouse: duckdb.DuckDBPyConnection, store: ModelStore,
                   units: list[str], charts_folder: Path | None) -> tuple[str, dict, bool]:
    """The model in use; on a data directory's first run, one is trained on these records and saved."""
    current = store.current()
    if current is None:
        load_training_inputs(work, warehouse, units)
        linker = train_model(work, "training_records", "training_registry")
        store.save(linker)
        if charts_folder is not None:
            write_model_charts(linker, charts_folder)
        work.execute("drop table training_registry")
        return (*store.current(), True)
    return (*current, False)


def _score_new_records(work: duckdb.DuckDBPyConnection, model: dict, charts_folder: Path | None) -> int:
    """Splink's predictions for ``records_for_model`` as table ``new_scores`` (best candidates per features
    hash, a null registry_id where no pair scored); returns the number of pairs scored."""
    work.execute("""
        create table new_predictions (record_id varchar, registry_id varchar, match_probability double,
            match_weight double, id_conflicts boolean, weights map(varchar, double))
    """)
    pairs = 0
    if work.execute("select count(*) from records_for_model").fetchall()[0][0]:
        linker = load_model(work, "records_for_model", "registry_for_model", model)
        predictions = linker.inference.predict(threshold_match_probability=0.001)
        weight_columns = [name for (name,) in work.execute(
            "select column_name from information_schema.columns where table_name = ? "
            "and starts_with(column_name, 'mw_')", [predictions.physical_name]).fetchall()]
        weights = "map_from_entries([" + ", ".join(f"('{c[3:]}', {c})" for c in weight_columns) + "])" \
            if weight_columns else "map()"
        # Splink orders each pair by dataset name, not by input order: name the sides explicitly.
        work.execute(f"""
            insert into new_predictions
            select
                case when source_dataset_l = $records then unique_id_l else unique_id_r end,
                case when source_dataset_l = $records then unique_id_r else unique_id_l end,
                match_probability, match_weight, gamma_so_dinh_danh = 0, {weights}
            from {predictions.physical_name}
        """, {"records": records_dataset_name("records_for_model")})
        pairs = work.execute("select count(*) from new_predictions").fetchall()[0][0]
        if charts_folder is not None and pairs:
            write_waterfall(linker, predictions.as_record_list(limit=10), charts_folder / "waterfall_sample.html")
    # Records of equal features get equal scores: one record speaks for its hash.
    work.execute(f"""
        create table new_scores as
        with speaker as (
            select features_hash, min(unique_id) as record_id from records
            where unique_id in (select unique_id from records_for_model) group by features_hash
        ),
        ranked as (
            select s.features_hash, p.* exclude (record_id),
                row_number() over (partition by s.features_hash order by p.match_weight desc, p.registry_id) as n
            from speaker s join new_predictions p on p.record_id = s.record_id
        )
        select * exclude (n) from ranked where n <= {KEPT_CANDIDATES}
        union all
        select features_hash, null, null, null, null, null from speaker
        where features_hash not in (select features_hash from ranked)
    """)
    return pairs


def _store_new_scores(warehouse: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection, version: str,
                      snapshot: str) -> None:
    """Keep this run's scores for later runs; drop those of other models or snapshots, which never match."""
    rows = work.sql("select * from new_scores").to_arrow_table()
    with registered(warehouse, "incoming_scores", rows), transaction(warehouse):
        warehouse.execute("DELETE FROM link.record_scores WHERE model_version <> ? OR registry_snapshot_id <> ?",
                          [version, snapshot])
        # Features no record carries any more are never asked for again.
        warehouse.execute("DELETE FROM link.record_scores WHERE features_hash NOT IN "
                          "(SELECT features_hash FROM linkage.fct_linkage_records)")
        warehouse.execute("""
            INSERT INTO link.record_scores BY NAME
            SELECT *, ? AS model_version, ? AS registry_snapshot_id, now() AS scored_at FROM incoming_scores
            WHERE features_hash NOT IN (SELECT features_hash FROM link.record_scores)
        """, [version, snapshot])


def link_units(
    warehouse: duckdb.DuckDBPyConnection, units: list[str], store: ModelStore, load_id: str,
    auto_link_threshold: float, review_threshold: float, margin_weight: float,
    clerical_decisions: pa.Table, charts_folder: Path | None = None,
) -> LinkOutcome:
    """Link the units' conformed records and replace their rows in link.record_links."""
    # Splink's scratch tables stay out of the warehouse, under the same memory limit and spill directory.
    work = configure_duckdb(duckdb.connect())
    try:
        version, model, trained = _current_model(work, warehouse, store, units, charts_folder)
        snapshot = warehouse.execute(_SNAPSHOT_SQL).fetchall()[0][0] or "none"
        clerical_ids = [value for value in clerical_decisions.column("registry_id").to_pylist() if value]
        _load_batch(work, warehouse, units, version, snapshot, clerical_ids)
        prediction_count = _score_new_records(work, model, charts_folder)
        scored = work.execute("select count(*) from records_for_model").fetchall()[0][0]
        _store_new_scores(warehouse, work, version, snapshot)
        # Every residual record's best candidates, reused or new, under the record's own id.
        work.execute("""
            create table predictions as
            select r.unique_id as record_id, s.* exclude (features_hash)
            from records r
            join (select * from cached_scores union all by name select * from new_scores) s
                on s.features_hash = r.features_hash
            where r.unique_id not in (select record_id from deterministic) and s.registry_id is not null
        """)
        reused = work.execute("""
            select count(*) from records where unique_id not in (select record_id from deterministic)
                and unique_id not in (select unique_id from records_for_model)
        """).fetchall()[0][0]
        work.execute(
            f"create table splink_decisions as {_SPLINK_DECISIONS_SQL}"
            .replace("$auto", repr(float(auto_link_threshold)))
            .replace("$margin", repr(float(margin_weight)))
            .replace("$review", repr(float(review_threshold)))
        )
        _copy(work, "clerical", clerical_decisions)
        links = work.sql(_LINKS_SQL).to_arrow_table()
        evidence = work.sql(_EVIDENCE_SQL).to_arrow_table()
        review_candidates = work.sql(_REVIEW_CANDIDATES_SQL).to_arrow_table()
        registry_rows = work.execute("select count(*) from registry").fetchall()[0][0]
    finally:
        work.close()
    _replace_unit_rows(warehouse, "link.record_links", units, links, load_id, version)
    counts = {
        name: dict(warehouse.execute(
            f"select {name}, count(*) from link.record_links where unit_code in (select unnest(?)) group by 1",
            [units],
        ).fetchall())
        for name in ("decision", "match_status", "stage")
    }
    return LinkOutcome(links.num_rows, counts["decision"], counts["match_status"], counts["stage"], version, trained,
                       prediction_count, scored, reused, registry_rows, evidence, review_candidates)


# Per-comparison match weights (Splink's mw_ columns, log2 Bayes factors) of each record's best candidate.
_EVIDENCE_SQL = """
with best as (
    select r.unit_code, r.source_file, r.source_row, p.weights from predictions p
    join splink_decisions d on d.record_id = p.record_id and d.registry_id = p.registry_id
    join records r on r.unique_id = d.record_id
),
entries as (select unit_code, source_file, source_row, unnest(map_entries(weights)) as entry from best)
select unit_code, source_file, source_row, entry.key as comparison, entry.value as weight from entries
"""


def _replace_unit_rows(
    warehouse: duckdb.DuckDBPyConnection, table: str, units: list[str], rows: pa.Table, load_id: str, version: str
) -> None:
    with registered(warehouse, "incoming_links", rows), transaction(warehouse):
        warehouse.execute(f"DELETE FROM {table} WHERE unit_code IN (SELECT unnest(?))", [units])
        warehouse.execute(
            f"INSERT INTO {table} BY NAME SELECT *, ? AS load_id, ? AS linked_at, ? AS model_version "
            "FROM incoming_links",
            [load_id, datetime.now(), version],
        )
