"""A log worth reading: at the default level only lines the user can act on, in one format for the project's and
dlt's lines; throttling as a count per listing and in the summary; the detail still there with `-v`."""

from __future__ import annotations

import re

import pytest

from pipelines.sandbox import SANDBOX_API_KEY
from tests.test_http_contract import cli

# a line in dlt's own format: `2026-12-03 14:48:08,144|[WARNING]|1614|1401...|dlt|_adbc_jobs.py|...`
DLT_FORMAT = re.compile(r"\|\[[A-Z]+\]\|")


def source_env(server) -> dict:
    """Settings pointing a run at `server`."""
    return {"SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url,
            "SOURCES__USERCOM__BACKOFF_BASE_SECONDS": "0.01"}


def test_throttling_is_a_count_per_listing_in_the_summary_not_a_line_per_retry(sandbox, tmp_path):
    server = sandbox(tickets=1500, page_size=100, rate_limit_every=5, retry_after="0")
    quiet = cli("run", "--no-transform", "--data-dir", str(tmp_path / "quiet"), env=source_env(server), cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    throttled = server.stats["rate_limited"]
    assert throttled >= 3
    assert "retrying GET" not in quiet.stderr and "cursor=" not in quiet.stderr and "HTTP 429" not in quiet.stderr
    summary = re.search(r"^throttled (\d+)×, waited [\d.]+ s \((.*)\): the API throttled", quiet.stdout, re.M)
    assert summary, quiet.stdout
    assert int(summary[1]) == throttled
    per_listing = dict(re.findall(r"(\w+) (\d+)×", summary[2]))
    assert sum(map(int, per_listing.values())) == throttled
    for listing, count in per_listing.items():  # the log says it once per listing, at its end
        assert re.search(rf"^INFO usercom.source: {listing}: throttled {count}×, waited [\d.]+ s$", quiet.stderr, re.M)

    server.stats["rate_limited"] = 0
    verbose = cli("-v", "run", "--no-transform", "--full-refresh", "--data-dir", str(tmp_path / "verbose"),
                  env=source_env(server), cwd=tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    retries = re.findall(r"^DEBUG usercom.client: retrying GET \S+ \(attempt \d+\): HTTP 429$", verbose.stderr, re.M)
    assert len(retries) == server.stats["rate_limited"] >= 3


@pytest.mark.parametrize("verbose", [False, True])
def test_dlt_notices_on_postgresql_are_debug_lines_in_the_projects_format(sandbox, postgres, tmp_path, verbose):
    server = sandbox(tickets=300, page_size=100)
    env = {**source_env(server), "DESTINATION__POSTGRES__CREDENTIALS": postgres.url}
    result = cli(*(["-v"] if verbose else []), "run", "--destination", "postgres", "--no-transform", "--full-refresh",
                 "--data-dir", str(tmp_path / "data"), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "300 tickets loaded" in result.stdout
    assert not DLT_FORMAT.search(result.stderr), result.stderr  # dlt's lines, if any, in the project's format
    notices = re.findall(r"^DEBUG dlt: parquet file format was requested for table (\w+) but ADBC driver", result.stderr,
                         re.M)
    if verbose:  # the detail is still there with -v, one per table loaded
        assert "tickets" in notices
    else:
        assert notices == [] and "ADBC" not in result.stderr and "loader_file_format" not in result.stderr
        assert "WARNING" not in result.stderr and "ERROR" not in result.stderr
