"""Linking one batch of units: prepare inputs, score candidate pairs, decide, and explain the status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.link.model import load_model, save_model, train_model

MODEL_COLUMNS = ("unique_id", "name_key", "given_key", "ngay_sinh", "birth_year", "gioi_tinh", "so_dinh_danh", "cmnd")

# Records and registry persons in the shape the Splink model compares.
_RECORD_INPUT_SQL = """
select
    source_file || '#' || source_row as unique_id,
    unit_code, source_file, source_row, ma_ho_so,
    name_key,
    split_part(name_key, ' ', -1) as given_key,
    cast(ngay_sinh as varchar) as ngay_sinh,
    year(ngay_sinh) as birth_year,
    gioi_tinh,
    case when id_kind = 'cccd' then so_dinh_danh end as so_dinh_danh,
    case when id_kind = 'cmnd' then so_dinh_danh end as cmnd,
    so_dinh_danh as id_sent
from marts.fct_civil_servant_records
where unit_code in (select unnest(?))
"""

_REGISTRY_INPUT_SQL = """
select
    so_dinh_danh as unique_id,
    name_key,
    split_part(name_key, ' ', -1) as given_key,
    cast(ngay_sinh as varchar) as ngay_sinh,
    year(ngay_sinh) as birth_year,
    gioi_tinh,
    so_dinh_danh,
    cmnd_cu as cmnd
from marts.dim_registry_persons
"""

# Best candidate per record; a second candidate close behind makes the decision a review.
_DECISION_SQL = """
with ranked as (
    select
        unique_id_l as record_id, unique_id_r as registry_id, match_probability, match_weight,
        row_number() over (partition by unique_id_l order by match_weight desc, unique_id_r) as rank,
        lead(match_weight) over (partition by unique_id_l order by match_weight desc, unique_id_r)
            as runner_up_weight
    from predictions
    -- Splink puts the first registered input on the left: records, then registry.
),
best as (select * from ranked where rank = 1)
select
    r.unit_code, r.source_file, r.source_row, r.ma_ho_so,
    case when b.match_probability >= $review then b.registry_id end as so_dinh_danh,
    coalesce(b.match_probability, 0.0) as match_probability,
    b.match_weight,
    case
        when b.match_probability >= $auto and coalesce(b.match_weight - b.runner_up_weight, 99) >= $margin
            then 'auto_link'
        when b.match_probability >= $review then 'review'
        else 'no_link'
    end as decision,
    case
        when b.match_probability is null or b.match_probability < $review then 'not_found'
        when r.id_sent is not null and r.id_sent <> b.registry_id
            and r.id_sent is distinct from reg.cmnd then 'id_wrong'
        when r.name_key is distinct from reg.name_key then 'name_differs'
        when r.ngay_sinh is distinct from reg.ngay_sinh then 'dob_differs'
        else 'matched'
    end as match_status
from records r
left join best b on b.record_id = r.unique_id
left join registry reg on reg.unique_id = b.registry_id
"""


@dataclass
class LinkOutcome:
    records: int
    decisions: dict[str, int]
    statuses: dict[str, int]
    model_trained: bool


def link_units(
    warehouse: duckdb.DuckDBPyConnection, units: list[str], model_path: Path, load_id: str,
    auto_link_threshold: float, review_threshold: float, margin_weight: float = 2.0,
) -> LinkOutcome:
    """Link the units' conformed records to the registry and replace their rows in link.record_links."""
    work = duckdb.connect()  # Splink's scratch tables stay out of the warehouse.
    try:
        work.register("records_arrow", warehouse.sql(_RECORD_INPUT_SQL, params=[units]).to_arrow_table())
        work.execute("create table records as select * from records_arrow")
        # Splink compares two tables of identical columns: the model's view of the records.
        work.execute(f"create table records_for_model as select {', '.join(MODEL_COLUMNS)} from records")
        work.register("registry_arrow", warehouse.sql(_REGISTRY_INPUT_SQL).to_arrow_table())
        work.execute("create table registry as select * from registry_arrow")
        trained = not model_path.exists()
        if trained:
            linker = train_model(work, "records_for_model", "registry")
            save_model(linker, model_path)
        else:
            linker = load_model(work, "records_for_model", "registry", model_path)
        predictions = linker.inference.predict(threshold_match_probability=0.01)
        work.execute(f"create table predictions as select * from {predictions.physical_name}")
        decided = work.sql(
            _DECISION_SQL,
            params={"review": review_threshold, "auto": auto_link_threshold, "margin": margin_weight},
        ).to_arrow_table()
    finally:
        work.close()
    _replace_links(warehouse, units, decided, load_id)
    decisions = dict(warehouse.execute(
        "select decision, count(*) from link.record_links where unit_code in (select unnest(?)) group by 1", [units]
    ).fetchall())
    statuses = dict(warehouse.execute(
        "select match_status, count(*) from link.record_links where unit_code in (select unnest(?)) group by 1",
        [units],
    ).fetchall())
    return LinkOutcome(decided.num_rows, decisions, statuses, trained)


def _replace_links(warehouse: duckdb.DuckDBPyConnection, units: list[str], decided, load_id: str) -> None:
    warehouse.register("decided_links", decided)
    try:
        warehouse.execute("BEGIN TRANSACTION")
        warehouse.execute("DELETE FROM link.record_links WHERE unit_code IN (SELECT unnest(?))", [units])
        warehouse.execute(
            "INSERT INTO link.record_links BY NAME SELECT *, ? AS load_id, ? AS linked_at FROM decided_links",
            [load_id, datetime.now()],
        )
        warehouse.execute("COMMIT")
    except Exception:
        warehouse.execute("ROLLBACK")
        raise
    finally:
        warehouse.unregister("decided_links")
