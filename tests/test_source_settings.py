"""The source's settings checked at the door: `usercom-tickets check` and `run`, real processes against the real
sandbox, refuse a value that cannot work in one line naming the setting and the fix, exit 4 (configuration), and
send no request; a subdomain given as a URL or host name is taken as the subdomain."""

from __future__ import annotations

import pytest

from pipelines.sandbox import SANDBOX_API_KEY
from pipelines.usercom.errors import UsercomSettingsError
from pipelines.usercom.source_config import source_settings
from tests.test_http_contract import cli

EXIT_CONFIGURATION = 4


def command(name: str, server, tmp_path, **settings: str):
    """`usercom-tickets <name>` in a fresh process from an empty folder, the sandbox and `settings` given as
    SOURCES__USERCOM__* variables."""
    env = {"SOURCES__USERCOM__API_KEY": SANDBOX_API_KEY, "SOURCES__USERCOM__BASE_URL": server.base_url,
           "USERCOM_DATA_DIR": str(tmp_path / "data"),
           **{f"SOURCES__USERCOM__{key.upper()}": value for key, value in settings.items()}}
    args = ("run", "--no-transform") if name == "run" else (name,)
    result = cli(*args, cwd=tmp_path, env=env)
    assert SANDBOX_API_KEY not in result.stdout + result.stderr
    return result


@pytest.mark.parametrize(("name", "key", "value", "said"), [
    ("check", "page_size", "0", "give a number from 1 to 100"),
    ("run", "page_size", "lots", "give a whole number"),
    ("check", "requests_per_second", "-5", "give a number of 0.01 or more"),
    ("run", "request_timeout_seconds", "0", "give a number from 0.1 to 3600"),
    ("check", "max_attempts", "0", "give a number from 1 to 100"),
    ("run", "subdomain", "https://acme.user.com/tickets", "give the part before .user.com"),
    ("check", "subdomain", "acme.example.com", "set SOURCES__USERCOM__BASE_URL instead"),
])
def test_a_setting_that_cannot_work_is_refused_in_one_line_naming_it_and_no_request_leaves(
        sandbox, tmp_path, name, key, value, said):
    server = sandbox(tickets=20)
    result = command(name, server, tmp_path, **{key: value})
    assert result.returncode == EXIT_CONFIGURATION, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {key} = ") and f"SOURCES__USERCOM__{key.upper()} (or `{key}` under [sources.usercom])" in line
    assert (f"= {value} " in line or f"= {value!r}" in line) and said in line
    assert server.request_log == [] and server.stats["requests"] == 0


def test_a_setting_in_range_reaches_the_requests_of_check(sandbox, tmp_path):
    server = sandbox(tickets=120, page_size=100)
    result = command("check", server, tmp_path, page_size="50", subdomain="acme.user.com/")
    assert result.returncode == 0, result.stdout + result.stderr
    first_pages = [e["query"] for e in server.request_log if "cursor" not in e["query"]]
    assert len(first_pages) == 5 and all(q.get("page_size") == "50" for q in first_pages)  # every ticket + 4 statuses


@pytest.mark.parametrize("given", ["acme", "ACME", "acme.user.com", "acme.user.com/", "https://acme.user.com",
                                   "https://acme.user.com/", "https://acme.user.com/api/public/", " acme "])
def test_a_subdomain_given_as_a_url_or_host_name_is_taken_as_the_subdomain(given):
    settings = source_settings(api_key="k" * 64, subdomain=given)  # resolved only: nothing is requested
    assert (settings.subdomain, settings.root_url) == ("acme", "https://acme.user.com/api/public/")


def test_the_settings_error_never_carries_the_key():
    key = "s3cr3t" * 10
    with pytest.raises(UsercomSettingsError) as failure:
        source_settings(api_key=key, subdomain="acme", retry_after_cap_seconds=float("inf"))
    assert "SOURCES__USERCOM__RETRY_AFTER_CAP_SECONDS" in str(failure.value) and key not in str(failure.value)
