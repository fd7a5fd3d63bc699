{# Candidates whose name matches with its diacritics when there are any, else all unaccented matches. #}
{% macro prefer_exact_name(code, exact) -%}
    coalesce(
        nullif(list(distinct {{ code }} order by {{ code }}) filter (where {{ exact }}), []),
        list(distinct {{ code }} order by {{ code }})
    )
{%- endmacro %}
