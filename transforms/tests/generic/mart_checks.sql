{#- A mart's column checks in one query, one dbt node (dbt's own unique, relationships and accepted_values
    tests cost a node each, ~0.1 s of dbt's bookkeeping apiece: transforms/README.md, decision log). The rows
    returned name what failed: failed_check (key, not_null, relationships or accepted_values), column_name, one
    offending_value (as text; the key's columns joined by ', ') and how many rows of the mart carry it.
    - key: the mart's grain, a list of columns whose combination is unique (no row repeats it);
    - relationships: {column: "model.column"}, each non-null value of the column must be in that column
      of that model (as dbt's relationships test);
    - accepted_values: {column: [values]}, each non-null value of the column must be one of them;
    - not_null: columns without nulls, for a mart whose contract may be off (fct_tickets with custom
      attributes); elsewhere the contract's not_null constraints check nulls with no node at all: the
      database refuses the row, naming the column. -#}
{% test mart_checks(model, key=[], relationships={}, accepted_values={}, not_null=[]) %}

{%- set text = dbt.type_string() %}
{%- set checks = [] %}
{%- if key %}
  {%- set key_value = [] %}
  {%- for column in key %}{% do key_value.append("coalesce(cast(" ~ column ~ " as " ~ text ~ "), 'null')") %}{% endfor %}
  {%- do checks.append(
      "select 'key' as failed_check, '" ~ key | join(', ') ~ "' as column_name, "
      ~ key_value | join(" || ', ' || ") ~ " as offending_value, count(*) as offending_rows "
      ~ "from " ~ model ~ " group by " ~ key | join(', ') ~ " having count(*) > 1") %}
{%- endif %}
{%- for column in not_null %}
  {%- do checks.append(
      "select 'not_null' as failed_check, '" ~ column ~ "' as column_name, cast(null as " ~ text
      ~ ") as offending_value, count(*) as offending_rows from " ~ model ~ " where " ~ column ~ " is null "
      ~ "having count(*) > 0") %}
{%- endfor %}
{%- for column, parent in relationships.items() %}
  {%- set parent_model, parent_column = parent.split('.') %}
  {%- do checks.append(
      "select 'relationships' as failed_check, '" ~ column ~ "' as column_name, cast(child." ~ column ~ " as "
      ~ text ~ ") as offending_value, count(*) as offending_rows from " ~ model ~ " as child "
      ~ "where child." ~ column ~ " is not null and not exists (select 1 from " ~ ref(parent_model) ~ " as parent "
      ~ "where parent." ~ parent_column ~ " = child." ~ column ~ ") group by child." ~ column) %}
{%- endfor %}
{%- for column, values in accepted_values.items() %}
  {%- set quoted = [] %}
  {%- for value in values %}{% do quoted.append("'" ~ value | replace("'", "''") ~ "'") %}{% endfor %}
  {%- do checks.append(
      "select 'accepted_values' as failed_check, '" ~ column ~ "' as column_name, cast(" ~ column ~ " as " ~ text
      ~ ") as offending_value, count(*) as offending_rows from " ~ model ~ " where " ~ column ~ " is not null and "
      ~ "cast(" ~ column ~ " as " ~ text ~ ") not in (" ~ quoted | join(', ') ~ ") group by " ~ column) %}
{%- endfor %}

{{ checks | join('\nunion all\n') }}

{% endtest %}
