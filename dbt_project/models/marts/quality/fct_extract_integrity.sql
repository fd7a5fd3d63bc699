{{ per_unit_config() }}
{{ config(alias='extract_integrity') }}
-- One row per unit's current extract: the measures that say whether the extract *as a set* can be
-- trusted. The blocking unit gates (expectations/suites/integrity.json) bound them; record-level defects
-- are not measured here, they are judged record by record (fct_record_flags).
with records as (
    select * from {{ ref('fct_civil_servant_records') }}
    where {{ run_units_filter() }}
),

columns_checked as (
    select * from {{ ref('fct_extract_columns') }}
    where {{ run_units_filter() }}
),

-- Below this many rows a repeated value or a disagreement share says little about the export.
{%- set min_rows = 20 %}
columns_summary as (
    select
        unit_code,
        arg_max(column_name, blank_share) filter (where required) as worst_blank_column,
        arg_max(column_label_vi, blank_share) filter (where required) as worst_blank_label_vi,
        max(blank_share) filter (where required) as worst_blank_share,
        arg_max(column_name, misplaced_share) as worst_misplaced_column,
        arg_max(column_label_vi, misplaced_share) as worst_misplaced_label_vi,
        max(misplaced_share) as worst_misplaced_share,
        arg_max(column_name, top_value_share) filter (where rows_read >= {{ min_rows }}) as worst_constant_column,
        arg_max(column_label_vi, top_value_share) filter (where rows_read >= {{ min_rows }})
            as worst_constant_label_vi,
        max(top_value_share) filter (where rows_read >= {{ min_rows }}) as worst_constant_share
    from columns_checked
    group by unit_code
),

record_id_copies as (
    select unit_code, ma_ho_so, count(*) as copies
    from records
    where ma_ho_so is not null
    group by all
),

-- Each automatic link's person, to count persons sent on several records.
linked_persons as (
    select records.unit_code, links.so_dinh_danh as person_id
    from records
    join {{ source('link', 'record_links') }} as links using (source_file, source_row)
    where links.decision = 'auto_link'
),

person_copies as (
    select unit_code, person_id, count(*) as copies
    from linked_persons
    group by all
),

-- A 12-digit ID sent that the registry knows: does it belong to the person the row describes? An ID
-- column shifted against the names (sorted apart, pasted one row off) makes nearly every ID someone else's.
registry_ids_sent as (
    select
        records.unit_code,
        registry.name_key <> records.name_key
            and year(registry.ngay_sinh) is distinct from year(records.ngay_sinh) as other_person
    from records
    join {{ ref('dim_registry_persons') }} as registry on registry.so_dinh_danh = records.so_dinh_danh
    where records.id_kind = 'cccd'
),

duplicates as (
    select
        records.unit_code,
        count(*) filter (where record_id_copies.copies > 1) as rows_with_repeated_record_id
    from records
    left join record_id_copies using (unit_code, ma_ho_so)
    group by all
),

persons as (
    select unit_code, sum(copies) filter (where copies > 1) as rows_of_repeated_persons
    from person_copies
    group by all
),

ids as (
    select unit_code, count(*) as registry_ids_sent, count(*) filter (where other_person) as ids_of_other_persons
    from registry_ids_sent
    group by all
),

extracts as (
    select
        unit_code,
        any_value(source_file) as source_file,
        any_value(file_sha256) as file_sha256,
        any_value(extract_date) as extract_date,
        any_value(load_id) as load_id,
        count(*) as rows_read
    from records
    group by all
)

select
    extracts.unit_code,
    extracts.source_file,
    extracts.file_sha256,
    extracts.extract_date,
    extracts.load_id,
    extracts.rows_read,
    columns_summary.worst_blank_column,
    columns_summary.worst_blank_label_vi,
    columns_summary.worst_blank_share,
    columns_summary.worst_misplaced_column,
    columns_summary.worst_misplaced_label_vi,
    columns_summary.worst_misplaced_share,
    columns_summary.worst_constant_column,
    columns_summary.worst_constant_label_vi,
    columns_summary.worst_constant_share,
    duplicates.rows_with_repeated_record_id / extracts.rows_read as repeated_record_id_share,
    coalesce(persons.rows_of_repeated_persons, 0) / extracts.rows_read as repeated_person_share,
    coalesce(ids.registry_ids_sent, 0) as registry_ids_sent,
    case when ids.registry_ids_sent >= {{ min_rows }}
        then ids.ids_of_other_persons / ids.registry_ids_sent end as ids_of_other_persons_share
from extracts
join columns_summary using (unit_code)
join duplicates using (unit_code)
left join persons using (unit_code)
left join ids using (unit_code)
