"""The URLs a run requests: the API root from the settings, the host guard (the key goes only to the configured
origin, over https unless loopback), the `next` links checked against it, and URLs made safe for messages."""

from __future__ import annotations

import ipaddress
import logging
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pipelines.usercom import settings as s
from pipelines.usercom.errors import UsercomConfigError, UsercomPaginationError

log = logging.getLogger("usercom.client")

_SECRET_QUERY_KEYS = {"token", "api_key", "apikey", "key", "access_token"}


def redact_url(url: str) -> str:
    """Returns `url` with any credential-looking query value replaced, for messages and logs."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, "***" if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def resolve_base_url(subdomain: str | None, base_url: str | None) -> str:
    """The API root: `base_url` when set, else the subdomain's; fails with the fix when neither is set."""
    if base_url:
        return base_url if base_url.endswith("/") else base_url + "/"
    if not subdomain:
        raise UsercomConfigError(
            "Missing the User.com subdomain: set SOURCES__USERCOM__SUBDOMAIN (e.g. `acme` for acme.user.com) "
            "or `subdomain` under [sources.usercom] in .dlt/config.toml."
        )
    return s.BASE_URL_TEMPLATE.format(subdomain=subdomain.strip())


def check_transport(base_url: str, allow_insecure_http: bool) -> None:
    """Refuses a base URL that would send the API key in clear: only https://, or http:// on a loopback host
    (the sandbox), unless `allow_insecure_http` says otherwise."""
    parts = urlsplit(base_url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme == "https" and host:
        return
    if scheme == "http" and host and (_is_loopback(host) or allow_insecure_http):
        return
    if scheme == "http" and host:
        raise UsercomConfigError(
            f"Refused the plain http:// base URL on {host}: the API key would travel unencrypted. Use https://, "
            "or pass --allow-insecure-http (allow_insecure_http = true under [sources.usercom]) if you really mean it."
        )
    raise UsercomConfigError(
        f"The base URL must be an https:// URL with a host, like {s.BASE_URL_TEMPLATE.format(subdomain='acme')}.")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, lower-case host, port with the scheme's default) of `url`."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def checked_next(url: str, base_url: str, seen: set[str], http_links_said: threading.Event) -> str:
    """The URL to request for a `next` link: as given on the base URL's origin; over https when the link says
    http:// on the https base's host and port (a TLS-terminating proxy's links; the key never goes in clear).
    Refuses any other origin, naming what differs, and a page already read. `http_links_said` is set once the
    warning about http:// links was logged."""
    scheme, host, port = origin(url)
    base_scheme, base_host, base_port = origin(base_url)
    if (scheme, host) == ("http", base_host) and base_scheme == "https" and (
            port == base_port or (port == 80 and base_port == 443)):
        parts = urlsplit(url)
        url = urlunsplit(parts._replace(scheme="https", netloc=urlsplit(base_url).netloc))
        if not http_links_said.is_set():
            http_links_said.set()
            log.warning("the API's `next` links say http:// on %s; following them over https (the API key is "
                        "never sent in clear)", host)
    elif (scheme, host, port) != (base_scheme, base_host, base_port):
        differs = [f"{what} {theirs} instead of {ours}" for what, theirs, ours in
                   (("host", host, base_host), ("scheme", scheme, base_scheme), ("port", port, base_port))
                   if theirs != ours]
        raise UsercomPaginationError(
            f"Refused to follow `next` to {redact_url(url)}: its {', '.join(differs)}; the API key is only ever "
            "sent to the configured host over the configured scheme. Check base_url/subdomain, or report the API's links."
        )
    if url in seen:
        raise UsercomPaginationError(
            f"The API's `next` link repeats a page already read ({redact_url(url)}); stopped instead of looping. "
            "Nothing of this run was loaded; re-run later."
        )
    return url
