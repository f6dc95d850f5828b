"""Real HTTP/1.1 servers on 127.0.0.1 for the engine tests.

Each :class:`TestServer` runs its own asyncio loop in a daemon thread and
answers according to a :class:`Behaviour`: a fixed delay, a one-off stall of
N ms starting T seconds after the first request, a redirect, a share of 500s,
a fixed status, a malformed response, or a hang-up. ``hits`` counts every
request, which makes any server a canary.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httptools


@dataclass(frozen=True)
class Behaviour:
    delay_ms: float = 0.0
    stall_after_s: float | None = None  # seconds after the first request
    stall_ms: float = 0.0
    redirect_to: str | None = None
    error_every: int = 0  # every Nth request answers 500 (N=10 -> 10 %)
    status: int = 200
    malformed: bool = False
    hang_up: bool = False  # close the connection instead of answering
    body: bytes = b"ok"


class _Conn(asyncio.Protocol):
    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.host = b""

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"host":
            self.host = value

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections += 1

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_message_complete(self) -> None:
        self.server.host_headers.append(self.host.decode("latin-1"))
        self.server.request_received(self, self.url)
        self.url = b""


class TestServer:
    """``with TestServer(Behaviour(delay_ms=20)) as server: server.url``."""

    __test__ = False  # not a pytest test class

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.hits = 0
        self.connections = 0
        self.paths: list[str] = []
        self.host_headers: list[str] = []
        self.first_request: float | None = None
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._ready = threading.Event()
        self._server: asyncio.base_events.Server | None = None

    # -- lifecycle ---------------------------------------------------------------
    def __enter__(self) -> TestServer:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._server = self.loop.run_until_complete(
            self.loop.create_server(lambda: _Conn(self), sock=sock)
        )
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            self._server.close()
            with contextlib.suppress(Exception):
                self.loop.run_until_complete(self._server.wait_closed())
            self.loop.close()

    # -- behaviour ---------------------------------------------------------------
    def request_received(self, conn: _Conn, url: bytes) -> None:
        now = time.monotonic()
        self.hits += 1
        self.paths.append(url.decode("latin-1"))
        if self.first_request is None:
            self.first_request = now
        b = self.behaviour
        respond_at = now + b.delay_ms / 1000
        if b.stall_after_s is not None:
            start = self.first_request + b.stall_after_s
            end = start + b.stall_ms / 1000
            if start <= respond_at < end:
                respond_at = end
        delay = respond_at - now
        if delay > 0:
            self.loop.call_later(delay, self._respond, conn, self.hits)
        else:
            self._respond(conn, self.hits)

    def _respond(self, conn: _Conn, n: int) -> None:
        transport = conn.transport
        if transport is None or transport.is_closing():
            return
        b = self.behaviour
        if b.hang_up:
            transport.close()
            return
        if b.malformed:
            transport.write(b"HTTP/1.1 ZZZ not a status\r\n\x00\x01garbage\r\n\r\n")
            return
        status, reason, extra = b.status, b"OK", b""
        if b.redirect_to is not None:
            status, reason = 302, b"Found"
            extra = b"Location: " + b.redirect_to.encode() + b"\r\n"
        elif b.error_every and n % b.error_every == 0:
            status, reason = 500, b"Internal Server Error"
        transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n%s\r\n%s"
            % (status, reason, len(b.body), extra, b.body)
        )


@contextlib.contextmanager
def running(behaviour: Behaviour | None = None) -> Iterator[TestServer]:
    with TestServer(behaviour) as server:
        yield server


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on (for connect-refused tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
