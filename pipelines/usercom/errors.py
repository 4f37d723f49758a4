"""Errors of the User.com source: each message names the cause and the fix, never the API key."""


class UsercomError(Exception):
    """Base of every error the source raises on purpose."""


class UsercomConfigError(UsercomError):
    """A configuration value is missing or wrong; raised before any request."""


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
