{#- The features the Splink model compares (orchestration/link/splink_settings.json), computed the same way
    for the records and for the registry so that like is compared with like. -#}

{% macro linkage_name_features(name_column) -%}
    lower({{ name_column }}) as name_accented,
    name_key,
    array_to_string(list_sort(string_split(name_key, ' ')), ' ') as name_sorted,
    split_part(name_key, ' ', 1) as surname_key,
    split_part(name_key, ' ', -1) as given_key,
    cast(ngay_sinh as varchar) as ngay_sinh,
    year(ngay_sinh) as birth_year,
    strftime(ngay_sinh, '%d%m') as dob_day_month,
    strftime(ngay_sinh, '%m%d') as reverse_day_month
{%- endmacro %}

{#- The blocking keys of the model's prediction rules, in the order of splink_settings.json (a test keeps the
    two equal): a registry person can be scored against a record only if they agree on one of these. -#}
{% macro linkage_blocking_keys() -%}
    {{ return([
        ['so_dinh_danh'],
        ['cmnd'],
        ['name_key', 'birth_year'],
        ['given_key', 'ngay_sinh'],
        ['surname_key', 'given_key', 'dob_day_month'],
        ['name_key', 'birth_province', 'gioi_tinh'],
    ]) }}
{%- endmacro %}

{#- A cascade stage's date-of-birth agreement: the same date, or the same year when the record's date is
    imprecise (year only, or a 01/01 placeholder). -#}
{% macro linkage_dob_agrees(record, registry) -%}
    ({{ record }}.ngay_sinh = {{ registry }}.ngay_sinh
        or ({{ record }}.dob_imprecise and {{ record }}.birth_year = {{ registry }}.birth_year))
{%- endmacro %}
