# `make demo` and `make test` are the only commands a new user types: both bootstrap .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SPARK_STAMP := $(VENV)/.spark-stamp

.PHONY: demo test bench clean report fuzz soak

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# `make test` and `make bench` add the spark extra (pyspark, dbt-spark: docs/spark.md); `make demo` does not
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(SPARK_STAMP)

demo: $(STAMP)
	$(BIN)/usercom-tickets demo
	$(BIN)/python notebooks/render_report.py

# Runs notebooks/sla_overview.ipynb on the marts, writes data/reports/sla_overview.html and prints its path.
report: $(STAMP)
	$(BIN)/python notebooks/render_report.py

# lint first (ruff, configured in pyproject.toml): CI fails on a lint error as on a test
test: $(SPARK_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# Throughput and memory against the floor and dlt's rest_api (benchmarks/README.md); not part of `make test`.
# BENCH_ARGS="--quick" for 20,000 tickets, "--rss-1m" adds the 1,000,000-ticket memory check; the marts build
# base/after (5,000, 100,000 and 1,000,000 tickets, beside benchmarks/marts_build.py BASE_COMMIT) runs too ("--only-marts" for that alone, "--no-transforms" to skip it).
bench: $(SPARK_STAMP)
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

# Property-based fuzzing of the flattener and the pipeline with many more examples than `make test` runs.
# FUZZ_EXAMPLES=N to change how many (default 3000 for the flattener, a 25th of that through the pipeline).
FUZZ_EXAMPLES ?= 3000
fuzz: $(STAMP)
	USERCOM_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_fuzz.py --hypothesis-show-statistics

# 1,000,000 tickets through the sandbox with latency, 5% 5xx and periodic 429s; checks each landed exactly once.
# SOAK_ARGS="--tickets 100000" for a shorter one. Not part of `make test`.
soak: $(STAMP)
	$(BIN)/python -m benchmarks.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) data/*.duckdb data/*.duckdb.wal data/parquet data/marts data/.published data/.dlt data/reports data/.usercom-run.lock
