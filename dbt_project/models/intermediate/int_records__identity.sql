{{ per_unit_config() }}
-- Identity as the unit sent it, normalised: name, date of birth, sex and personal ID.
-- Every check is a column; nothing is silently replaced.
with source_rows as (
    select unit_code, source_file, source_row, ho_va_ten, ngay_sinh_text, gioi_tinh_text, so_dinh_danh_text
    from {{ ref('stg_raw__extracts') }}
    where {{ run_units_filter() }}
),

names as (
    select
        *,
        {{ clean_text('ho_va_ten') }} as name_clean
    from source_rows
),

cased as (
    select
        *,
        -- Names sent all upper- or all lower-case are re-cased; others keep their case (H'Nga, Êban).
        case
            when name_clean = upper(name_clean) or name_clean = lower(name_clean)
                then {{ proper_case('name_clean') }}
            else name_clean
        end as name_cased
    from names
),

typed as (
    select
        unit_code,
        source_file,
        source_row,
        {{ modern_tone_placement('name_cased') }} as ho_va_ten,
        {{ match_key('name_cased') }} as name_key,
        {{ modern_tone_placement('name_cased') }} is distinct from name_cased as name_tone_respelled,
        ho_va_ten <> nfc_normalize(ho_va_ten) as name_was_nfd,
        {{ parse_vn_date('ngay_sinh_text') }} as ngay_sinh,
        {{ vn_date_precision('ngay_sinh_text') }} as ngay_sinh_precision,
        {{ day_month_ambiguous('ngay_sinh_text') }} as ngay_sinh_day_month_ambiguous,
        {{ month_first_only('ngay_sinh_text') }} as ngay_sinh_month_first,
        case {{ match_key('gioi_tinh_text') }}
            when 'nam' then 'nam' when 'm' then 'nam' when 'male' then 'nam'
            when 'nu' then 'nu' when 'f' then 'nu' when 'female' then 'nu'
        end as gioi_tinh,
        nullif(regexp_replace(so_dinh_danh_text, '[\s.\-]', '', 'g'), '') as so_dinh_danh
    from cased
),

parts as (
    select
        *,
        string_split(ho_va_ten, ' ') as name_words,
        (ngay_sinh_precision = 'day' and day(ngay_sinh) = 1 and month(ngay_sinh) = 1) as ngay_sinh_placeholder,
        case
            when so_dinh_danh is null then 'blank'
            when regexp_full_match(so_dinh_danh, '\d{12}') then 'cccd'
            when regexp_full_match(so_dinh_danh, '\d{9}') then 'cmnd'
            else 'invalid'
        end as id_kind,
        -- Century/sex digit: 0/1 born 1900-1999 (male/female), 2/3 born 2000-2099.
        case
            when gioi_tinh = 'nam' then (year(ngay_sinh) // 100 - 19) * 2
            when gioi_tinh = 'nu' then (year(ngay_sinh) // 100 - 19) * 2 + 1
        end as expected_century_sex_digit
    from typed
)

select
    parts.* exclude (name_words, expected_century_sex_digit),
    name_words[1] as surname,
    case when len(name_words) > 2 then array_to_string(name_words[2:-2], ' ') end as middle_name,
    case when len(name_words) > 1 then name_words[-1] end as given_name,
    case when id_kind = 'cccd' then left(so_dinh_danh, 3) end as id_prefix,
    case when id_kind = 'cccd'
        then left(so_dinh_danh, 3) in (select id_prefix from {{ ref('ref_provinces_pre2025') }})
            or try_cast(left(so_dinh_danh, 3) as integer) between 101 and 295
    end as id_prefix_valid,
    case when id_kind = 'cccd' and expected_century_sex_digit is not null
        then cast(substr(so_dinh_danh, 4, 1) as integer) = expected_century_sex_digit
    end as id_century_sex_matches,
    case when id_kind = 'cccd' and ngay_sinh_precision in ('day', 'year')
        then substr(so_dinh_danh, 5, 2) = right(cast(year(ngay_sinh) as varchar), 2)
    end as id_birth_year_matches
from parts
