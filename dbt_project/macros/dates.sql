{# Dates as units send them: dd/mm/yyyy, d/m/yyyy, yyyy-mm-dd, a year alone, or an Excel serial. #}

{% macro parse_vn_date(column) -%}
    case
        when regexp_full_match({{ column }}, '\d{1,2}[/.-]\d{1,2}[/.-]\d{4}')
            then try_cast(try_strptime(regexp_replace({{ column }}, '[.-]', '/', 'g'), '%d/%m/%Y') as date)
        when regexp_full_match({{ column }}, '\d{4}-\d{2}-\d{2}( 00:00:00)?')
            then try_cast(left({{ column }}, 10) as date)
        when regexp_full_match({{ column }}, '\d{4}')
            then make_date(cast({{ column }} as integer), 1, 1)
        -- Excel stores dates as days since 1899-12-30; 5-digit serials cover 1927-2173.
        when regexp_full_match({{ column }}, '\d{5}(\.0+)?')
            then cast(date '1899-12-30' + to_days(cast(cast({{ column }} as double) as integer)) as date)
    end
{%- endmacro %}

{# 'day', 'year' (a year alone was sent), 'invalid' (not a date), or null (blank). #}
{% macro vn_date_precision(column) -%}
    case
        when {{ column }} is null then null
        when regexp_full_match({{ column }}, '\d{4}') then 'year'
        when ({{ parse_vn_date(column) }}) is not null then 'day'
        else 'invalid'
    end
{%- endmacro %}

{# Day and month could be read either way round (both <= 12 and different): never swapped silently. #}
{% macro day_month_ambiguous(column) -%}
    coalesce(
        regexp_full_match({{ column }}, '\d{1,2}[/.-]\d{1,2}[/.-]\d{4}')
        and try_cast(regexp_extract({{ column }}, '^(\d{1,2})', 1) as integer) <= 12
        and try_cast(regexp_extract({{ column }}, '^\d{1,2}[/.-](\d{1,2})', 1) as integer) <= 12
        and try_cast(regexp_extract({{ column }}, '^(\d{1,2})', 1) as integer)
            <> try_cast(regexp_extract({{ column }}, '^\d{1,2}[/.-](\d{1,2})', 1) as integer),
        false
    )
{%- endmacro %}

{# Not a day-first date, but a valid month-first one: reported, never "fixed". #}
{% macro month_first_only(column) -%}
    coalesce(
        regexp_full_match({{ column }}, '\d{1,2}[/.-]\d{1,2}[/.-]\d{4}')
        and ({{ parse_vn_date(column) }}) is null
        and try_strptime(regexp_replace({{ column }}, '[.-]', '/', 'g'), '%m/%d/%Y') is not null,
        false
    )
{%- endmacro %}
