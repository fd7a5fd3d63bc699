{#- Per-unit builds. The Dagster assets pass the run's units as the var `units` (orchestration/conform/
    dbt_vars.py); an incremental model then reads and replaces only those units' rows. With no `units`
    (every unit, or a build by hand) or on a full refresh, the filter is `true` and the model is rebuilt. -#}

{% macro run_units_filter(column='unit_code') -%}
    {%- set units = var('units', none) -%}
    {%- if units and is_incremental() -%}
        {{ column }} in ({% for unit in units %}'{{ unit | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor %})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- The config every per-unit model shares: its rows are replaced unit by unit. The pre-hook deletes the run's
    units' rows first (every row when the run names no units), so a unit left with no rows keeps none. -#}
{% macro per_unit_config() -%}
    {{ config(materialized='incremental', incremental_strategy='append', pre_hook="{{ delete_run_units() }}") }}
{%- endmacro %}

{% macro delete_run_units() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ run_units_filter() }}
    {%- endif -%}
{%- endmacro %}
