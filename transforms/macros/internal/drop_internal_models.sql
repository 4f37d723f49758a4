{#- Before the build: drop from the marts' schema (target.schema) every relation named after one of this
    project's staging or intermediate models, which live in `<schema>_internal` since they moved out of it
    (a data directory built by an earlier version still has them there, where BI users would see them). The
    names come from the graph and the relations from dbt's cache: no query unless there is one to drop. -#}
{% macro drop_internal_models_from_marts_schema() %}
  {%- if execute %}
    {%- for node in graph.nodes.values()
          if node.resource_type == 'model' and node.package_name == 'usercom_tickets'
             and node.schema != target.schema %}
      {%- set stale = adapter.get_relation(database=target.database, schema=target.schema, identifier=node.name) %}
      {%- if stale is not none %}
        {% do adapter.drop_relation(stale) %}
      {%- endif %}
    {%- endfor %}
  {%- endif %}
{% endmacro %}
