{{ config(materialized='view', alias='gate_unit_batch') }}
-- The batch each unit's criterion suites validate (orchestration/quality/gates.py): one row per record with
-- only the columns the suites read. `flagged_<criterion>` says whether the record carries any record rule of
-- that criterion, warning or blocking: input quality is what the unit sent, whether or not the link layer
-- repairs it. A view: it reads the links of the run that just linked.
with flags as (
    select
        unit_code,
        source_file,
        source_row,
        bool_or(criterion = 'correct') as flagged_correct,
        bool_or(criterion = 'sufficient') as flagged_sufficient,
        bool_or(criterion = 'clean') as flagged_clean,
        bool_or(criterion = 'living') as flagged_living
    from {{ ref('fct_record_flags') }}
    group by all
)

select
    records.unit_code,
    records.ma_ho_so,
    records.ho_va_ten,
    records.ngay_sinh,
    records.gioi_tinh,
    records.so_dinh_danh,
    records.loai,
    records.ma_ngach,
    links.decision,
    date_diff('day', records.extract_date, {{ as_of_date() }}) as extract_age_days,
    (registry.trang_thai = 'da_mat' and records.trang_thai = 'dang_cong_tac') as deceased_but_active,
    coalesce(flags.flagged_correct, false) as flagged_correct,
    coalesce(flags.flagged_sufficient, false) as flagged_sufficient,
    coalesce(flags.flagged_clean, false) as flagged_clean,
    coalesce(flags.flagged_living, false) as flagged_living
from {{ ref('fct_civil_servant_records') }} as records
left join {{ source('link', 'record_links') }} as links
    on links.source_file = records.source_file and links.source_row = records.source_row
left join {{ ref('dim_registry_persons') }} as registry on registry.so_dinh_danh = links.so_dinh_danh
left join flags on flags.unit_code = records.unit_code and flags.source_file = records.source_file
    and flags.source_row = records.source_row
