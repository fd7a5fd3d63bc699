"""Linking one batch of units to the registry: a cascade of deterministic stages, then Splink.

1. ``exact_id``: the 12-digit ID sent is a registry ID whose name and date of birth agree.
2. ``old_cmnd``: the 9-digit old ID sent is a registry person's ``cmnd_cu``, name and date agree.
3. ``splink``: every other record is scored against the registry by the probabilistic model; the best
   candidate wins, a close runner-up or a middling probability sends the record to review.
4. ``clerical``: reviewers' decisions (review/decisions.csv) replace the model's, on every later run.
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

MODEL_COLUMNS = (
    "unique_id", "so_dinh_danh", "cmnd", "name_accented", "name_key", "name_sorted", "surname_key", "given_key",
    "ngay_sinh", "birth_year", "dob_day_month", "reverse_day_month", "dob_imprecise", "gioi_tinh", "birth_province",
    "ma_xa_thuong_tru", "ma_tinh_thuong_tru",
)

_NAME_FEATURES = """
    lower({name}) as name_accented,
    name_key,
    array_to_string(list_sort(string_split(name_key, ' ')), ' ') as name_sorted,
    split_part(name_key, ' ', 1) as surname_key,
    split_part(name_key, ' ', -1) as given_key,
    cast(ngay_sinh as varchar) as ngay_sinh,
    year(ngay_sinh) as birth_year,
    strftime(ngay_sinh, '%d%m') as dob_day_month,
    strftime(ngay_sinh, '%m%d') as reverse_day_month,
"""

_RECORDS_SQL = f"""
select
    source_file || '#' || source_row as unique_id,
    unit_code, source_file, source_row, ma_ho_so, so_dinh_danh as id_sent,
    case when id_kind = 'cccd' then so_dinh_danh end as so_dinh_danh,
    case when id_kind = 'cmnd' then so_dinh_danh end as cmnd,
    {_NAME_FEATURES.format(name="ho_va_ten")}
    coalesce(ngay_sinh_precision = 'year' or ngay_sinh_placeholder, false) as dob_imprecise,
    gioi_tinh,
    case when id_kind = 'cccd' then id_prefix end as birth_province,
    ma_xa_thuong_tru,
    ma_tinh_thuong_tru
from marts.fct_civil_servant_records
where unit_code in (select unnest(?))
"""

_REGISTRY_SQL = f"""
select
    so_dinh_danh as unique_id,
    so_dinh_danh,
    cmnd_cu as cmnd,
    {_NAME_FEATURES.format(name="ho_va_ten")}
    false as dob_imprecise,
    gioi_tinh,
    ma_tinh_khai_sinh as birth_province,
    ma_xa_thuong_tru,
    ma_tinh_thuong_tru
