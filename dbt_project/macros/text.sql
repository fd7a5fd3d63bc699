{# Vietnamese text helpers shared by the normalising models. #}

{# NFC, Ð (U+00D0, Icelandic Eth) -> Đ (U+0110), spaces collapsed; blank -> null. #}
{% macro clean_text(column) -%}
    nullif(trim(regexp_replace(nfc_normalize(replace({{ column }}, 'Ð', 'Đ')), '\s+', ' ', 'g')), '')
{%- endmacro %}

{# Lower-case, no diacritics, đ -> d: for matching, never for display. #}
{% macro match_key(column) -%}
    lower(strip_accents(replace(replace({{ clean_text(column) }}, 'Đ', 'D'), 'đ', 'd')))
{%- endmacro %}

{# One tone-placement convention: the tone mark on the main vowel of open oa / oe / uy syllables
   ("Hoà" -> "Hòa", "Thuý" -> "Thúy", "khoẻ" -> "khỏe"); "quý" keeps its mark (qu is a consonant).
   Input must be NFC and lower-case. #}
{% macro modern_tone_placement(column) -%}
    {%- set tone_pairs = {
    'oà': 'òa', 'oá': 'óa', 'oả': 'ỏa', 'oã': 'õa', 'oạ': 'ọa',
    'oè': 'òe', 'oé': 'óe', 'oẻ': 'ỏe', 'oẽ': 'õe', 'oẹ': 'ọe',
    'uỳ': 'ùy', 'uý': 'úy', 'uỷ': 'ủy', 'uỹ': 'ũy', 'uỵ': 'ụy'
} -%}
    {%- set ns = namespace(sql=column) -%}
    {%- for old, new in tone_pairs.items() -%}
        {%- set ns.sql = "regexp_replace(" ~ ns.sql ~ ", '([^qQ]|^)" ~ old ~ "(\\s|$)', '\\1" ~ new ~ "\\2', 'g')" -%}
    {%- endfor -%}
    {{ ns.sql }}
{%- endmacro %}

{# Each word capitalised: 'NGUYỄN văn an' -> 'Nguyễn Văn An'. #}
{% macro proper_case(column) -%}
    array_to_string(
        list_transform(string_split(lower({{ column }}), ' '), lambda w: upper(w[1]) || w[2:]),
        ' '
    )
{%- endmacro %}

{# Administrative unit name without its type word, as a match key: 'Thành phố Hà Nội' -> 'ha noi'. #}
{% macro admin_key(column) -%}
    nullif(trim(regexp_replace(
        {{ match_key(column) }},
        '^(thanh pho|tinh|phuong|xa|thi tran|thi xa|quan|huyen|dac khu|tp\.?|tx\.?|tt\.?)\s+',
        ''
    )), '')
{%- endmacro %}

{# The same, keeping diacritics: 'Xã Lộc Thạnh' -> 'lộc thạnh' (tells Lộc Thành from Lộc Thạnh). #}
{% macro admin_name(column) -%}
    nullif(trim(regexp_replace(
        lower({{ clean_text(column) }}),
        '^(thành phố|tỉnh|phường|xã|thị trấn|thị xã|quận|huyện|đặc khu|tp\.?|tx\.?|tt\.?)\s+',
        ''
    )), '')
{%- endmacro %}
