{# Fails on a share outside [0, 1] (null is allowed: a share that could not be measured). #}
{% test share_between_0_and_1(model, column_name) %}
select {{ column_name }} from {{ model }}
where {{ column_name }} < 0 or {{ column_name }} > 1
{% endtest %}
