# `make demo` and `make test` are the only commands a new user types: both bootstrap .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench clean report

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/usercom-tickets demo
	$(BIN)/python notebooks/render_report.py

# Runs notebooks/sla_overview.ipynb on the marts, writes data/reports/sla_overview.html and prints its path.
report: $(STAMP)
	$(BIN)/python notebooks/render_report.py

test: $(STAMP)
	$(BIN)/python -m pytest

# Throughput and memory against the floor and dlt's rest_api (benchmarks/README.md); not part of `make test`.
# BENCH_ARGS="--quick" for 20,000 tickets, "--rss-1m" adds the 1,000,000-ticket memory check.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data/*.duckdb data/parquet data/.dlt data/reports
