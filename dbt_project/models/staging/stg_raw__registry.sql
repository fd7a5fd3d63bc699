-- One model per source shape: the population registry snapshot. Renaming and casting only.
select
    cast(so_dinh_danh as varchar) as so_dinh_danh,
    cast(cmnd_cu as varchar) as cmnd_cu,
    ho_va_ten,
    cast(ngay_sinh as date) as ngay_sinh,
    gioi_tinh,
    cast(ma_tinh_khai_sinh as varchar) as ma_tinh_khai_sinh,
    cast(ma_tinh_thuong_tru as varchar) as ma_tinh_thuong_tru,
    cast(ma_xa_thuong_tru as varchar) as ma_xa_thuong_tru,
    cast(dan_toc as varchar) as dan_toc,
    trang_thai,
    cast(ngay_mat as date) as ngay_mat,
    cast(ngay_cap_nhat as date) as ngay_cap_nhat,
    registry_snapshot_id
from {{ source('raw', 'registry') }}
