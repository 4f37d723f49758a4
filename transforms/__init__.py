"""SQL transforms on the raw User.com tickets: staging, intermediate and mart models in DuckDB schema
``analytics``, their data tests, the SLA policy they read, and the Parquet copies of the marts.

Entry points: :func:`transforms.runner.build`, :func:`transforms.report.render_sla_report`,
:func:`transforms.policy.load_policy`.
"""
