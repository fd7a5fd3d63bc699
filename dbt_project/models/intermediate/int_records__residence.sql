{{ per_unit_config() }}
-- Permanent residence text ("ward, [district,] province", old or new names) resolved to a 2025 ward.
-- Old wards that were split keep every candidate; nothing is guessed and no geocoder is called.
with source_rows as (
    select unit_code, source_file, source_row, noi_thuong_tru
    from {{ ref('stg_raw__extracts') }}
    where {{ run_units_filter() }}
),

parts as (
    select
        unit_code,
        source_file,
        source_row,
        noi_thuong_tru,
        list_transform(string_split(noi_thuong_tru, ','), lambda p: trim(p)) as words
    from source_rows
),

keyed as (
    select
        unit_code,
        source_file,
        source_row,
        noi_thuong_tru,
        len(words) as part_count,
        {{ admin_key('words[1]') }} as ward_key,
        {{ admin_name('words[1]') }} as ward_name,
        case when len(words) >= 3 then {{ admin_key('words[-2]') }} end as district_key,
        case when len(words) >= 2 then {{ admin_key('words[-1]') }} end as province_key
    from parts
    where noi_thuong_tru is not null
),

new_wards as (
    select
        w.ward_code, w.province_code, {{ admin_key('w.name') }} as ward_key, {{ admin_name('w.name') }} as ward_name,
        {{ admin_key('p.name') }} as province_key
    from {{ ref('ref_wards_2025') }} as w
    join {{ ref('ref_provinces_2025') }} as p using (province_code)
),

old_wards as (
    select distinct
        new_ward_code,
        new_province_code,
        {{ admin_key('old_ward_name') }} as ward_key,
        {{ admin_name('old_ward_name') }} as ward_name,
        {{ admin_key('old_district_name') }} as district_key,
        {{ admin_key('old_province_name') }} as province_key
    from {{ ref('ref_ward_conversion_2025') }}
),

-- A 2025 address has no district: ward and province only.
new_matches as (
    select
        k.source_file, k.source_row,
        {{ prefer_exact_name('n.ward_code', 'k.ward_name = n.ward_name') }} as codes,
        any_value(n.province_code) as province_code
    from keyed as k
    join new_wards as n on k.ward_key = n.ward_key and k.province_key = n.province_key
    where k.part_count = 2
    group by all
),

old_matches as (
    select
        k.source_file, k.source_row,
        {{ prefer_exact_name('o.new_ward_code', 'k.ward_name = o.ward_name') }} as codes,
        list(distinct o.new_province_code) as province_codes
    from keyed as k
    join old_wards as o
        on k.ward_key = o.ward_key and k.province_key = o.province_key
        and (k.district_key is null or k.district_key = o.district_key)
    group by all
)

select
    keyed.unit_code,
    keyed.source_file,
    keyed.source_row,
    case
        when len(new_matches.codes) = 1 then 'new'
        when len(old_matches.codes) = 1 then 'old'
        when len(old_matches.codes) > 1 then 'old_split'
        else 'unresolved'
    end as residence_form,
    case
        when len(new_matches.codes) = 1 then new_matches.codes[1]
        when len(old_matches.codes) = 1 then old_matches.codes[1]
    end as ma_xa_thuong_tru,
    case
        when len(new_matches.codes) = 1 then new_matches.province_code
        when len(old_matches.province_codes) = 1 then old_matches.province_codes[1]
    end as ma_tinh_thuong_tru,
    case when coalesce(len(new_matches.codes), 0) <> 1 and len(old_matches.codes) > 1 then old_matches.codes end
        as ma_xa_thuong_tru_candidates
from keyed
left join new_matches using (source_file, source_row)
left join old_matches using (source_file, source_row)
