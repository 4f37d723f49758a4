"""The source's settings, declared once: the dlt configspec `UsercomSettings` (section `sources.usercom`), which
the `usercom` source and `usercom-tickets check` both resolve, checked as they are resolved, before any request.

A value that cannot work is refused in one line naming the setting and the fix (`UsercomSettingsError`); a
subdomain given as a URL or host name (`https://acme.user.com`, `acme.user.com/`) is taken as `acme`.
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

import dlt
from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import ConfigFieldMissingException, ConfigValueCannotBeCoercedException
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue

from pipelines.usercom import settings as s
from pipelines.usercom.errors import UsercomConfigError, UsercomSettingsError, missing_config_error
from pipelines.usercom.http.client import TicketsClient
from pipelines.usercom.http.pacing import Pacer
from pipelines.usercom.http.retries import RetryPolicy
from pipelines.usercom.http.urls import check_transport, resolve_base_url

SECTIONS = ("sources", "usercom")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")  # one DNS label: what a subdomain can be
_HOST_SUFFIX = ".user.com"
# (lowest, highest, what the value means) of each number; None: that side is open
_RANGES: dict[str, tuple[float | None, float | None, str]] = {
    "page_size": (1, 100, "tickets a page; the API gives at most 100"),
    "max_attempts": (1, 100, "tries of one request, e.g. 8"),
    "max_total_wait_seconds": (0, None, "seconds one request may spend retrying, e.g. 300"),
    "backoff_base_seconds": (0, s.BACKOFF_MAX_SECONDS, "seconds of the first back-off, e.g. 0.5"),
    "request_timeout_seconds": (0.1, 3600, "seconds one request may take, connection to last byte, e.g. 60"),
    "retry_after_cap_seconds": (0, None, "the longest Retry-After honoured, in seconds, e.g. 120"),
    "requests_per_second": (0.01, None, "requests a second, e.g. 5, or unset to follow the API's throttling"),
}


def setting_name(key: str) -> str:
    """How a user sets `key`: its environment variable and its place in .dlt/config.toml."""
    return f"SOURCES__USERCOM__{key.upper()} (or `{key}` under [sources.usercom])"


@configspec
class UsercomSettings(BaseConfiguration):
    """The settings of the `usercom` source, read by dlt from SOURCES__USERCOM__* or [sources.usercom].

    Attributes:
        api_key: the account's 64-character REST API key (secret).
        subdomain: the account's app subdomain, `acme` for https://acme.user.com (a URL or host name is taken).
        base_url: overrides the subdomain's URL (the sandbox and tests use it).
        statuses: which status listings to read; other statuses' tickets are never touched.
        status_param: the query parameter that filters by status.
        page_size: asks the API for this many tickets a page (the API's default when None).
        max_attempts, max_total_wait_seconds, backoff_base_seconds: bounds of retrying 429/5xx/network errors.
        request_timeout_seconds: one request, connection to last byte, must end within this, or it is retried.
        retry_after_cap_seconds: a longer Retry-After is cut to this (and a warning says so).
        allow_insecure_http: accept a plain http:// base URL on a non-loopback host (the key travels in clear).
        columnar: parse pages with Arrow's JSON reader and flatten them column by column (the row-by-row
            flattener still takes every page with values it refuses); false: row by row only, ~2.5x slower.
        requests_per_second: the most requests a second, all listings together; None: as fast as the API
            allows, learnt from its throttling (pacing.py).
    """

    api_key: TSecretStrValue = None
    subdomain: str | None = None
    base_url: str | None = None
    statuses: list[str] | None = None
    status_param: str = s.STATUS_PARAM
    page_size: int | None = None
    max_attempts: int = s.MAX_ATTEMPTS
    max_total_wait_seconds: float = s.MAX_TOTAL_WAIT_SECONDS
    backoff_base_seconds: float = s.BACKOFF_BASE_SECONDS
    request_timeout_seconds: float = s.REQUEST_TIMEOUT[1]
    retry_after_cap_seconds: float = s.RETRY_AFTER_CAP_SECONDS
    allow_insecure_http: bool = False
    columnar: bool = True
    requests_per_second: float | None = None

    def on_resolved(self) -> None:
        """Checks every value once dlt found them all; normalises the subdomain and the statuses."""
        if not self.api_key:
            raise UsercomConfigError(
                "Missing the User.com API key: set SOURCES__USERCOM__API_KEY or `api_key` under [sources.usercom] "
                "in .dlt/secrets.toml."
            )
        if self.subdomain is not None:
            self.subdomain = _subdomain(self.subdomain)
        for key, (lowest, highest, meaning) in _RANGES.items():
            _check_range(key, getattr(self, key), lowest, highest, meaning)
        if not self.status_param or not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+", self.status_param):
            raise UsercomSettingsError(f"status_param = {self.status_param!r}: give the query parameter that "
                                       f"filters by status, e.g. {s.STATUS_PARAM!r}, as {setting_name('status_param')}.")
        statuses = list(s.STATUSES) if self.statuses is None else list(self.statuses)
        unknown = [x for x in statuses if x not in s.STATUSES]
        if unknown or not statuses:
            raise UsercomConfigError(f"Unknown statuses {unknown or '(none given)'}: choose from {', '.join(s.STATUSES)}.")
        self.statuses = list(dict.fromkeys(statuses))
        check_transport(self.root_url, self.allow_insecure_http)

    @property
    def root_url(self) -> str:
        """The API root requests go to: `base_url` when set, else the subdomain's."""
        return resolve_base_url(self.subdomain, self.base_url)

    def client(self) -> TicketsClient:
        """The API client these settings describe (a run's listings share it; `check` uses one too)."""
        timeout = self.request_timeout_seconds
        return TicketsClient(
            self.root_url, self.api_key, status_param=self.status_param, page_size=self.page_size,
            timeout=(min(s.REQUEST_TIMEOUT[0], timeout), timeout),
            retry=RetryPolicy(max_attempts=self.max_attempts, max_total_wait=self.max_total_wait_seconds,
                              backoff_base=self.backoff_base_seconds, retry_after_cap=self.retry_after_cap_seconds),
            columnar=self.columnar, pacer=Pacer(self.requests_per_second),
        )


