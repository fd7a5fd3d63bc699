{{ config(materialized='view', alias='unit_change_timeliness') }}
-- Per unit, its current extract's changed records by timeliness, and the share published within the deadline
-- among those whose deadline has come (records still within it are not counted either way).
select
    unit_code,
    max(extract_date) as extract_date,
    count(*) as changed_records,
    count(*) filter (where timeliness = 'on_time') as published_on_time,
    count(*) filter (where timeliness = 'late') as published_late,
    count(*) filter (where timeliness = 'overdue') as overdue,
    count(*) filter (where timeliness = 'within_deadline') as within_deadline,
    count(*) filter (where timeliness = 'on_time')
        / nullif(count(*) filter (where timeliness <> 'within_deadline'), 0) as on_time_share
from {{ ref('fct_change_timeliness') }}
group by unit_code
