"""One listing fails while the others' requests are still in flight, longer than a failing listing waits for them to
stop: the run fails with the failing listing's own error, not with what dlt raises closing the others, and the data of
the previous run is intact. A real run against a real HTTP server on 127.0.0.1 whose answers are held back."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from pipelines.sandbox import SANDBOX_API_KEY
from pipelines.usercom import settings
from pipelines.usercom.http.read_ahead import STOP_OTHERS_SECONDS
from tests.conftest import reply, run
from tests.test_faults_http import assert_failed_cleanly
from tests.test_pipeline import table_rows

FAILING = "closed"
# the held requests outlast the failing listing's wait for them and dlt's 2 s wait for its worker threads
REQUEST_TIMEOUT_SECONDS = STOP_OTHERS_SECONDS + 6.0


class HeldBackAPI:
    """Answers the listing of FAILING with 404 once every other listing's first request arrived; holds those
    requests unanswered until `close`."""

    def __init__(self) -> None:
        self.arrived: list[str] = []  # the status of each request of another listing
        self.others_arrived = threading.Event()
        self.released = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                status = parse_qs(urlsplit(self.path).query).get(settings.STATUS_PARAM, [""])[0]
                if status == FAILING:
                    api.others_arrived.wait(30)
                    reply(self, 404, b'{"detail": "Not found."}')
                    return
                api.arrived.append(status)
                if set(api.arrived) >= set(settings.STATUSES) - {FAILING}:
                    api.others_arrived.set()
                api.released.wait(60)
                self.close_connection = True  # hung up without an answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/api/public/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Lets the held requests end and stops the server."""
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def held_back():
    api = HeldBackAPI()
    yield api
    api.close()


@pytest.mark.timeout(60)
def test_a_listing_that_fails_while_the_others_wait_for_answers_fails_the_run_with_its_own_error(
        sandbox, data_dir, held_back):
    run(sandbox(tickets=200, page_size=50), data_dir)
    before = table_rows(data_dir, "tickets", "id")

    with pytest.raises(Exception) as failure:
        run(held_back, data_dir, source={"request_timeout_seconds": REQUEST_TIMEOUT_SECONDS, "max_attempts": 3})

    assert held_back.others_arrived.is_set()  # every other listing had a request in flight when FAILING failed
    assert "generator already executing" not in str(failure.value)
    assert_failed_cleanly(failure, data_dir, before, "404", f"status={FAILING}")
    assert SANDBOX_API_KEY not in repr(failure.value)

    held_back.released.set()  # the requests in flight end; the listings they belong to send no other
    for thread in threading.enumerate():
        if thread.name == "usercom-pages":
            thread.join(REQUEST_TIMEOUT_SECONDS)
            assert not thread.is_alive()
    assert sorted(held_back.arrived) == sorted(set(settings.STATUSES) - {FAILING})
