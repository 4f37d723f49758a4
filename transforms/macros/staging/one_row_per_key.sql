{#- The rows of `rows` (a select, e.g. from select_raw_columns) that meet `condition`, one per
    `key_columns`: a key's only row as it is, and of the rows of a key loaded more than once the first
    in `order_by`. Only repeated keys (and null ones, which the window groups together) go through the
    window, which otherwise would sort every row; `rows` is read as subqueries rather than a CTE, which
    an engine may hold in full for its second reader. The result has a column key_rank (always 1). -#}
{% macro one_row_per_key(rows, key_columns, order_by, condition) -%}
    {%- set keys = key_columns | join(', ') -%}
    {%- set repeated_keys -%}
        select {{ keys }} from ({{ rows }}) as keyed group by {{ keys }} having count(*) > 1
    {%- endset -%}
    {%- set is_single -%}
        {% for key in key_columns %}candidate.{{ key }} is not null and {% endfor -%}
        not exists (
            select 1 from ({{ repeated_keys }}) as repeated
            where {% for key in key_columns %}repeated.{{ key }} = candidate.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
        )
    {%- endset -%}
    select candidate.*, cast(1 as {{ dbt.type_bigint() }}) as key_rank
    from ({{ rows }}) as candidate
    where ({{ condition }}) and {{ is_single }}
    union all
    select *
    from (
        select candidate.*, row_number() over (partition by {{ keys }} order by {{ order_by }}) as key_rank
        from ({{ rows }}) as candidate
        where ({{ condition }}) and not ({{ is_single }})
    ) as ranked
    where key_rank = 1
{%- endmacro %}
