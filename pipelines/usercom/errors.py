"""Every exception of the extract layer, in one place.

Raised to the user (each message names the cause and the fix, never the API key): `UsercomError` and its
subclasses. Raised and caught inside the extract layer, never seen by a user: `NotColumnar` (flatten/),
`NotCoercible` (flatten/), `Retryable` and `Halted` (http/).
"""

from __future__ import annotations

from dlt.common.configuration.exceptions import ConfigFieldMissingException


class UsercomError(Exception):
    """Base of every error the source raises on purpose."""


class UsercomConfigError(UsercomError):
    """A configuration value is missing or wrong; raised before any request."""


class UsercomSettingsError(UsercomConfigError):
    """A source setting's value cannot work (a number out of range, a subdomain that is not one); raised as the
    settings are resolved, before any request."""

    exit_code = 4  # configuration


class UsercomHTTPError(UsercomError):
    """The API answered with a status the pipeline does not retry (or retried in vain)."""

    def __init__(self, message: str, status_code: int | None, url: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.url = url


class UsercomResponseError(UsercomError):
    """The API answered 200 with a body that is not the documented page shape."""


class UsercomPaginationError(UsercomError):
    """A `next` link points to another host or back to a page already read."""


class RunLockedError(UsercomError):
    """Another run holds the data directory."""


HINTS_BY_STATUS = {
    400: "the request was malformed; check `status_param` and `statuses` in [sources.usercom]",
    401: "the API key was rejected; set a valid key as SOURCES__USERCOM__API_KEY or `api_key` under [sources.usercom] "
         "in .dlt/secrets.toml",
    403: "the key is not allowed to read this endpoint; give the key's user access to tickets in User.com",
    404: "no such resource; check SOURCES__USERCOM__SUBDOMAIN (or SOURCES__USERCOM__BASE_URL)",
}


def http_error(status_code: int, url: str, server_message: str) -> UsercomHTTPError:
    """Builds the error for a non-retried HTTP status: status, URL (no secrets), server's words, likely fix."""
    hint = HINTS_BY_STATUS.get(status_code, "see the server's message")
    detail = f" Server said: {server_message[:300]}" if server_message else ""
    return UsercomHTTPError(f"User.com API answered {status_code} for GET {url}: {hint}.{detail}", status_code, url)


def missing_config_error(error: ConfigFieldMissingException) -> UsercomConfigError:
    """The one-line error for settings dlt could not find, saying where to set them."""
    return UsercomConfigError(
        f"Missing configuration {', '.join(error.fields)} for sources.usercom: set SOURCES__USERCOM__API_KEY and "
        "SOURCES__USERCOM__SUBDOMAIN (or api_key in .dlt/secrets.toml and subdomain in .dlt/config.toml)."
    )


# ----- signals inside the extract layer ------------------------------------------------------------------

class NotColumnar(Exception):
    """A page (or a part of it) the columnar path does not take; the row-by-row path reads it instead."""


class NotCoercible(ValueError):
    """A value that does not fit the column's type."""


class Retryable(Exception):
    """An answer worth another try: 429, 5xx, a 401 once the key was accepted, or a 200 whose body was cut short."""

    def __init__(self, message: str, response: object | None = None) -> None:
        super().__init__(message)
        self.response = response  # the `Answer`, when there was one


class Halted(Exception):
    """The consumer of a listing went away: no further request."""
