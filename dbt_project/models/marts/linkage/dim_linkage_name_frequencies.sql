{{ per_snapshot_config() }}
-- How common each accented full name is in the whole registry (Splink's term frequency for the name
-- comparison). From the population, not from the records linked: a unit's links do not depend on which
-- other units share its run.
select
    name_accented,
    count(*) / sum(count(*)) over () as tf_name_accented,
    any_value(registry_snapshot_id) as registry_snapshot_id
from {{ ref('dim_linkage_registry') }}
where name_accented is not null and {{ new_snapshot_filter() }}
group by name_accented
