{# Vietnamese text helpers shared by the normalising models. #}

{% macro clean_text(column) -%}
    nullif(trim(regexp_replace(nfc_normalize(replace({{ column }}, 'Ð', 'Đ')), '\s+', ' ', 'g')), '')
{%- endmacro %}

{# Lower-case, no diacritics, đ -> d: for matching, never for display. #}
{% macro match_key(column) -%}
    lower(strip_accents(replace(replace({{ clean_text(column) }}, 'Đ', 'D'), 'đ', 'd')))
{%- endmacro %}

{# Each word capitalised: 'NGUYỄN văn an' -> 'Nguyễn Văn An'. #}
{% macro proper_case(column) -%}
    array_to_string(
        list_transform(string_split(lower({{ clean_text(column) }}), ' '), lambda w: upper(w[1]) || w[2:]),
        ' '
    )
{%- endmacro %}
