{{ config(materialized='view', alias='linkage_metrics') }}
-- Linkage quality per unit and nationally (the last row, unit_code 'national'): link rate, review share and
-- match statuses from the links alone; precision and recall where records carry an evaluation label (their
-- true registry person, raw.linkage_labels), null where none does.
with links as (
    select
        links.unit_code,
        links.decision,
        links.match_status,
        links.so_dinh_danh,
        labels.true_so_dinh_danh,
        labels.source_row is not null as labelled
    from {{ source('link', 'record_links') }} as links
    left join {{ source('raw', 'linkage_labels') }} as labels
        on labels.source_file = links.source_file and labels.source_row = links.source_row
),

grouped as (
    select
        coalesce(unit_code, 'national') as unit_code,
        count(*) as records,
        count(*) filter (where labelled) as labelled_records,
        count(true_so_dinh_danh) as in_registry,
        count(*) filter (where decision = 'auto_link') as auto_links,
        count(*) filter (where labelled and decision = 'auto_link' and so_dinh_danh = true_so_dinh_danh)
            as auto_correct,
        count(*) filter (where decision = 'review') as review,
        count(*) filter (where labelled and decision = 'review' and so_dinh_danh = true_so_dinh_danh)
            as review_correct,
        count(*) filter (where decision = 'no_link') as no_link,
        count(*) filter (where labelled and true_so_dinh_danh is null) as not_in_registry,
        count(*) filter (where labelled and true_so_dinh_danh is null and decision = 'auto_link')
            as outsiders_linked,
        count(*) filter (where match_status = 'matched') as status_matched,
        count(*) filter (where match_status = 'id_wrong') as status_id_wrong,
        count(*) filter (where match_status = 'name_differs') as status_name_differs,
        count(*) filter (where match_status = 'dob_differs') as status_dob_differs,
        count(*) filter (where match_status = 'not_found') as status_not_found
    from links
    group by grouping sets ((unit_code), ())
),

-- Precision and recall are measured over the labelled records only.
labelled as (
    select
        coalesce(unit_code, 'national') as unit_code,
        count(*) filter (where decision = 'auto_link') as labelled_auto_links
    from links
    where labelled
    group by grouping sets ((unit_code), ())
)

select
    grouped.*,
    auto_links / records as link_rate,
    auto_correct / nullif(labelled_auto_links, 0) as precision,
    auto_correct / nullif(in_registry, 0) as recall,
    review / records as review_share,
    (auto_correct + review_correct) / nullif(in_registry, 0) as recall_after_review,
    outsiders_linked / nullif(not_in_registry, 0) as outsiders_linked_share
from grouped
left join labelled using (unit_code)
