"""A User.com-compatible tickets API on 127.0.0.1 with generated, deterministic tickets.

Used by the demo, the tests and the benchmarks in place of the real API::

    from pipelines.sandbox import SandboxOptions, SandboxServer, SANDBOX_API_KEY

    with SandboxServer(SandboxOptions(tickets=5000)) as server:
        ...  # point the pipeline at server.base_url with SANDBOX_API_KEY

`python -m pipelines.sandbox --tickets N --port P` runs one in the foreground.
"""

from .generate import generate_tickets
from .server import SANDBOX_API_KEY, SandboxOptions, SandboxServer

__all__ = ["SANDBOX_API_KEY", "SandboxOptions", "SandboxServer", "generate_tickets"]