def source_settings(**overrides) -> UsercomSettings:
    """The `sources.usercom` settings as dlt reads them (environment, .dlt/*.toml), `overrides` winning, checked;
    raises `UsercomConfigError` naming a missing or wrong setting, before any request."""
    try:
        return resolve_configuration(UsercomSettings(), sections=SECTIONS, explicit_value=overrides)
    except ConfigFieldMissingException as error:
        raise missing_config_error(error) from None
    except ConfigValueCannotBeCoercedException as error:
        meaning = _RANGES.get(error.field_name, (None, None, "see docs/configuration.md"))[2]
        raise UsercomSettingsError(f"{error.field_name} = {str(error.field_value)[:80]!r}: give "
                                   f"{_kind(error.hint)} ({meaning}) as {setting_name(error.field_name)}.") from None


def configured_statuses() -> list[str]:
    """The statuses the `sources.usercom.statuses` setting lists (each once), else every status; read without the
    rest of the settings, for a run's log row before they are checked."""
    return list(dict.fromkeys(dlt.config.get(".".join((*SECTIONS, "statuses")), list) or s.STATUSES))


def _subdomain(given: str) -> str:
    """`acme` from `acme`, `ACME`, `acme.user.com`, `acme.user.com/`, `https://acme.user.com[/api/public/]`."""
    text = given.strip().lower()
    if _LABEL.match(text):
        return text
    parts = urlsplit(text if "://" in text else "https://" + text)
    host = parts.hostname or ""
    label = host.removesuffix(_HOST_SUFFIX)
    if (parts.scheme in ("http", "https") and host.endswith(_HOST_SUFFIX) and _LABEL.match(label)
            and parts.path.rstrip("/") in ("", "/api/public") and not parts.query and ":" not in parts.netloc):
        return label
    raise UsercomSettingsError(
        f"subdomain = {given[:80]!r} is not a User.com subdomain: give the part before .user.com, e.g. `acme` for "
        f"https://acme.user.com, as {setting_name('subdomain')}; for another host set SOURCES__USERCOM__BASE_URL instead.")


def _check_range(key: str, value: float | None, lowest: float | None, highest: float | None, meaning: str) -> None:
    if value is None and key in ("page_size", "requests_per_second"):
        return
    within = value is not None and not isinstance(value, bool) and math.isfinite(value) and \
        (lowest is None or value >= lowest) and (highest is None or value <= highest)
    if not within:
        bounds = (f"from {lowest:g} to {highest:g}" if highest is not None else f"of {lowest:g} or more")
        shown = f"{value:g}" if isinstance(value, (int, float)) else repr(value)
        raise UsercomSettingsError(f"{key} = {shown} is out of range: give a number {bounds} ({meaning}) "
                                   f"as {setting_name(key)}.")


def _kind(hint: object) -> str:
    text = str(hint)
    kinds = {"bool": "true or false", "int": "a whole number", "float": "a number", "list": 'a list like ["active"]'}
    return next((kind for name, kind in kinds.items() if name in text), "a value of its type")
