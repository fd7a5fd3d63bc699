{{ per_snapshot_config() }}
-- Registry persons as the linkage model sees them, built once per registry snapshot.
select
    so_dinh_danh as unique_id,
    so_dinh_danh,
    cmnd_cu as cmnd,
    {{ linkage_name_features('ho_va_ten') }},
    false as dob_imprecise,
    gioi_tinh,
    ma_tinh_khai_sinh as birth_province,
    ma_xa_thuong_tru,
    ma_tinh_thuong_tru,
    registry_snapshot_id
from {{ ref('dim_registry_persons') }}
where {{ new_snapshot_filter() }}
