{{ config(alias='record_flags') }}
-- Record-level rules of the four criteria: one row per (record, rule) that fires.
-- Blocking rules keep a record out of publication; warnings go to the unit's feedback only.
-- `detail` explains the rule without repeating personal values. Every rule is documented, with its
-- severity and what it checks, in _quality.yml (meta.rules) and docs/quality-rules.md.
{%- set unit_text_columns = ['ho_va_ten', 'co_quan', 'chuc_vu', 'trinh_do_chuyen_mon', 'que_quan', 'noi_thuong_tru'] %}
with records as (
    select * from {{ ref('fct_civil_servant_records') }}
),

links as (
    select * from {{ source('link', 'record_links') }}
),

-- Each record with its link and, when the link is automatic, the registry person it describes. A
-- candidate waiting for review is not yet the person: no rule judges a record by it.
linked as (
    select
        records.*,
        links.decision,
        links.match_status,
        registry.so_dinh_danh as person_id,
        registry.ho_va_ten as registry_ho_va_ten,
        registry.ngay_sinh as registry_ngay_sinh,
        registry.gioi_tinh as registry_gioi_tinh,
        registry.trang_thai as registry_trang_thai,
        -- Identity is reference data: where the registry knows the person, its values decide the
        -- date-based rules, so a mistyped birth date on the record does not raise a second finding.
        coalesce(registry.ngay_sinh, records.ngay_sinh) as birth_date,
        coalesce(registry.gioi_tinh, records.gioi_tinh) as sex
    from records
    left join links
        on records.source_file = links.source_file and records.source_row = links.source_row
    left join {{ ref('dim_registry_persons') }} as registry
        on links.decision = 'auto_link' and links.so_dinh_danh = registry.so_dinh_danh
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

-- Records of registry persons, to find the same person on several records.
person_records as (
    select
        unit_code, source_file, source_row, ma_ho_so, person_id, trang_thai,
        ho_va_ten, ngay_sinh, ngay_sinh_precision, gioi_tinh
    from linked
    where person_id is not null
),

-- The same person on another record of the same unit's extract (two record ids for one person).
same_unit_duplicates as (
    select
        this.source_file, this.source_row,
        count(*) as other_records,
        string_agg(distinct other.ma_ho_so, ', ' order by other.ma_ho_so) as other_record_ids
    from person_records as this
    join person_records as other
        on this.person_id = other.person_id and this.unit_code = other.unit_code
        and not (this.source_file = other.source_file and this.source_row = other.source_row)
    group by all
),

-- The same person on the roster of another unit: a transfer (one side says Chuyển công tác) or a
-- concurrent post. Both sides are flagged and each names the other unit, never the person.
other_unit_records as (
    select
        this.source_file, this.source_row,
        string_agg(distinct other.unit_code, ', ' order by other.unit_code) as other_units,
        bool_or('chuyen_cong_tac' in (this.trang_thai, other.trang_thai)) as transfer,
        -- Identity as each unit conformed it: a disagreement means one of the units holds a wrong value.
        string_agg(distinct other.unit_code, ', ' order by other.unit_code) filter (
            where this.ho_va_ten is distinct from other.ho_va_ten
                or this.ngay_sinh is distinct from other.ngay_sinh
                or this.ngay_sinh_precision is distinct from other.ngay_sinh_precision
                or this.gioi_tinh is distinct from other.gioi_tinh
        ) as conflicting_units,
        concat_ws(', ',
            case when bool_or(this.ho_va_ten is distinct from other.ho_va_ten) then 'name' end,
            case when bool_or(this.ngay_sinh is distinct from other.ngay_sinh
                or this.ngay_sinh_precision is distinct from other.ngay_sinh_precision) then 'date of birth' end,
            case when bool_or(this.gioi_tinh is distinct from other.gioi_tinh) then 'sex' end
        ) as conflicting_fields
    from person_records as this
    join person_records as other
        on this.person_id = other.person_id and this.unit_code <> other.unit_code
    group by all
),

-- A hometown on 2025 units names a 2025 ward and its province ("ward, province"), as residences do.
wards_2025 as (
    select
        ward.name || ', ' || province.name as written,
        {{ admin_key('ward.name') }} as ward_key,
        {{ admin_key('province.name') }} as province_key
    from {{ ref('ref_wards_2025') }} as ward
    join {{ ref('ref_provinces_2025') }} as province using (province_code)
),

-- Most hometowns are written exactly as the catalogue names them; only the others are compared by key
-- (without type words, case and diacritics), because computing a key costs a text normalisation per row.
hometowns_not_written_as_catalogued as (
    select
        source_file, source_row,
        list_transform(string_split(que_quan, ','), lambda part: trim(part)) as parts
    from records
    where que_quan is not null
        and not exists (select 1 from wards_2025 where wards_2025.written = records.que_quan)
),

hometowns_not_2025 as (
    select source_file, source_row
    from hometowns_not_written_as_catalogued as hometowns
    where not exists (
        select 1 from wards_2025
        where len(hometowns.parts) = 2
            and wards_2025.ward_key = {{ admin_key('hometowns.parts[1]') }}
            and wards_2025.province_key = {{ admin_key('hometowns.parts[2]') }}
    )
),

-- Unit-owned text that is still not normalised after conform, by column.
unnormalised_text as (
    select
        unit_code, source_file, source_row, ma_ho_so,
        concat_ws(', '
            {%- for column in unit_text_columns %},
            case when {{ text_not_normalised(column) }} then '{{ column }}' end
            {%- endfor %}
        ) as columns
    from records
    where {% for column in unit_text_columns %}{{ text_not_normalised(column) }}{{ " or " if not loop.last }}{% endfor %}
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
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'name_differs_from_registry', 'warning',
        'The name differs from the population registry''s (spelling, diacritics or a missing word); '
        || 'the registry''s name is published.'
    from linked where ho_va_ten <> registry_ho_va_ten
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'dob_differs_from_registry', 'warning',
        'The date of birth differs from the population registry''s (day and month swapped, or another date); '
        || 'the registry''s date is published.'
    from linked
    where case
        when ngay_sinh_precision = 'day' and not ngay_sinh_placeholder then ngay_sinh <> registry_ngay_sinh
        -- A year alone or a 01/01 placeholder has its own rule; here only its year is compared.
        else year(ngay_sinh) <> year(registry_ngay_sinh)
    end
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'sex_differs_from_registry', 'warning',
        'Sex differs from the population registry''s; the registry''s value is published.'
    from linked where gioi_tinh <> registry_gioi_tinh
    union all
    -- A real 1 January birthday is no placeholder: when the registry holds the same date, no finding.
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'dob_placeholder', 'warning',
        'The date of birth is 01/01, usually a placeholder for an unknown day.'
    from linked where ngay_sinh_placeholder and ngay_sinh is distinct from registry_ngay_sinh
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'dob_year_only', 'warning',
        'Only the year of birth was sent; the full date of birth is required.'
    from records where ngay_sinh_precision = 'year'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'dob_implausible', 'warning',
        'The date of birth is before 1940 or in the future.'
    from records where ngay_sinh < date '1940-01-01' or ngay_sinh > extract_date
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'correct', 'recruited_under_18', 'warning',
        'The recruitment date is before the person turned 18.'
    from linked where ngay_tuyen_dung < birth_date + interval 18 year
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
    -- The template lets the ID be blank (the record can still be linked), but the national data set needs it.
    select unit_code, source_file, source_row, ma_ho_so, 'sufficient', 'id_missing', 'warning',
        'The personal ID is blank; please send the 12-digit personal ID.'
    from records where id_kind = 'blank'
    union all
    -- clean (sạch)
    select records.unit_code, source_file, source_row, records.ma_ho_so, 'clean', 'duplicate_record_id', 'blocking',
        'The record id appears ' || copies || ' times in this extract.'
    from records
    join record_id_counts using (unit_code, ma_ho_so)
    where copies > 1
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'clean', 'duplicate_person', 'warning',
        'The same person is also on ' || other_records || ' other record(s) of this extract (record id '
        || other_record_ids || ').'
    from linked
    join same_unit_duplicates using (source_file, source_row)
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'clean', 'person_in_two_units', 'warning',
        'The same person is also on the roster of ' || other_units
        || case when transfer
            then ': a transfer (Chuyển công tác); the unit the person left should close its record.'
            else ': a concurrent post; both units should record it as such.'
        end
    from linked
    join other_unit_records using (source_file, source_row)
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'clean', 'identity_conflict_across_units', 'warning',
        'The record of the same person in ' || conflicting_units || ' has another ' || conflicting_fields || '.'
    from linked
    join other_unit_records using (source_file, source_row)
    where conflicting_units is not null
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'clean', 'text_not_normalised', 'warning',
        'Text in ' || columns || ' is not Unicode NFC or holds legacy font (TCVN3/VNI) characters.'
    from unnormalised_text
    union all
    -- living (sống)
    select unit_code, source_file, source_row, ma_ho_so, 'living', 'deceased_but_active', 'blocking',
        'The registry records this person as deceased, but the status is Đang công tác.'
    from linked where registry_trang_thai = 'da_mat' and trang_thai = 'dang_cong_tac'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'living', 'past_retirement_age', 'warning',
        'The person is past the statutory retirement age and still Đang công tác.'
    from linked
    where trang_thai = 'dang_cong_tac' and birth_date is not null
        and date_diff('month', birth_date, extract_date) > {{ retirement_age_months('sex', 'year(extract_date)') }}
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'living', 'address_pre_2025', 'warning',
        'The permanent residence uses pre-2025 administrative units; please update it to the 2025 ward.'
    from records where residence_form in ('old', 'old_split')
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'living', 'address_unresolved', 'warning',
        'The permanent residence does not name a known ward and province.'
    from records where residence_form = 'unresolved'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'living', 'hometown_not_2025', 'warning',
        'The hometown does not name a 2025 ward and province; please write it with the 2025 units.'
    from records
    join hometowns_not_2025 using (source_file, source_row)
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'living', 'record_not_updated', 'warning',
        'The record has not been updated for more than {{ var("stale_record_months") }} months.'
    from records
    where ngay_cap_nhat < extract_date - interval {{ var("stale_record_months") }} month
)

select * from flags
