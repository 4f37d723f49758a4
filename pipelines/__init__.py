"""usercom-tickets: the User.com helpdesk API into an analytics-ready ticket warehouse.

Importing this package (or any module in it) changes nothing in the process: the run's setup is made where a
run starts, in `cli.py` and `job.run_job` (see run_setup.py).
"""
