{# Statutory retirement age in months (Labour Code 2019, Decree 135/2020): men 60y3m in 2021 rising
   3 months a year to 62y; women 55y4m in 2021 rising 4 months a year to 60y. #}
{% macro retirement_age_months(sex_code, year) -%}
    case {{ sex_code }}
        when 'nam' then least(744, 723 + 3 * greatest(0, {{ year }} - 2021))
        when 'nu' then least(720, 664 + 4 * greatest(0, {{ year }} - 2021))
    end
{%- endmacro %}
