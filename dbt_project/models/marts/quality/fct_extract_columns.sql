{{ per_unit_config() }}
{{ config(alias='extract_columns') }}
-- How each checked template column of a unit's current extract looks as a whole: one row per (unit,
-- column). A broken export shows here first: a column left empty, another column's values in it (a shift
-- between columns), or one value repeated on nearly every row. The unit gates (docs/quality-gates.md) read
-- these shares; the feedback workbook names the column by its Vietnamese label.
{%- set columns = {
    'ma_ho_so': ['ma_ho_so is null', 'false'],
    'ho_va_ten': ['ho_va_ten_sent is null', "regexp_matches(ho_va_ten_sent, '[0-9]')"],
    'ngay_sinh': ['ngay_sinh_sent is null', "ngay_sinh_precision = 'invalid'"],
    'gioi_tinh': ['gioi_tinh_sent is null', 'gioi_tinh is null and gioi_tinh_sent is not null'],
    'so_dinh_danh': ["id_kind = 'blank'", "id_kind = 'invalid'"],
    'loai': ['loai_sent is null', 'loai is null and loai_sent is not null'],
    'co_quan': ['co_quan is null', "regexp_full_match(co_quan, '[0-9 ./:-]+')"],
    'ma_ngach': ['ma_ngach is null', 'ma_ngach is not null and not rank_code_well_formed'],
    'trang_thai': ['trang_thai_sent is null', 'trang_thai is null and trang_thai_sent is not null'],
} %}
with records as (
    select * from {{ ref('fct_civil_servant_records') }}
    where {{ run_units_filter() }}
),

-- Blank: nothing sent. Misplaced: something sent that is not a value of this column at all.
columns_checked as (
    {% for column, (blank, misplaced) in columns.items() -%}
    select
        unit_code,
        '{{ column }}' as column_name,
        count(*) as rows_read,
        count(*) filter (where {{ blank }}) as blank_rows,
        count(*) filter (where {{ misplaced }}) as misplaced_rows
    from records
    group by unit_code
    {{ "union all" if not loop.last }}
    {% endfor %}
),

-- Name and date of birth vary from person to person: one value on most rows means a broken export.
identity_values as (
    select unit_code, 'ho_va_ten' as column_name, name_key as value from records
    union all
    select unit_code, 'ngay_sinh' as column_name, cast(ngay_sinh as varchar) as value from records
),

top_values as (
    select unit_code, column_name, max(copies) as top_value_rows
    from (
        select unit_code, column_name, value, count(*) as copies
        from identity_values
        where value is not null
        group by all
    )
    group by all
)

select
    columns_checked.unit_code,
    columns_checked.column_name,
    template.label_vi as column_label_vi,
    template.required,
    columns_checked.rows_read,
    columns_checked.blank_rows,
    columns_checked.misplaced_rows,
    top_values.top_value_rows,
    columns_checked.blank_rows / columns_checked.rows_read as blank_share,
    columns_checked.misplaced_rows / columns_checked.rows_read as misplaced_share,
    top_values.top_value_rows / columns_checked.rows_read as top_value_share
from columns_checked
join {{ ref('ref_template_columns') }} as template using (column_name)
left join top_values using (unit_code, column_name)
