{{ config(materialized='view', alias='candidates') }}
-- Every current record with what publication would do with it: accepted (its identity settled by an
-- automatic link to a registry person, and no blocking flag) or rejected, with its first blocking reason
-- and all of them in one sentence. Identity comes from the registry (reference data), employment from the
-- unit (master data). Publication (orchestration/publish/publication.py) reads one unit's rows, replaces
-- the registry ID by a person token and writes them in one transaction; an integrity gate may still hold
-- the unit as a whole.
with records as (
    select * from {{ ref('fct_civil_servant_records') }}
),

links as (
    select * from {{ source('link', 'record_links') }}
),

registry as (
    select * from {{ ref('dim_registry_persons') }}
),

blocking_reasons as (
    select
        unit_code,
        source_file,
        source_row,
        arg_min(criterion || '.' || rule, criterion || rule) as reason_code,
        string_agg(detail, ' ' order by criterion, rule) as reason
    from {{ ref('fct_record_flags') }}
    where severity = 'blocking'
    group by all
),

decided as (
    select
        records.*,
        links.decision,
        links.so_dinh_danh as linked_id,
        links.match_probability,
        registry.so_dinh_danh is not null as registry_person_found,
        registry.ho_va_ten as registry_ho_va_ten,
        registry.ngay_sinh as registry_ngay_sinh,
        registry.gioi_tinh as registry_gioi_tinh,
        registry.dan_toc as registry_dan_toc,
        blocking_reasons.reason_code as blocking_reason_code,
        blocking_reasons.reason as blocking_reason
    from records
    left join links
        on links.source_file = records.source_file and links.source_row = records.source_row
    left join registry
        on links.decision = 'auto_link' and registry.so_dinh_danh = links.so_dinh_danh
    left join blocking_reasons
        on blocking_reasons.unit_code = records.unit_code
        and blocking_reasons.source_file = records.source_file and blocking_reasons.source_row = records.source_row
)

select
    unit_code,
    source_file,
    source_row,
    ma_ho_so,
    case when accepted then linked_id end as registry_id,
    case when accepted then registry_ho_va_ten end as ho_va_ten,
    case when accepted then registry_ngay_sinh end as ngay_sinh,
    case when accepted then case registry_gioi_tinh when 'nam' then 'Nam' when 'nu' then 'Nữ' end end
        as gioi_tinh,
    case when accepted then coalesce(registry_dan_toc, dan_toc) end as dan_toc,
    loai,
    co_quan,
    chuc_vu,
    ma_ngach,
    bac_luong,
    he_so_luong,
    ngay_tuyen_dung,
    trinh_do_chuyen_mon,
    trang_thai,
    ngay_cap_nhat,
    match_probability,
    extract_date,
    file_sha256,
    load_id,
    accepted,
    case when not accepted then coalesce(blocking_reason_code, 'correct.not_linked') end as reason_code,
    case when not accepted then coalesce(blocking_reason, 'Hồ sơ chưa được đối chiếu với CSDLQG về dân cư.') end
        as reason
from (
    select *, coalesce(decision = 'auto_link', false) and registry_person_found and blocking_reason_code is null
        as accepted
    from decided
)
