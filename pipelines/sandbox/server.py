"""A local HTTP server that answers like User.com's `GET /api/public/tickets/`.

It serves the tickets of a `TicketStore` with the real API's envelope, keyset
cursors, token auth and error bodies, plus knobs that make it misbehave on
purpose (latency, 429s, 5xx, truncated bodies) so the pipeline's retries can be
tested against real sockets. It binds to 127.0.0.1 only and never records the
API key or the Authorization header.
"""

from __future__ import annotations

import contextlib
import gzip
import hmac
import random
import re
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

import orjson

from .generate import STATUSES, iter_tickets
from .store import TicketStore, decode_cursor, encode_cursor

__all__ = ["SANDBOX_API_KEY", "TICKETS_PATH", "SandboxOptions", "SandboxServer", "serve"]

#: The sandbox's API key: 64 characters, like a real one, and obviously fake.
SANDBOX_API_KEY = "sandbox-key-" + "0" * 52
#: The only path served; the API insists on the trailing slash.
TICKETS_PATH = "/api/public/tickets/"
_LOOPBACK = {"127.0.0.1", "localhost"}
_ONE_TICKET_PATH = re.compile(r"/api/public/tickets/([0-9]+)/")
_ENTERED_AT_Z = re.compile(rb'("entered_at":"[^"]*?)Z"')
_GATEWAY_HTML = ("<html><head><title>{0} {1}</title></head><body><center><h1>{0} {1}</h1></center>"
                 "<hr><center>nginx</center></body></html>\n")

#: A request hook: hook(server, request_number, status_filter, page_number).
RequestHook = Callable[["SandboxServer", int, "str | None", "int | None"], None]


@dataclass
class SandboxOptions:
    """What the sandbox serves and how it misbehaves; fields may be changed while it runs."""

    tickets: int = 1000  # generated when `ticket_list` is None
    seed: int = 42
    page_size: int = 100
    api_key: str = SANDBOX_API_KEY
    status_param: str = "status"
    latency_ms: float = 0.0  # sleep before answering each request
    rate_limit_every: int = 0  # every Nth request (global counter, N>0) answers 429
    retry_after: str = "0"  # Retry-After header value on 429: seconds, "0", or an HTTP date
    error_rate: float = 0.0  # fraction of requests answered 500/502/503/504 (seeded, deterministic)
    truncate_pages: set = field(default_factory=set)  # {(status_or_None, page_number)} cut in half
    ticket_list: list | None = None  # explicit tickets instead of generated ones
    now: datetime | None = None  # the moment the generated history ends (default generate.DEFAULT_NOW, 2024-06-01)
    # Fault knobs for the fault-injection tests; page sets hold (status_or_None, page_number) like truncate_pages.
    rate_limit_for_seconds: float = 0.0  # >0: rate_limit_every applies only this long after the first request (a storm)
    hang_pages: set = field(default_factory=set)  # read the request, then answer nothing for hang_seconds
    hang_seconds: float = 30.0
    drip_pages: set = field(default_factory=set)  # answer one byte every drip_interval seconds
    drip_interval: float = 1.0
    drop_pages: set = field(default_factory=set)  # full Content-Length, half the body, then the connection closes
    html_pages: set = field(default_factory=set)  # 200 with a proxy's HTML error page instead of JSON
    gzip: bool = False  # gzip page bodies for clients that accept it (truncate_pages then cuts the gzip stream)
    empty_pages: dict = field(default_factory=dict)  # {(status, page): n}: n empty pages, each linking on, before it
    next_self_pages: set = field(default_factory=set)  # the page's `next` is the very URL just requested
    count_drift: int = 0  # `count` grows by this on every page after the first
    redirect_to: str | None = None  # every tickets request answers 302 with this Location
    tls: tuple[str, str] | None = None  # (certificate file, key file): serve https instead of http (set before start)
    # Behaviours reported of the real API by its public clients (docs/sandbox.md, "Quirks of the real API").
    requests_per_second: float = 0.0  # >0: at most this many requests in any 1 s window; beyond, 429 with `retry_after`
    unauthorized_burst: int = 0  # >0: more requests than this within 1 s open a 401 window of `unauthorized_seconds`
    unauthorized_seconds: float = 0.5
    dangling_last_next: bool = False  # the last page's `next` is a URL, and a page past the end answers 404
    next_over_http: bool = False  # `next`/`previous` links say http:// on the same host and port (serving https)
    ignore_status_filter: bool = False  # the status parameter is accepted and ignored: every listing lists every ticket
    entered_at_offsets: bool = False  # `status_history[].entered_at` as `+00:00` instead of `Z`


