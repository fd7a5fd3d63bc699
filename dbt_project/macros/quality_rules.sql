{# Helpers of the record rules (models/marts/quality/fct_record_flags.sql). #}

{# Characters of the Latin-1 block that Vietnamese text never uses: what TCVN3 (ABC) and VNI font text
   leaves behind when it is read as Unicode ("NguyÔn V¨n An", "Sôû Noäi vuï", Ð typed for Đ). The
   Vietnamese letters of the block (À Á Â Ã È É Ê Ì Í Ò Ó Ô Õ Ù Ú Ý and their lower case) and the
   no-break space are allowed. #}
{% macro legacy_font_characters() -%}
    '[\x{80}-\x{9F}\x{A1}-\x{BF}ÄÅÆÇËÎÏÐÑÖ×ØÛÜÞßäåæçëîïðñö÷øûüþÿ]'
{%- endmacro %}

{# True when a text value is not what the national data set keeps: not Unicode NFC (e.g. NFD, with
   combining tone marks), or holding legacy font characters. Null for a blank value. #}
{% macro text_not_normalised(column) -%}
    ({{ column }} <> nfc_normalize({{ column }}) or regexp_matches({{ column }}, {{ legacy_font_characters() }}))
{%- endmacro %}

{# Fails on every (criterion, rule, severity) the model emits that the rule catalogue does not list: the
   catalogue is the `meta.rules` of the tested column in the model's YAML, so a rule cannot be added,
   renamed or change its criterion or severity without its documentation. #}
{% test documented_rules(model, column_name) %}
{%- set ns = namespace(rules={}) -%}
{%- if execute -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.alias == model.identifier and node.schema == model.schema -%}
            {%- set ns.rules = node.columns[column_name].meta.rules -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}
with documented (criterion, rule_name, severity) as (
    values {% for name, rule in ns.rules.items() -%}
        ('{{ rule.criterion }}', '{{ name }}', '{{ rule.severity }}'){{ ", " if not loop.last }}
    {%- else -%} (null, null, null) {%- endfor %}
)
select flags.criterion, flags.{{ column_name }}, flags.severity, count(*) as records
from {{ model }} as flags
where not exists (
    select 1 from documented
    where documented.criterion = flags.criterion and documented.rule_name = flags.{{ column_name }}
        and documented.severity = flags.severity
)
group by all
{% endtest %}
