{#- Models built from the registry snapshot (10 M persons nationally) are rebuilt only when a new snapshot
    arrives: the pre-hook drops rows of any other snapshot, and the model then inserts rows only into an
    empty table. A run with the same snapshot reads nothing from the registry. -#}

{% macro per_snapshot_config() -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where registry_snapshot_id is distinct from (select max(registry_snapshot_id) from {{ source('raw', 'registry') }}){% endif %}",
    ) }}
{%- endmacro %}

{#- The filter of a per-snapshot model: every row on a (re)build, none when the snapshot is already in. -#}
{% macro new_snapshot_filter() -%}
    {%- if is_incremental() -%}
        not exists (select 1 from {{ this }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
