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