from marts.dim_registry_persons
"""

_DOB_AGREES = "(r.ngay_sinh = g.ngay_sinh or (r.dob_imprecise and r.birth_year = g.birth_year))"

_DETERMINISTIC_SQL = f"""
select r.unique_id as record_id, g.unique_id as registry_id, 'exact_id' as stage
from records r join registry g on r.so_dinh_danh = g.so_dinh_danh
where r.name_key = g.name_key and {_DOB_AGREES}
union all
select r.unique_id, g.unique_id, 'old_cmnd'
from records r join registry g on r.cmnd = g.cmnd
where r.so_dinh_danh is null and r.name_key = g.name_key and {_DOB_AGREES}
"""

# Best candidate per record; a runner-up close behind makes the decision a review, and so does a
# 12-digit ID sent that is wholly different from the candidate's (a namesake is not the person).
_SPLINK_DECISIONS_SQL = """
with ranked as (
    select
        record_id, registry_id, match_probability, match_weight, gamma_so_dinh_danh = 0 as id_conflicts,
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
    evidence: pa.Table | None = field(default=None, repr=False)
    review_candidates: pa.Table | None = field(default=None, repr=False)


def load_inputs(work: duckdb.DuckDBPyConnection, warehouse: duckdb.DuckDBPyConnection, units: list[str]) -> None:
    work.register("records_arrow", warehouse.sql(_RECORDS_SQL, params=[units]).to_arrow_table())
    work.execute("create table records as select * from records_arrow")
    work.unregister("records_arrow")
    work.register("registry_arrow", warehouse.sql(_REGISTRY_SQL).to_arrow_table())
    work.execute("create table registry as select * from registry_arrow")
    work.unregister("registry_arrow")
    columns = ", ".join(MODEL_COLUMNS)
    # Splink compares two tables of identical columns: the model's view of the records.
    work.execute(f"create table records_for_model as select {columns} from records")


def _current_model(work: duckdb.DuckDBPyConnection, store: ModelStore) -> tuple[str, dict, bool]:
    """The model in use; on a data directory's first run, one is trained on these records and saved."""
    current = store.current()
    if current is None:
        store.save(train_model(work, "records_for_model", "registry"))
        return (*store.current(), True)
    return (*current, False)


def link_units(
    warehouse: duckdb.DuckDBPyConnection, units: list[str], store: ModelStore, load_id: str,
    auto_link_threshold: float, review_threshold: float, margin_weight: float,
    clerical_decisions: pa.Table, charts_folder: Path | None = None,
) -> LinkOutcome:
    """Link the units' conformed records and replace their rows in link.record_links."""
    # Splink's scratch tables stay out of the warehouse, under the same memory limit and spill directory.
    work = configure_duckdb(duckdb.connect())
    try:
        load_inputs(work, warehouse, units)
        work.execute(f"create table deterministic as {_DETERMINISTIC_SQL}")
        work.execute(
            "create table residual_for_model as select * from records_for_model "
            "where unique_id not in (select record_id from deterministic)"
        )
        version, model, trained = _current_model(work, store)
        linker = load_model(work, "residual_for_model", "registry", model)
        predictions = linker.inference.predict(threshold_match_probability=0.001)
        # Splink orders each pair by dataset name, not by input order: name the sides explicitly.
        work.execute(f"""
            create table predictions as
            select *,
                case when source_dataset_l = $records then unique_id_l else unique_id_r end as record_id,
                case when source_dataset_l = $records then unique_id_r else unique_id_l end as registry_id
            from {predictions.physical_name}
        """, {"records": records_dataset_name("residual_for_model")})
        if charts_folder is not None:
            write_waterfall(linker, predictions.as_record_list(limit=10), charts_folder / "waterfall_sample.html")
            if trained:
                write_model_charts(linker, charts_folder)
        work.execute(
            f"create table splink_decisions as {_SPLINK_DECISIONS_SQL}"
            .replace("$auto", repr(float(auto_link_threshold)))
            .replace("$margin", repr(float(margin_weight)))
            .replace("$review", repr(float(review_threshold)))
        )
        work.register("clerical_arrow", clerical_decisions)
        work.execute("create table clerical as select * from clerical_arrow")
        links = work.sql(_LINKS_SQL).to_arrow_table()
        evidence = _evidence(work)
        review_candidates = work.sql(_REVIEW_CANDIDATES_SQL).to_arrow_table()
        prediction_count = work.execute("select count(*) from predictions").fetchall()[0][0]
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
                       prediction_count, evidence, review_candidates)


def _evidence(work: duckdb.DuckDBPyConnection) -> pa.Table:
    """Per-comparison match weights (Splink's mw_ columns, log2 Bayes factors) of each best candidate."""
    weight_columns = [name for (name,) in work.execute(
        "select column_name from information_schema.columns where table_name = 'predictions' "
        "and starts_with(column_name, 'mw_')"
    ).fetchall()]
    if not weight_columns:
        return pa.table({})
    unpivot = " union all ".join(
        f"select unit_code, source_file, source_row, '{c[3:]}' as comparison, {c} as weight from best"
        for c in weight_columns
    )
    return work.sql(f"""
        with best as (
            select p.* exclude (record_id, registry_id), r.unit_code, r.source_file, r.source_row from predictions p
            join splink_decisions d on d.record_id = p.record_id and d.registry_id = p.registry_id
            join records r on r.unique_id = d.record_id
        )
        {unpivot}
    """).to_arrow_table()


def _replace_unit_rows(
    warehouse: duckdb.DuckDBPyConnection, table: str, units: list[str], rows: pa.Table, load_id: str, version: str
) -> None:
    warehouse.register("incoming_links", rows)
    try:
        warehouse.execute("BEGIN TRANSACTION")
        warehouse.execute(f"DELETE FROM {table} WHERE unit_code IN (SELECT unnest(?))", [units])
        warehouse.execute(
            f"INSERT INTO {table} BY NAME SELECT *, ? AS load_id, ? AS linked_at, ? AS model_version "
            "FROM incoming_links",
            [load_id, datetime.now(), version],
        )
        warehouse.execute("COMMIT")
    except Exception:
        warehouse.execute("ROLLBACK")
        raise
    finally:
        warehouse.unregister("incoming_links")
