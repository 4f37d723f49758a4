"""GET requests to the API's one host, on urllib3's public pool managers, with requests' exceptions.

requests' `Session.get` spends ~0.9 ms of the GIL on each request around urllib3's own work: merging
session settings, cookies, hooks, a second response object. A listing reads hundreds of pages one after
the other, so that was a third of an extract's GIL time at 100,000 tickets. Here the proxy and TLS
verification are read from the environment once, as requests reads them (`merge_environment_settings`:
HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, ...), each request goes straight to urllib3's `urlopen`, and
urllib3's errors become the requests exceptions that `requests.Session.get` raises for them, so callers
(and their retries) see the same errors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import requests
from requests.utils import select_proxy
from urllib3 import PoolManager, ProxyManager
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    DecodeError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import Timeout, make_headers

from pipelines.usercom.http.deadline import deadline_pools


@dataclass
class Answer:
    """One response: status, headers (case-insensitive) and the whole body."""

    status_code: int
    headers: object  # urllib3's HTTPHeaderDict
    content: bytes

    @property
    def text(self) -> str:
        """The body as text (undecodable bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")


class Transport:
    """Keep-alive GETs to the host of `base_url` with fixed headers; one per listing (one thread)."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: tuple[float, float]) -> None:
        with requests.Session() as session:  # only to read the environment as requests would for this URL
            environment = session.merge_environment_settings(base_url, {}, None, None, None)
        self._manager = deadline_pools(_pool_manager(select_proxy(base_url, environment["proxies"]),
                                                     environment["verify"]))
        self._headers = {**requests.utils.default_headers(), **headers}
        self._timeout = Timeout(connect=timeout[0], read=timeout[1])

    def get(self, url: str) -> Answer:
        """GETs `url` (on the base URL's host) and reads the whole body; raises requests' exceptions."""
        request = requests.PreparedRequest()
        request.prepare(method="GET", url=url, headers=self._headers)
        try:
            response = self._manager.urlopen(
                "GET", request.url, headers=request.headers, redirect=False, preload_content=False,
                decode_content=False, retries=False, timeout=self._timeout,
            )
        except (ProtocolError, OSError, ClosedPoolError, NewConnectionError) as error:
            raise requests.ConnectionError(error, request=request) from None
        except ConnectTimeoutError as error:
            raise requests.ConnectTimeout(error, request=request) from None
        except ReadTimeoutError as error:
            raise requests.ReadTimeout(error, request=request) from None
        except ProxyError as error:
            raise requests.exceptions.ProxyError(error, request=request) from None
        except SSLError as error:
            raise requests.exceptions.SSLError(error, request=request) from None
        try:
            content = response.read(decode_content=True)
        except ProtocolError as error:
            raise requests.exceptions.ChunkedEncodingError(error) from None
        except DecodeError as error:
            raise requests.exceptions.ContentDecodingError(error) from None
        except ReadTimeoutError as error:
            raise requests.ConnectionError(error) from None
        except SSLError as error:
            raise requests.exceptions.SSLError(error) from None
        finally:
            response.release_conn()
        return Answer(response.status, response.headers, content)

    def close(self) -> None:
        """Closes the pooled connections."""
        self._manager.clear()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _pool_manager(proxy: str | None, verify: bool | str) -> PoolManager:
    """The pools requests would use: through `proxy` when the environment names one, verifying TLS as `verify` says
    (True: the certifi bundle requests ships with; a path: that bundle or folder; False: not at all)."""
    if verify is False:
        tls = {"cert_reqs": "CERT_NONE"}
    else:
        bundle = requests.certs.where() if verify is True else verify
        tls = {"cert_reqs": "CERT_REQUIRED", **({"ca_cert_dir": bundle} if os.path.isdir(bundle) else {"ca_certs": bundle})}
    if not proxy:
        return PoolManager(**tls)
    if proxy.lower().startswith("socks"):
        from urllib3.contrib.socks import SOCKSProxyManager  # needs PySocks, as requests' SOCKS support does

        return SOCKSProxyManager(proxy, **tls)
    parts = urlsplit(proxy)
    credentials = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}" if parts.username else None
    return ProxyManager(proxy, proxy_headers=make_headers(proxy_basic_auth=credentials) if credentials else None, **tls)