class _Headers(dict):
    """Request headers keyed by lower-case name (the last value wins)."""

    def get(self, name: str, default=None):
        """The value of header `name` (any case), or `default`."""
        return dict.get(self, name.lower(), default)


class _Handler(BaseHTTPRequestHandler):
    """Per-connection HTTP/1.1 handler; all logic lives in SandboxServer.

    `handle_one_request` is a lean replacement for http.server's (whose email
    based header parsing costs more than serving a cached page): request line,
    header lines into a dict, keep-alive rules of HTTP/1.0 and 1.1.
    """

    protocol_version = "HTTP/1.1"
    server_version = "UserComSandbox/1.0"
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections are closed after this many seconds
    max_line = 65536
    max_headers = 100
    sandbox: SandboxServer  # set on a per-server subclass

    def handle(self) -> None:
        """Serve requests until the client goes away, quietly if it hangs up mid-response."""
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def handle_one_request(self) -> None:
        """Read one request, dispatch it to do_<METHOD>; close the connection when HTTP says so."""
        self.close_connection = True
        try:
            line = self.rfile.readline(self.max_line + 1)
        except TimeoutError:
            return
        if not line:
            return
        if len(line) > self.max_line:
            return self._reject(414, "Request-URI Too Long")
        self.raw_requestline = line
        self.requestline = line.decode("iso-8859-1").rstrip("\r\n")
        parts = self.requestline.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return self._reject(400, "Bad request syntax")
        self.command, self.path, self.request_version = parts
        headers = _Headers()
        while True:
            raw = self.rfile.readline(self.max_line + 1)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, colon, value = raw.decode("iso-8859-1").partition(":")
            if len(raw) > self.max_line or len(headers) >= self.max_headers or not colon:
                return self._reject(431 if colon else 400, "Bad request header")
            headers[name.strip().lower()] = value.strip()
        self.headers = headers
        connection = headers.get("connection", "").lower()
        keep_alive = self.request_version == "HTTP/1.1" or connection == "keep-alive"
        self.close_connection = not keep_alive or connection == "close"
        if headers.get("transfer-encoding"):
            self.close_connection = True  # a chunked request body is never read
        else:
            length = headers.get("content-length", "0")
            if not length.isdigit():
                return self._reject(400, "Bad Content-Length")
            if int(length) > 1 << 20:
                self.close_connection = True  # not worth reading: answer, then hang up
            elif int(length):
                self.rfile.read(int(length))  # keep the connection in step with the client
        handler = getattr(self, "do_" + self.command, None)
        if handler is None:
            handler = self._method_not_allowed
        handler()

    def _reject(self, code: int, message: str) -> None:
        """Answer a malformed request and close the connection."""
        self.close_connection = True
        self.sandbox._send(self, code, orjson.dumps({"detail": message}))

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        """Answer a GET."""
        self.sandbox._handle_get(self)

    def do_DELETE(self) -> None:  # noqa: N802
        """Delete one ticket (`DELETE /api/public/tickets/<id>/`); 405 elsewhere, as other methods."""
        self.sandbox._handle_delete(self)

    def _method_not_allowed(self) -> None:
        """Answer any other method with 405."""
        self.close_connection = True
        self.sandbox._handle_other(self)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        """Print nothing: no per-request lines, and never a header."""


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks open connections so `stop` can close keep-alive ones."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, handler) -> None:
        self.connections: set = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        """Remember the connection, then serve it in its own thread."""
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        """Forget and close a finished connection."""
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        """Stay quiet about clients that disconnect; report real bugs."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class SandboxServer:
    """A User.com-compatible tickets API on 127.0.0.1, for the demo and the tests.

    Use as a context manager (`with SandboxServer(options) as server:`) or call
    `start()`/`stop()`. `base_url` is the API root to give the pipeline.
    """

    def __init__(self, options: SandboxOptions | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        """Prepare the data (generated or `options.ticket_list`); nothing listens until `start()`."""
        if host not in _LOOPBACK:
            raise ValueError("the sandbox binds to 127.0.0.1 only")
        self.options = options if options is not None else SandboxOptions()
        self.host, self.port = "127.0.0.1", port
        source = self.options.ticket_list
        self._store = TicketStore(
            source if source is not None else iter_tickets(self.options.tickets, self.options.seed, self.options.now)
        )
        self.request_log: list[dict] = []
        self.stats = {"requests": 0, "rate_limited": 0, "server_errors": 0, "truncated": 0, "pages": 0,
                      "hung": 0, "dripped": 0, "dropped": 0, "html": 0, "empty": 0, "redirected": 0,
                      "unauthorized_burst": 0, "past_the_end": 0}
        self._allowed_at: deque = deque()  # arrival times of the requests the rate limit let through, last 1 s
        self._arrivals: deque = deque()  # arrival times of every request, last 1 s (for the 401 bursts)
        self._unauthorized_until = 0.0
        self._first_request_at: float | None = None
        self._stopping = threading.Event()
        self.hook_errors: list[BaseException] = []
        self._hook: RequestHook | None = None
        self._count_lock = threading.Lock()
        self._request_number = 0
        self._errors_rng = random.Random(self.options.seed)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._date = (0, "")

    # ----- lifecycle -----------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The API root, `http(s)://127.0.0.1:<port>/api/public/` (trailing slash).

        Known once the port is: after `start()` (and still after `stop()`), or
        from the start when a fixed port was given.
        """
        if self.port == 0:
            raise RuntimeError("the sandbox has no port yet: call start() first")
        return f"{self.scheme}://{self.host}:{self.port}/api/public/"

    @property
    def scheme(self) -> str:
        """`https` when the sandbox serves TLS (`options.tls`), else `http`."""
        return "https" if self.options.tls else "http"

    def start(self) -> SandboxServer:
        """Bind and serve in a daemon thread; return self."""
        if self._httpd is not None:
            return self
        handler = type("SandboxHandler", (_Handler,), {"sandbox": self})
        self._httpd = _HTTPServer((self.host, self.port), handler)
        if self.options.tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self.options.tls)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="usercom-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close open connections; safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers that hang or drip on purpose
        httpd.shutdown()
        httpd.server_close()
        with httpd.connections_lock:
            connections = list(httpd.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(2)  # socket.SHUT_RDWR: wakes the handler thread blocked in recv
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        """Start the server."""
        return self.start()

    def __exit__(self, *exc_info) -> None:
        """Stop the server."""
        self.stop()

    # ----- data ----------------------------------------------------------------------
    def tickets(self) -> list[dict]:
        """A deep copy of every ticket, in id order: what a full listing should load."""
        return self._store.all()

    def set_tickets(self, tickets: list[dict]) -> None:
        """Replace all tickets (copied)."""
        self._store.replace(tickets)

    def add_ticket(self, ticket: dict) -> None:
        """Add a ticket (copied); its id must be new."""
        self._store.add(ticket)

    def update_ticket(self, ticket_id: int, **changes) -> dict:
        """Apply `changes` to a ticket and return its new state.

        Unless `updated_at` is among the changes, it becomes 1 second after the
        newest `updated_at` in the data set (so strictly the newest). If the status
        changes and the ticket has a `status_history`, an entry for the new status
        is appended at the new `updated_at`.
        """
        return self._store.update(ticket_id, changes)

    def delete_ticket(self, ticket_id: int) -> None:
        """Remove a ticket; KeyError if there is none."""
        self._store.delete(ticket_id)

    def on_request(self, hook: RequestHook | None) -> None:
        """Call `hook(server, request_number, status, page_number)` before each tickets request.

        It runs under the data lock, so it may call `update_ticket` and friends
        consistently; `status` is the filter (None for all tickets) and
        `page_number` the 1-based page the request points at (None if the
        request is malformed). Pass None to remove the hook. If the hook raises,
        the exception is kept in `hook_errors` and the request answers 500.
        """
        self._hook = hook

    # ----- HTTP ----------------------------------------------------------------------
    def _handle_get(self, handler: _Handler) -> None:
        """Apply the knobs in order (hook, latency, 429, 5xx, auth) and serve one GET."""
        opts = self.options
        path, query = self._split(handler.path)
        number, entry = self._begin(handler, opts, path, query)
        self._respond(handler, opts, number, path, query, entry)

    def _handle_delete(self, handler: _Handler) -> None:
        """Delete a ticket as User.com's UI or API would: with the key, `DELETE /api/public/tickets/<id>/` answers
        204 and the ticket is in no listing any more (404 for an id it does not have); any other path is 405."""
        path, query = self._split(handler.path)
        match = _ONE_TICKET_PATH.fullmatch(path)
        if match is None:
            return self._handle_other(handler)
        _, entry = self._begin(handler, self.options, path, query)
        if not entry["auth_ok"]:
            return self._json(handler, entry, 401, {"detail": "Invalid token."}, extra=(("WWW-Authenticate", "Token"),))
        try:
            self.delete_ticket(int(match[1]))
        except KeyError:
            return self._json(handler, entry, 404, {"detail": "Not found."})
        entry["status_code"] = 204
        self._send(handler, 204, b"")

    def _handle_other(self, handler: _Handler) -> None:
        """Answer a non-GET method with 405 (logged like any request)."""
        opts = self.options
        _, entry = self._begin(handler, opts, *self._split(handler.path))
        entry["status_code"] = 405
        body = orjson.dumps({"detail": f'Method "{handler.command}" not allowed.'})
        self._send(handler, 405, body, extra=(("Allow", "GET"),), head_only=handler.command == "HEAD")

    @staticmethod
    def _split(target: str) -> tuple[str, dict]:
        """Path and query parameters (last value wins) of a request target."""
        split = urlsplit(target)
        return split.path, {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}

    def _begin(self, handler: _Handler, opts: SandboxOptions, path: str, query: dict) -> tuple[int, dict]:
        """Count the request and log it (redacted); return (request number, log entry).

        The entry is in `request_log` before anything is sent, and its
        `status_code` is set just before the response is written, so a client
        that has its answer always finds the matching entry complete.
        """
        with self._count_lock:
            self._request_number += 1
            number = self._request_number
            self.stats["requests"] += 1
            if self._first_request_at is None:
                self._first_request_at = time.monotonic()
        authorization = handler.headers.get("Authorization")
        entry = {
            "path": path,
            "query": dict(query),
            "status_code": 0,
            "accept": handler.headers.get("Accept"),
            "auth_ok": self._auth_ok(authorization, opts.api_key),
            "authorization_present": authorization is not None,
        }
        if handler.command != "GET":
            entry["method"] = handler.command
        self._redact(entry, opts.api_key, authorization)
        self.request_log.append(entry)
        return number, entry

    def _respond(self, handler, opts: SandboxOptions, number: int, path: str, query: dict, entry: dict) -> None:
        """Decide and send the response to one GET; sets the log entry's status_code first."""
        is_tickets = path == TICKETS_PATH
        status = cursor = problem = page_number = None
        page_size = max(1, int(opts.page_size))
        if is_tickets:
            status = query.get(opts.status_param)
            if status is not None and not self._store.is_status(status):
                problem = f'Select a valid choice. "{status}" is not one of the available choices: {", ".join(STATUSES)}.'
            if "cursor" in query:
                try:
                    cursor = decode_cursor(query["cursor"])
                except ValueError:
                    problem = problem or "Invalid cursor"
            hook = self._hook
            with self._store.lock:
                if problem is None:
                    page_number = self._store.page_number(cursor)
                if hook is not None:
                    try:
                        hook(self, number, status, page_number)
                    except Exception as exc:  # a broken test hook must be visible, not hang the client
                        self.hook_errors.append(exc)
                        return self._json(handler, entry, 500, {"detail": f"sandbox hook failed: {exc!r}"})

        if opts.latency_ms > 0:
            time.sleep(opts.latency_ms / 1000)
        if opts.rate_limit_every > 0 and number % opts.rate_limit_every == 0 and (
            opts.rate_limit_for_seconds <= 0 or time.monotonic() - self._first_request_at < opts.rate_limit_for_seconds
        ):
            self._bump("rate_limited")
            return self._json(
                handler, entry, 429, {"detail": "Request was throttled."}, extra=(("Retry-After", str(opts.retry_after)),)
            )
        throttled = self._over_the_limits(opts)
        if throttled == 429:
            self._bump("rate_limited")
            return self._json(
                handler, entry, 429, {"detail": "Request was throttled."}, extra=(("Retry-After", str(opts.retry_after)),)
            )
        if throttled == 401:
            self._bump("unauthorized_burst")
            return self._json(handler, entry, 401, {"detail": "Invalid token."}, extra=(("WWW-Authenticate", "Token"),))
        if opts.error_rate > 0:
            with self._count_lock:
                failing = self._errors_rng.random() < opts.error_rate
                code = self._errors_rng.choice((500, 502, 503, 504)) if failing else 0
            if failing:
                self._bump("server_errors")
                return self._server_error(handler, entry, code)
        if not is_tickets:  # unknown URLs are 404 whatever the key, as on the real API
            return self._json(handler, entry, 404, {"detail": "Not found."})
        if opts.redirect_to is not None and is_tickets:
            self._bump("redirected")
            return self._json(handler, entry, 302, {"detail": "Moved."}, extra=(("Location", opts.redirect_to),))
        if not entry["auth_ok"]:
            return self._json(
                handler, entry, 401, {"detail": "Invalid token."}, extra=(("WWW-Authenticate", "Token"),)
            )
        if problem is not None:
            return self._json(handler, entry, 400, {"detail": problem})

        suffix = f"&{quote(opts.status_param)}={quote(status, safe='')}" if status is not None else ""
        prefix = f"{'http' if opts.next_over_http else self.scheme}://{self.host}:{self.port}{TICKETS_PATH}?cursor="
        listed = None if opts.ignore_status_filter else status
        body, page_number = self._store.page(listed, cursor, page_size, prefix, suffix)
        if opts.dangling_last_next:
            body = self._dangling(body, page_number, prefix, suffix)
            if body is None:
                self._bump("past_the_end")
                return self._json(handler, entry, 404, {"detail": "Invalid page."})
        if opts.entered_at_offsets:
            body = _ENTERED_AT_Z.sub(rb'\1+00:00"', body)
        self._bump("pages")
        body = self._page_faults(handler, entry, opts, status, page_number, query, body)
        if body is None:
            return
        extra = ()
        if opts.gzip and "gzip" in handler.headers.get("Accept-Encoding", ""):
            body, extra = gzip.compress(body, mtime=0), (("Content-Encoding", "gzip"),)
        if (status, page_number) in opts.truncate_pages or (None, page_number) in opts.truncate_pages:
            self._bump("truncated")
            body = body[: len(body) // 2]
        entry["status_code"] = 200
        self._send(handler, 200, body, extra=extra)

    def _over_the_limits(self, opts: SandboxOptions) -> int | None:
        """429 when the request is beyond `requests_per_second` in the last second, 401 inside a burst window."""
        if opts.requests_per_second <= 0 and opts.unauthorized_burst <= 0:
            return None
        now = time.monotonic()
        with self._count_lock:
            if opts.unauthorized_burst > 0:
                self._arrivals.append(now)
                while self._arrivals[0] <= now - 1.0:
                    self._arrivals.popleft()
                if len(self._arrivals) > opts.unauthorized_burst:
                    self._unauthorized_until = now + opts.unauthorized_seconds
                    self._arrivals.clear()
                if now < self._unauthorized_until:
                    return 401
            if opts.requests_per_second > 0:
                while self._allowed_at and self._allowed_at[0] <= now - 1.0:
                    self._allowed_at.popleft()
                if len(self._allowed_at) >= opts.requests_per_second:
                    return 429
                self._allowed_at.append(now)
        return None

    @staticmethod
    def _dangling(body: bytes, page_number: int, prefix: str, suffix: str) -> bytes | None:
        """The last page with a `next` link onwards; None for a page past the end (answered 404, as Django REST
        framework's page-number pagination does)."""
        doc = orjson.loads(body)
        if not doc["results"]:
            return None if page_number > 1 else body
        if doc["next"] is None:
            doc["next"] = prefix + encode_cursor("after", doc["results"][-1]["id"], page_number + 1) + suffix
            return orjson.dumps(doc)
        return body

    def _page_faults(self, handler, entry: dict, opts: SandboxOptions, status, page_number: int, query: dict, body: bytes):
        """Apply the page fault knobs: returns the (maybe rewritten) body, or None when the answer was sent here."""

        def hit(pages) -> bool:
            return (status, page_number) in pages or (None, page_number) in pages

        here = f"{self.scheme}://{self.host}:{self.port}{handler.path}"
        empties = opts.empty_pages.get((status, page_number), opts.empty_pages.get((None, page_number), 0))
        done = int(query.get("_empty", "0") or 0)
        if done < empties:
            self._bump("empty")
            doc = orjson.loads(body)
            marker = f"_empty={done}"
            separator = "&" if "?" in here else "?"
            onward = here.replace(marker, f"_empty={done + 1}") if done else f"{here}{separator}_empty=1"
            body = orjson.dumps({"count": doc["count"], "next": onward, "previous": doc["previous"], "results": []})
        elif hit(opts.next_self_pages) or (opts.count_drift and page_number > 1):
            doc = orjson.loads(body)
            if hit(opts.next_self_pages):
                doc["next"] = here
            doc["count"] += opts.count_drift * (page_number - 1)
            body = orjson.dumps(doc)
        if hit(opts.hang_pages):
            self._bump("hung")
            entry["status_code"] = -1
            self._stopping.wait(opts.hang_seconds)
            handler.close_connection = True
            return None
        if hit(opts.html_pages):
            self._bump("html")
            entry["status_code"] = 200
            self._send(handler, 200, _GATEWAY_HTML.format(502, "Bad Gateway").encode(), content_type="text/html")
            return None
        if hit(opts.drip_pages) or hit(opts.drop_pages):
            dropping = hit(opts.drop_pages)
            self._bump("dropped" if dropping else "dripped")
            entry["status_code"] = 200
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n").encode()
            handler.close_connection = True
            try:
                if dropping:
                    handler.connection.sendall(head + body[: len(body) // 2])
                    return None
                data = head + body
                for i in range(len(data)):
                    handler.connection.sendall(data[i:i + 1])
                    if self._stopping.wait(opts.drip_interval):
                        break
            except OSError:
                pass
            return None
        return body

    @staticmethod
    def _auth_ok(authorization: str | None, api_key: str) -> bool:
        """Whether the header is `Token <api_key>` (scheme case-insensitive, constant-time compare)."""
        if not authorization:
            return False
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "token":
            return False
        return hmac.compare_digest(token.strip().encode(), api_key.encode())

    @staticmethod
    def _redact(entry: dict, api_key: str, authorization: str | None) -> None:
        """Strip the key (and whatever token was sent) from the logged path and query."""
        sent = (authorization or "").strip()
        secrets = [s for s in (api_key, sent, sent.partition(" ")[2].strip()) if len(s) >= 4]
        secrets.sort(key=len, reverse=True)
        if not secrets:
            return

        def clean(text: str) -> str:
            """`text` with every secret replaced."""
            for secret in secrets:
                text = text.replace(secret, "[redacted]")
            return text

        entry["path"] = clean(entry["path"])
        entry["query"] = {clean(k): clean(v) for k, v in entry["query"].items()}

    def _bump(self, counter: str) -> None:
        """Increment one of `stats`."""
        with self._count_lock:
            self.stats[counter] += 1

    def _json(self, handler, entry: dict, code: int, payload: dict, extra=()) -> None:
        """Send a JSON response and record its status code."""
        entry["status_code"] = code
        self._send(handler, code, orjson.dumps(payload), extra=extra)

    def _server_error(self, handler, entry: dict, code: int) -> None:
        """Send a 5xx: JSON from the app for 500, an nginx HTML page for gateway errors."""
        entry["status_code"] = code
        if code == 500:
            return self._send(handler, code, orjson.dumps({"detail": "A server error occurred."}))
        reason = handler.responses[code][0]
        body = _GATEWAY_HTML.format(code, reason).encode()
        self._send(handler, code, body, content_type="text/html")

    def _send(self, handler, code: int, body: bytes, content_type="application/json", extra=(), head_only=False):
        """Write status line, headers and body in one write (HTTP/1.1, exact Content-Length)."""
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, formatdate(now, usegmt=True))
        reason = handler.responses.get(code, ("",))[0]
        lines = [
            f"HTTP/1.1 {code} {reason}",
            f"Date: {self._date[1]}",
            f"Server: {handler.server_version}",
            f"Content-Type: {content_type}",
        ]
        if code != 204:  # a 204 carries no body, and says no length (RFC 9110)
            lines.append(f"Content-Length: {len(body)}")
        lines.extend(f"{name}: {value}" for name, value in extra)
        if handler.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if head_only or not body:
            handler.connection.sendall(head)
            return
        if isinstance(handler.connection, ssl.SSLSocket):  # TLS has no scatter-gather send
            handler.connection.sendall(head + body)
            return
        sent = handler.connection.sendmsg([head, body])  # one syscall, no copy of the body
        if sent < len(head):
            handler.connection.sendall(head[sent:])
            sent = len(head)
        if sent - len(head) < len(body):
            handler.connection.sendall(memoryview(body)[sent - len(head) :])


def serve(options: SandboxOptions, host: str = "127.0.0.1", port: int = 8765,
          guide: Callable[[str, str], str] | None = None) -> None:
    """Run the sandbox in the foreground until Ctrl-C; `guide(base_url, api_key)`, when given, is printed once it
    listens (the command line's lines to paste)."""
    server = SandboxServer(options, host, port).start()
    key = "sandbox key" if options.api_key == SANDBOX_API_KEY else "custom key"
    print(
        f"User.com sandbox on {server.base_url} ({len(server._store)} tickets, key: {key}, "
        "bound to 127.0.0.1 only)",
        flush=True,
    )
    if guide is not None:
        print(guide(server.base_url, options.api_key), flush=True)
    try:
        while server._thread is not None and server._thread.is_alive():
            server._thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
