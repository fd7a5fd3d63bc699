{# Dates as units send them: dd/mm/yyyy, d/m/yyyy, yyyy-mm-dd, or a year alone. #}

{% macro parse_vn_date(column) -%}
    case
        when regexp_full_match({{ column }}, '\d{1,2}/\d{1,2}/\d{4}')
            then try_cast(try_strptime({{ column }}, '%d/%m/%Y') as date)
        when regexp_full_match({{ column }}, '\d{4}-\d{2}-\d{2}( 00:00:00)?')
            then try_cast(left({{ column }}, 10) as date)
        when regexp_full_match({{ column }}, '\d{4}')
            then make_date(cast({{ column }} as integer), 1, 1)
    end
{%- endmacro %}

{% macro vn_date_precision(column) -%}
    case
        when {{ column }} is null then null
        when regexp_full_match({{ column }}, '\d{4}') then 'year'
        when {{ parse_vn_date(column) }} is not null then 'day'
        else 'invalid'
    end
{%- endmacro %}
