{{ config(alias='record_flags') }}
-- Record-level rules of the four criteria: one row per (record, rule) that fires.
-- Blocking rules keep a record out of publication; warnings go to the unit's feedback only.
-- `detail` explains the rule without repeating personal values.
with records as (
    select * from {{ ref('fct_civil_servant_records') }}
),

links as (
    select * from {{ source('link', 'record_links') }}
),

linked as (
    select
        records.*,
        links.decision,
        links.match_status,
        registry.trang_thai as registry_trang_thai
    from records
    left join links
        on records.source_file = links.source_file and records.source_row = links.source_row
    left join {{ ref('dim_registry_persons') }} as registry
        on links.so_dinh_danh = registry.so_dinh_danh
),

record_id_counts as (
    select unit_code, ma_ho_so, count(*) as copies
    from records
    where ma_ho_so is not null
    group by all
),

required_fields as (
    {% for field in ['ma_ho_so', 'ho_va_ten', 'ngay_sinh', 'gioi_tinh', 'loai', 'co_quan', 'ma_ngach', 'trang_thai'] -%}
    {%- set sent = field if field in ['ma_ho_so', 'co_quan', 'ma_ngach'] else field ~ '_sent' %}
    select unit_code, source_file, source_row, ma_ho_so, '{{ field }}' as field
    from records where {{ sent }} is null
    {{ "union all" if not loop.last }}
    {% endfor %}
),

flags as (
    -- correct (đúng)
    select unit_code, source_file, source_row, ma_ho_so, 'correct' as criterion, 'id_invalid' as rule,
        'blocking' as severity, 'The personal ID is neither 12 digits nor a 9-digit old ID.' as detail
    from records where id_kind = 'invalid'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'id_old_cmnd', 'warning',
        'A 9-digit old ID (CMND) was sent instead of the 12-digit personal ID.'
    from records where id_kind = 'cmnd'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'id_structure', 'warning',
        'The 12-digit ID does not agree with its province prefix, sex/century digit or birth year.'
    from records
    where id_kind = 'cccd'
        and (not id_prefix_valid or not coalesce(id_century_sex_matches, true)
             or not coalesce(id_birth_year_matches, true))
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'dob_invalid', 'blocking',
        'The date of birth is not a date in a known format.'
    from records where ngay_sinh_precision = 'invalid'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'sex_invalid', 'blocking',
        'Sex is not Nam or Nữ.'
    from records where gioi_tinh is null and gioi_tinh_sent is not null
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'rank_malformed', 'blocking',
        'The rank code is not of the form NN.NNN or V.NN.NN.NN.'
    from records where ma_ngach is not null and not rank_code_well_formed
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'rank_unknown', 'warning',
        'The rank code is well formed but not in the rank catalogue.'
    from records where rank_code_well_formed and not rank_in_catalogue
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'coefficient_off_scale', 'warning',
        'The salary coefficient is not a step of the pay group of the rank.'
    from records where rank_in_catalogue and he_so_luong is not null and not coefficient_on_pay_scale
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'not_in_registry', 'blocking',
        'No person in the population registry matches this record.'
    from linked where decision = 'no_link'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'link_in_review', 'blocking',
        'The registry match is uncertain and waits for clerical review.'
    from linked where decision = 'review'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'id_wrong', 'warning',
        'The person was found in the registry, but the ID sent belongs to someone else or to no one.'
    from linked where match_status = 'id_wrong'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'dob_placeholder', 'warning',
        'The date of birth is 01/01, usually a placeholder for an unknown day.'
    from records where ngay_sinh_placeholder
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'dob_implausible', 'warning',
        'The date of birth is before 1940 or in the future.'
    from records where ngay_sinh < date '1940-01-01' or ngay_sinh > extract_date
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'recruited_under_18', 'warning',
        'The recruitment date is before the person turned 18.'
    from records where ngay_tuyen_dung < ngay_sinh + interval 18 year
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'date_in_future', 'warning',
        'The recruitment or update date is after the extract date.'
    from records where ngay_tuyen_dung > extract_date or ngay_cap_nhat > extract_date
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'category_unknown', 'blocking',
        'The category is not cán bộ, công chức or viên chức.'
    from records where loai is null and loai_sent is not null
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'status_unknown', 'blocking',
        'The employment status is not one of the five statuses of the template.'
    from records where trang_thai is null and trang_thai_sent is not null
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'ethnic_group_unknown', 'warning',
        'The ethnic group is neither a name nor a code of the list of 54 groups.'
    from records where dan_toc_unknown
    union all
    -- sufficient (đủ)
    select unit_code, source_file, source_row, ma_ho_so, 'sufficient', 'required_missing', 'blocking',
        'Required field ' || field || ' is blank.'
    from required_fields
    union all
    -- clean (sạch)
    select records.unit_code, source_file, source_row, records.ma_ho_so, 'clean', 'duplicate_record_id', 'blocking',
        'The record id appears ' || copies || ' times in this extract.'
    from records
    join record_id_counts using (unit_code, ma_ho_so)
    where copies > 1
    union all
    -- living (sống)
    select unit_code, source_file, source_row, ma_ho_so, 'living', 'deceased_but_active', 'blocking',
        'The registry records this person as deceased, but the status is Đang công tác.'
    from linked where registry_trang_thai = 'da_mat' and trang_thai = 'dang_cong_tac'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'living', 'past_retirement_age', 'warning',
        'The person is past the statutory retirement age and still Đang công tác.'
    from records
    where trang_thai = 'dang_cong_tac' and ngay_sinh is not null
        and date_diff('month', ngay_sinh, extract_date) > {{ retirement_age_months('gioi_tinh', 'year(extract_date)') }}
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'living', 'address_pre_2025', 'warning',
        'The permanent residence uses pre-2025 administrative units; please update it to the 2025 ward.'
    from records where residence_form in ('old', 'old_split')
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'living', 'address_unresolved', 'warning',
        'The permanent residence does not name a known ward and province.'
    from records where residence_form = 'unresolved'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'living', 'record_not_updated', 'warning',
        'The record has not been updated for more than {{ var("stale_record_months") }} months.'
    from records
    where ngay_cap_nhat < extract_date - interval {{ var("stale_record_months") }} month
)

select * from flags
