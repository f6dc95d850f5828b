"""Helpers for broker and gRPC probe tests: broker availability, TLS, a TLS proxy.

``require_broker`` skips a test whose broker does not answer on loopback,
unless ``ARCHWAY_REQUIRE_BROKERS=1`` (set by CI), which turns the skip into a
failure so CI always runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from probes.egress import PROBE_SCHEMES, guard_target, parse_allow_list, split_credentials
from probes.engine import BrokerTarget

LOOPBACK = parse_allow_list("127.0.0.0/8")
BROKER_PORTS = {"amqp": 5672, "redis": 6379, "nats": 4222, "mqtt": 1883}
BROKER_URLS = {
    "amqp": "amqp://guest:guest@127.0.0.1:5672/",
    "redis": "redis://127.0.0.1:6379/7",  # not Celery's database
    "nats": "nats://127.0.0.1:4222",
    "jetstream": "nats://127.0.0.1:4222?jetstream=1",
    "mqtt": "mqtt://127.0.0.1:1883",
}


def answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_broker(kind: str) -> None:
    """Skip (or, with ARCHWAY_REQUIRE_BROKERS=1, fail) when the broker is down."""
    port = BROKER_PORTS["nats" if kind == "jetstream" else kind]
    if answers(port):
        return
    message = f"no {kind} broker answers on 127.0.0.1:{port}"
    if os.environ.get("ARCHWAY_REQUIRE_BROKERS") == "1":
        pytest.fail(message + " (ARCHWAY_REQUIRE_BROKERS=1)")
    pytest.skip(message)


def broker_target(url: str, resolver=None, **kwargs) -> BrokerTarget:
    """A target for ``url`` through the egress guard (loopback on the allow-list)."""
    bare, credentials = split_credentials(url)
    extra = {"resolver": resolver} if resolver is not None else {}
    guarded = guard_target(bare, allow=LOOPBACK, schemes=PROBE_SCHEMES, **extra)
    return BrokerTarget.from_guarded(guarded, credentials, **kwargs)


def to_loopback(host: str, port: int) -> list[str]:
    """A resolver that answers 127.0.0.1 for any name (a test's own DNS)."""
    return ["127.0.0.1"]


# --- TLS ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TestCertificates:
    ca_file: str
    cert_file: str
    key_file: str


def make_certificates(directory: Path, name: str) -> TestCertificates:
    """A test CA and a server certificate for ``name``, signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "archway test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = TestCertificates(
        ca_file=str(directory / "ca.pem"),
        cert_file=str(directory / f"{name}.pem"),
        key_file=str(directory / f"{name}.key"),
    )
    Path(paths.ca_file).write_bytes(ca.public_bytes(pem))
    Path(paths.cert_file).write_bytes(cert.public_bytes(pem))
    Path(paths.key_file).write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@contextlib.contextmanager
def tls_proxy(certs: TestCertificates, backend_port: int) -> Iterator[int]:
    """A TLS-terminating proxy on 127.0.0.1 in front of a loopback broker; yields its port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.cert_file, certs.key_file)
    with loopback_proxy(backend_port, tls=context) as port:
        yield port


@contextlib.contextmanager
def loopback_proxy(
    backend_port: int, *, tls: ssl.SSLContext | None = None, delay_s: float = 0.0
) -> Iterator[int]:
    """A TCP proxy on 127.0.0.1 in front of ``backend_port``; yields its port.

    ``tls`` terminates TLS on the client side. ``delay_s`` holds every chunk that long in
    each direction, in order, as a longer network path would.
    """
    loop = asyncio.new_event_loop()
    started = threading.Event()
    state: dict[str, int] = {}

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while (item := await queue.get())[1]:
                if delay_s:
                    await asyncio.sleep(max(0.0, item[0] - loop.time()))
                writer.write(item[1])
                await writer.drain()

        sender = asyncio.ensure_future(send())
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                queue.put_nowait((loop.time() + delay_s, data))
        queue.put_nowait((0.0, b""))
        with contextlib.suppress(Exception):
            await sender
        with contextlib.suppress(Exception):
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
        state["port"] = server.sockets[0].getsockname()[1]
        started.set()
        async with server:
            await server.serve_forever()

    thread = threading.Thread(target=lambda: loop.run_until_complete(_quiet(serve())), daemon=True)
    thread.start()
    assert started.wait(5), "the loopback proxy did not start"
    try:
        yield state["port"]
    finally:
        loop.call_soon_threadsafe(lambda: [t.cancel() for t in asyncio.all_tasks(loop)])
        thread.join(5)


async def _quiet(coro) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await coro
