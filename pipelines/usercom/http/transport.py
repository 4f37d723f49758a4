"""GET requests to the API's one host, through a connection pool that requests' adapter set up, sent by urllib3.

requests' `Session.get` spends ~0.9 ms of the GIL on each request around urllib3's own work: merging
session settings, cookies, hooks, a second response object. A listing reads hundreds of pages one after
the other, so that was a third of an extract's GIL time at 100,000 tickets. Here requests' `HTTPAdapter`
still chooses the pool once (proxy and TLS verification from the environment, as requests does), each
request goes straight to urllib3's `urlopen`, and urllib3's errors become the requests exceptions that
`requests.Session.get` raises for them, so callers (and their retries) see the same errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
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
from urllib3.util import Timeout

from pipelines.usercom.http.deadline import DeadlineAdapter


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
        self._proxies = environment["proxies"]
        self._verify = environment["verify"]
        self._adapter = DeadlineAdapter()
        self._headers = {**requests.utils.default_headers(), **headers}
        self._timeout = Timeout(connect=timeout[0], read=timeout[1])

    def get(self, url: str) -> Answer:
        """GETs `url` (on the base URL's host) and reads the whole body; raises requests' exceptions."""
        request = requests.PreparedRequest()
        request.prepare(method="GET", url=url, headers=self._headers)
        try:
            pool = self._adapter.get_connection_with_tls_context(request, self._verify, proxies=self._proxies)
            self._adapter.cert_verify(pool, url, self._verify, None)
            response = pool.urlopen(
                "GET", self._adapter.request_url(request, self._proxies), headers=request.headers,
                redirect=False, assert_same_host=False, preload_content=False, decode_content=False,
                retries=False, timeout=self._timeout,
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
        self._adapter.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

