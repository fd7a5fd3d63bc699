{{ per_snapshot_config() }}
-- Registry persons prepared for linkage: the same match key as the extracts. Rebuilt per registry snapshot.
select
    so_dinh_danh,
    cmnd_cu,
    -- The same spelling convention as the extracts, so accented names compare like with like.
    {{ modern_tone_placement(clean_text('ho_va_ten')) }} as ho_va_ten,
    {{ match_key('ho_va_ten') }} as name_key,
    ngay_sinh,
    case gioi_tinh when 'Nam' then 'nam' when 'Nữ' then 'nu' end as gioi_tinh,
    ma_tinh_khai_sinh,
    ma_tinh_thuong_tru,
    ma_xa_thuong_tru,
    dan_toc,
    trang_thai,
    ngay_mat,
    ngay_cap_nhat,
    registry_snapshot_id
from {{ ref('stg_raw__registry') }}
where {{ new_snapshot_filter() }}
