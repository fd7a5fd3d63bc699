{#- The date "today" means for freshness: CBCCVC_AS_OF (YYYY-MM-DD) when set, as the Python gates read it
    (orchestration/quality/gates.py `as_of_date`), else the current date. -#}
{% macro as_of_date() -%}
    {%- set value = env_var('CBCCVC_AS_OF', '') -%}
    {%- if value -%} date '{{ value }}' {%- else -%} current_date {%- endif -%}
{%- endmacro %}
