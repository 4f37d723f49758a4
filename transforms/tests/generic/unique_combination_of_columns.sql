{#- The rows of a model whose combination of columns (its key) appears more than once: one row per
    repeated key, with how often it appears. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{%- set columns = combination_of_columns | join(', ') %}

select {{ columns }}, count(*) as row_count
from {{ model }}
group by {{ columns }}
having count(*) > 1

{% endtest %}
