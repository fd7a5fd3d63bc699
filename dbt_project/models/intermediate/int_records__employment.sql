{{ per_unit_config() }}
-- Employment (master data owned by the unit): codes mapped to catalogues, rank and pay checked.
with source_rows as (
    select
        unit_code, source_file, source_row, dan_toc_text, loai_text, trang_thai_text, ma_ngach, bac_luong,
        he_so_luong, ngay_tuyen_dung_text, ngay_cap_nhat_text
    from {{ ref('stg_raw__extracts') }}
    where {{ run_units_filter() }}
),

coded as (
    select
        *,
        case replace({{ match_key('loai_text') }}, ' ', '_')
            when 'can_bo' then 'can_bo'
            when 'cong_chuc' then 'cong_chuc'
            when 'vien_chuc' then 'vien_chuc'
        end as loai,
        case replace({{ match_key('trang_thai_text') }}, ' ', '_')
            when 'dang_cong_tac' then 'dang_cong_tac'
            when 'nghi_huu' then 'nghi_huu'
            when 'thoi_viec' then 'thoi_viec'
            when 'chuyen_cong_tac' then 'chuyen_cong_tac'
            when 'tu_tran' then 'tu_tran'
        end as trang_thai,
        {{ parse_vn_date('ngay_tuyen_dung_text') }} as ngay_tuyen_dung,
        {{ parse_vn_date('ngay_cap_nhat_text') }} as ngay_cap_nhat,
        upper(trim(ma_ngach)) as ma_ngach_clean
    from source_rows
)

select
    coded.unit_code,
    coded.source_file,
    coded.source_row,
    coded.loai,
    coded.trang_thai,
    coded.ngay_tuyen_dung,
    coded.ngay_cap_nhat,
    coalesce(ethnic_by_code.code, ethnic_by_name.code) as dan_toc,
    coded.dan_toc_text is not null and coalesce(ethnic_by_code.code, ethnic_by_name.code) is null
        as dan_toc_unknown,
    coded.ma_ngach_clean as ma_ngach,
    regexp_full_match(coded.ma_ngach_clean, '\d{2}\.\d{3}|V\.\d{2}\.\d{2}\.\d{2}') as rank_code_well_formed,
    ranks.rank_code is not null as rank_in_catalogue,
    ranks.category as rank_category,
    ranks.pay_group,
    coded.bac_luong,
    coded.he_so_luong,
    pay.coefficient is not null as coefficient_on_pay_scale
from coded
left join {{ ref('ref_ethnic_groups') }} as ethnic_by_code
    on regexp_full_match(coded.dan_toc_text, '\d{1,2}')
    and lpad(coded.dan_toc_text, 2, '0') = ethnic_by_code.code
left join {{ ref('ref_ethnic_groups') }} as ethnic_by_name
    on {{ match_key('coded.dan_toc_text') }} = {{ match_key('ethnic_by_name.name') }}
left join {{ ref('ref_ranks') }} as ranks
    on coded.ma_ngach_clean = ranks.rank_code
left join {{ ref('ref_pay_scale') }} as pay
    on ranks.pay_group = pay.pay_group
    and coded.he_so_luong = pay.coefficient
