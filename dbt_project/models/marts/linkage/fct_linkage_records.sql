{{ per_unit_config() }}
-- Each conformed record as the linkage model sees it. features_hash identifies the compared values: a record
-- whose hash, model version and registry snapshot were already scored is not scored again.
with features as (
    select
        unit_code,
        source_file,
        source_row,
        source_file || '#' || source_row as unique_id,
        ma_ho_so,
        so_dinh_danh as id_sent,
        case when id_kind = 'cccd' then so_dinh_danh end as so_dinh_danh,
        case when id_kind = 'cmnd' then so_dinh_danh end as cmnd,
        {{ linkage_name_features('ho_va_ten') }},
        coalesce(ngay_sinh_precision = 'year' or ngay_sinh_placeholder, false) as dob_imprecise,
        gioi_tinh,
        case when id_kind = 'cccd' then id_prefix end as birth_province,
        ma_xa_thuong_tru,
        ma_tinh_thuong_tru
    from {{ ref('fct_civil_servant_records') }}
    where {{ run_units_filter() }}
)

select
    *,
    md5(concat_ws('|', coalesce(so_dinh_danh, '∅'), coalesce(cmnd, '∅'), coalesce(name_accented, '∅'),
        coalesce(name_key, '∅'), coalesce(ngay_sinh, '∅'), cast(dob_imprecise as varchar), coalesce(gioi_tinh, '∅'),
        coalesce(birth_province, '∅'), coalesce(ma_xa_thuong_tru, '∅'), coalesce(ma_tinh_thuong_tru, '∅')
    )) as features_hash
from features
