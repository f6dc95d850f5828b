"""Connections the runner drives: a fast HTTP/1.1 client and an aiohttp one.

Both expose the same small surface to :class:`probes.engine.runner._Run`:
``send(intended, now, measured)`` starts one request; the connection calls
back ``run.done(conn, status, location, keep_alive)`` or
``run.fail(conn, error_class)``.

The fast path is a plain ``asyncio.Protocol`` per keep-alive connection with
``httptools`` parsing responses: no coroutine, future or task per request,
which is what lets one Python process hold tens of thousands of requests a
second. aiohttp handles TLS (connecting to the guarded address while sending
SNI and verifying the certificate for the original host name), HEAD and
large bodies.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from typing import TYPE_CHECKING, Any

import httptools

from probes.engine.model import Target

if TYPE_CHECKING:
    import aiohttp

    from probes.engine.runner import _Run

_perf = time.perf_counter
LARGE_BODY_BYTES = 256 * 1024
USER_AGENT = "archway-probe/1"


def build_request(target: Target) -> bytes:
    """The exact request bytes sent for every request of a run."""
    method = target.method.upper()
    if not method.isalpha():
        raise ValueError(f"method {target.method!r} is not a token")
    path = target.path or "/"
    if any(c in path for c in " \r\n\t\x00"):
        raise ValueError("the path contains whitespace or control characters")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {target.host_header}"]
    names = {name.lower() for name, _ in target.headers}
    if "user-agent" not in names:
        lines.append(f"User-Agent: {USER_AGENT}")
    if "accept" not in names:
        lines.append("Accept: */*")
    for name, value in target.headers:
        if any(c in name + value for c in "\r\n\x00") or ":" in name or not name:
            raise ValueError(f"header {name!r} is not a valid header")
        if name.lower() in ("host", "content-length", "transfer-encoding", "connection"):
            continue  # the engine owns framing and the Host header
        lines.append(f"{name}: {value}")
    if target.body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(target.body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + target.body


def needs_aiohttp(target: Target) -> bool:
    return (
        target.scheme == "https"
        or target.method.upper() == "HEAD"
        or len(target.body) > LARGE_BODY_BYTES
    )


class FastConnection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection; one request in flight at a time."""

    handles_own_timeout = False
    shares_transport = False

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.busy = False
        self.measured = False
        self.intended = 0.0
        self.sent_at = 0.0
        self.status = 0
        self.location: bytes | None = None
        self.closed = False

    # -- driven by the runner -------------------------------------------------
    def send(self, intended: float, now: float, measured: bool) -> None:
        self.busy = True
        self.measured = measured
        self.intended = intended
        self.sent_at = now
        self.location = None
        transport = self.transport
        if transport is None or transport.is_closing():
            self.run.fail(self, "write")
            return
        transport.write(self.run.request_bytes)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # -- asyncio.Protocol -----------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.busy:
            # Bytes nobody asked for: the connection can no longer be trusted.
            self.run.discard(self)
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.run.fail(self, "protocol")
        except httptools.HttpParserError:
            self.run.fail(self, "protocol")

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.busy:
            self.run.fail(self, "read")
        else:
            self.run.discard(self)

    # -- httptools callbacks --------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) == 8 and name.lower() == b"location":
            self.location = value

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_message_complete(self) -> None:
        if self.busy:
            self.run.done(self, self.status, self.location, self.parser.should_keep_alive())


async def open_fast_connection(run: _Run, target: Target, timeout: float) -> FastConnection:
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in target.address else socket.AF_INET
    _transport, protocol = await asyncio.wait_for(
        loop.create_connection(
            lambda: FastConnection(run), host=target.address, port=target.port, family=family
        ),
        timeout,
    )
    sock = _transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return protocol


class AioSlot:
    """A logical connection on a shared aiohttp session (which pools sockets)."""

    handles_own_timeout = True
    shares_transport = True

    def __init__(self, run: _Run, session: Any, target: Target) -> None:
        self.run = run
        self.session = session
        self.target = target
        host = f"[{target.address}]" if ":" in target.address else target.address
        self.url = f"{target.scheme}://{host}:{target.port}{target.path or '/'}"
        self.busy = False
        self.measured = False
        self.intended = 0.0
        self.sent_at = 0.0
        self.closed = False
        self.task: asyncio.Task[None] | None = None
        self.headers = dict(target.headers)
        self.headers["Host"] = target.host_header
        self.headers.setdefault("User-Agent", USER_AGENT)

    def send(self, intended: float, now: float, measured: bool) -> None:
        self.busy = True
        self.measured = measured
        self.intended = intended
        self.sent_at = now
        self.task = asyncio.get_running_loop().create_task(self._request())

    def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _request(self) -> None:
        import aiohttp

        target = self.target
        kwargs: dict[str, Any] = {
            "headers": self.headers,
            "allow_redirects": False,
            "timeout": aiohttp.ClientTimeout(total=target.timeout_s),
        }
        if target.body:
            kwargs["data"] = target.body
        if target.scheme == "https":
            kwargs["server_hostname"] = target.host
        try:
            async with self.session.request(target.method, self.url, **kwargs) as resp:
                await resp.read()
                location = resp.headers.get("Location")
                status = resp.status
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            self.run.fail(self, "timeout")
            return
        except aiohttp.ClientConnectorError:
            self.run.fail(self, "connect")
            return
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            self.run.fail(self, "read")
            return
        except (aiohttp.ClientResponseError, aiohttp.ClientPayloadError):
            self.run.fail(self, "protocol")
            return
        except aiohttp.ClientError:
            self.run.fail(self, "read")
            return
        self.run.done(self, status, location.encode("latin-1") if location else None, True)


def make_aiohttp_session(target: Target, pool: int) -> aiohttp.ClientSession:
    import aiohttp

    context = ssl.create_default_context() if target.scheme == "https" else None
    connector = aiohttp.TCPConnector(
        limit=pool, ssl=context if context is not None else False, force_close=False
    )
    return aiohttp.ClientSession(connector=connector, auto_decompress=False)


async def fetch_ownership_token(target: Any, timeout: float = 5.0) -> str | None:
    """GET ``/.well-known/archway-probe.txt`` from the guarded address.

    ``target`` is a ``probes.egress.GuardedTarget``. Connects to its checked
    address (no new DNS lookup), sends the original host name, follows no
    redirect, reads at most 4 KiB and returns the stripped text of a 200
    response, or ``None``.
    """
    import aiohttp

    t = Target(
        address=target.address,
        port=target.port,
        host=target.host,
        scheme=target.scheme,
        path="/.well-known/archway-probe.txt",
        timeout_s=timeout,
    )
    host = f"[{t.address}]" if ":" in t.address else t.address
    url = f"{t.scheme}://{host}:{t.port}{t.path}"
    kwargs: dict[str, Any] = {
        "headers": {"Host": t.host_header, "User-Agent": USER_AGENT},
        "allow_redirects": False,
        "timeout": aiohttp.ClientTimeout(total=timeout),
    }
    if t.scheme == "https":
        kwargs["server_hostname"] = t.host
    async with make_aiohttp_session(t, 1) as session:
        try:
            async with session.get(url, **kwargs) as resp:
                if resp.status != 200:
                    return None
                data = await resp.content.read(4096)
        except (aiohttp.ClientError, TimeoutError):
            return None
    return data.decode("utf-8", "replace").strip()
