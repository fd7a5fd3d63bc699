{{ per_unit_config() }}
-- The deterministic stages of the cascade, before any model: the 12-digit ID sent is a registry ID
-- (`exact_id`), or the 9-digit old ID sent is a registry person's old ID (`old_cmnd`), and in both the
-- name key and the date of birth agree. Every other record goes to the Splink model.
with records as (
    select * from {{ ref('fct_linkage_records') }}
    where {{ run_units_filter() }}
),

registry as (
    select * from {{ ref('dim_linkage_registry') }}
)

select r.unit_code, r.unique_id as record_id, g.unique_id as registry_id, 'exact_id' as stage
from records as r
inner join registry as g on r.so_dinh_danh = g.so_dinh_danh
where r.name_key = g.name_key and {{ linkage_dob_agrees('r', 'g') }}

union all

select r.unit_code, r.unique_id, g.unique_id, 'old_cmnd'
from records as r
inner join registry as g on r.cmnd = g.cmnd
where r.so_dinh_danh is null and r.name_key = g.name_key and {{ linkage_dob_agrees('r', 'g') }}
