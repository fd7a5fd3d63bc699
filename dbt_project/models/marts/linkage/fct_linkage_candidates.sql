{{ per_unit_config() }}
-- Candidate pairs for the Splink model: each record the cascade left, with every registry person who agrees
-- with it on one of the model's blocking keys. Only these registry rows reach Splink's working tables, so
-- linkage never copies the registry whole; Splink forms exactly the same pairs from them.
with residual as (
    select records.*
    from {{ ref('fct_linkage_records') }} as records
    where {{ run_units_filter('records.unit_code') }}
        and records.unique_id not in (
            select record_id from {{ ref('fct_linkage_exact_matches') }}
            where {{ run_units_filter() }}
        )
),

registry as (
    select * from {{ ref('dim_linkage_registry') }}
),

pairs as (
    {% for keys in linkage_blocking_keys() %}
    select r.unit_code, r.unique_id as record_id, g.unique_id as registry_id
    from residual as r
    inner join registry as g
        on {% for key in keys %}r.{{ key }} = g.{{ key }}{{ " and " if not loop.last }}{% endfor %}
    {{ "union" if not loop.last }}
    {% endfor %}
)

select distinct unit_code, record_id, registry_id
from pairs
