-- Names, dates, IDs and codes normalised; nothing is "fixed" silently: each check is a column.
with source_rows as (
    select * from {{ ref('stg_raw__extracts') }}
),

id_prefixes as (
    select distinct id_prefix from {{ ref('ref_provinces_pre2025') }}
),

typed as (
    select
        *,
        {{ clean_text('ho_va_ten') }} as ho_va_ten_clean,
        {{ match_key('ho_va_ten') }} as name_key,
        {{ parse_vn_date('ngay_sinh_text') }} as ngay_sinh,
        {{ vn_date_precision('ngay_sinh_text') }} as ngay_sinh_precision,
        {{ parse_vn_date('ngay_tuyen_dung_text') }} as ngay_tuyen_dung,
        {{ parse_vn_date('ngay_cap_nhat_text') }} as ngay_cap_nhat,
        nullif(regexp_replace(so_dinh_danh_text, '[\s.\-]', '', 'g'), '') as so_dinh_danh,
        case {{ match_key('gioi_tinh_text') }}
            when 'nam' then 'nam' when 'm' then 'nam' when 'male' then 'nam'
            when 'nu' then 'nu' when 'f' then 'nu' when 'female' then 'nu'
        end as gioi_tinh_code,
        case replace({{ match_key('loai_text') }}, ' ', '_')
            when 'can_bo' then 'can_bo'
            when 'cong_chuc' then 'cong_chuc'
            when 'vien_chuc' then 'vien_chuc'
        end as loai_code,
        case replace({{ match_key('trang_thai_text') }}, ' ', '_')
            when 'dang_cong_tac' then 'dang_cong_tac'
            when 'nghi_huu' then 'nghi_huu'
            when 'thoi_viec' then 'thoi_viec'
            when 'chuyen_cong_tac' then 'chuyen_cong_tac'
            when 'tu_tran' then 'tu_tran'
        end as trang_thai_code
    from source_rows
),

classified as (
    select
        typed.*,
        {{ proper_case('ho_va_ten') }} as ho_va_ten_display,
        case
            when so_dinh_danh is null then 'blank'
            when regexp_full_match(so_dinh_danh, '\d{12}') then 'cccd'
            when regexp_full_match(so_dinh_danh, '\d{9}') then 'cmnd'
            else 'invalid'
        end as id_kind,
        left(so_dinh_danh, 3) as id_prefix,
        -- Century/sex digit: 0/1 born 1900-1999 (male/female), 2/3 born 2000-2099.
        case
            when gioi_tinh_code = 'nam' then (year(ngay_sinh) // 100 - 19) * 2
            when gioi_tinh_code = 'nu' then (year(ngay_sinh) // 100 - 19) * 2 + 1
        end as expected_century_sex_digit
    from typed
)

select
    classified.* exclude (id_prefix, expected_century_sex_digit),
    case when id_kind = 'cccd'
        then id_prefix in (select id_prefix from id_prefixes)
            or try_cast(id_prefix as integer) between 101 and 295
    end as id_prefix_valid,
    case when id_kind = 'cccd' and expected_century_sex_digit is not null
        then cast(substr(so_dinh_danh, 4, 1) as integer) = expected_century_sex_digit
    end as id_century_sex_matches,
    case when id_kind = 'cccd' and ngay_sinh is not null
        then substr(so_dinh_danh, 5, 2) = right(cast(year(ngay_sinh) as varchar), 2)
    end as id_birth_year_matches,
    coalesce(
        ethnic_by_code.code, ethnic_by_name.code
    ) as dan_toc_code,
    regexp_full_match(ma_ngach, '\d{2}\.\d{3}|V\.\d{2}\.\d{2}\.\d{2}') as rank_code_well_formed,
    ranks.rank_code is not null as rank_in_catalogue,
    ranks.pay_group,
    pay.coefficient is not null as coefficient_on_pay_scale
from classified
left join {{ ref('ref_ethnic_groups') }} as ethnic_by_code
    on lpad(classified.dan_toc_text, 2, '0') = ethnic_by_code.code
    and regexp_full_match(classified.dan_toc_text, '\d{1,2}')
left join {{ ref('ref_ethnic_groups') }} as ethnic_by_name
    on {{ match_key('classified.dan_toc_text') }} = {{ match_key('ethnic_by_name.name') }}
left join {{ ref('ref_ranks') }} as ranks
    on classified.ma_ngach = ranks.rank_code
left join {{ ref('ref_pay_scale') }} as pay
    on ranks.pay_group = pay.pay_group
    and classified.he_so_luong = cast(pay.coefficient as decimal(5, 2))
