{{ config(materialized='view', alias='change_timeliness') }}
-- Decree 27/2026/NĐ-CP: an employing agency brings a change into the national database within 3 working
-- days. One row per record of a unit's current extract that is new, or changed against the unit's previous
-- published snapshot in position, rank, salary step, coefficient or status; with when it was published and
-- how many working days after the extract date (dim_working_days). A view: always as of the latest decision.
with current_records as (
    select unit_code, ma_ho_so, source_file, source_row, file_sha256, extract_date,
        chuc_vu, ma_ngach, bac_luong, he_so_luong, trang_thai
    from {{ ref('fct_civil_servant_records') }}
    where ma_ho_so is not null
),

current_extracts as (
    select distinct unit_code, extract_date from current_records
),

history as (
    select * from {{ source('published', 'record_history') }}
),

-- Each record's last published version from an extract older than the unit's current one.
previous as (
    select history.unit_code, history.ma_ho_so, history.change, history.chuc_vu, history.ma_ngach,
        history.bac_luong, history.he_so_luong, history.trang_thai
    from history
    inner join current_extracts
        on current_extracts.unit_code = history.unit_code and history.extract_date < current_extracts.extract_date
    qualify row_number() over (partition by history.unit_code, history.ma_ho_so order by history.recorded_at desc) = 1
),

changes as (
    select
        current_records.*,
        case
            when previous.ma_ho_so is null or previous.change = 'removed' then 'new_record'
            when current_records.chuc_vu is distinct from previous.chuc_vu then 'position'
            when current_records.ma_ngach is distinct from previous.ma_ngach then 'rank'
            when current_records.bac_luong is distinct from previous.bac_luong then 'salary_step'
            when current_records.he_so_luong is distinct from previous.he_so_luong then 'coefficient'
            when current_records.trang_thai is distinct from previous.trang_thai then 'status'
        end as change_kind
    from current_records
    left join previous using (unit_code, ma_ho_so)
),

-- When this extract's version of a record was first published.
publications as (
    select unit_code, ma_ho_so, file_sha256, min(published_at) as published_at
    from history
    where change <> 'removed'
    group by all
),

timed as (
    select
        changes.unit_code,
        changes.ma_ho_so,
        changes.source_file,
        changes.source_row,
        changes.extract_date,
        changes.change_kind,
        publications.published_at,
        published_day.working_day_number - extract_day.working_day_number as working_days_to_publish,
        today.working_day_number - extract_day.working_day_number as working_days_since_extract
    from changes
    left join publications using (unit_code, ma_ho_so, file_sha256)
    left join {{ ref('dim_working_days') }} as extract_day on extract_day.day = changes.extract_date
    left join {{ ref('dim_working_days') }} as published_day
        on published_day.day = cast(publications.published_at as date)
    left join {{ ref('dim_working_days') }} as today on today.day = {{ as_of_date() }}
    where changes.change_kind is not null
)

select
    *,
    case
        when published_at is not null and working_days_to_publish <= {{ var('change_deadline_working_days') }}
            then 'on_time'
        when published_at is not null then 'late'
        when working_days_since_extract <= {{ var('change_deadline_working_days') }} then 'within_deadline'
        else 'overdue'
    end as timeliness
from timed
