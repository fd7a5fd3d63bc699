{{ config(materialized='view', alias='unit_criterion_rates') }}
-- Input quality of each unit's current records, per criterion: the share of records with no flag of that
-- criterion (warnings included). An extract older than the living suite's bound says nothing of who works
-- there now: its living rate is 0, whatever its records look like.
with records as (
    select unit_code, source_file, source_row, extract_date from {{ ref('fct_civil_servant_records') }}
),

flagged as (
    select distinct source_file, source_row, criterion from {{ ref('fct_record_flags') }}
),

criteria as (
    select unnest(['correct', 'sufficient', 'clean', 'living']) as criterion
),

rates as (
    select
        records.unit_code,
        criteria.criterion,
        any_value(records.extract_date) as snapshot_date,
        count(*) as records,
        count(flagged.source_row) as flagged_records
    from records
    cross join criteria
    left join flagged
        on flagged.source_file = records.source_file and flagged.source_row = records.source_row
        and flagged.criterion = criteria.criterion
    group by records.unit_code, criteria.criterion
)

select
    snapshot_date,
    unit_code,
    criterion,
    case
        when criterion = 'living'
            and date_diff('day', snapshot_date, {{ as_of_date() }}) > {{ var('living_max_extract_age_days') }}
            then 0.0
        else 1 - flagged_records / records
    end as pass_rate,
    records,
    flagged_records
from rates
