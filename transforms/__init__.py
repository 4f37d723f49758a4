"""SQL transforms on the raw User.com tickets: the dbt project of staging, intermediate and mart models in schema
``analytics`` of the destination, their data tests, the SLA policy they read, and the Parquet copies of the marts.

Entry points: :func:`transforms.build.build_marts`, :func:`transforms.report.render_sla_report`,
:func:`transforms.policy.load_policy`.
"""
