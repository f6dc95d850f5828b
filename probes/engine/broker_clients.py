"""Broker clients for round-trip probes: RabbitMQ, Redis Streams, NATS, MQTT.

Each client opens a publishing and a consuming connection to the guarded
address, creates the probe's own temporary queue, stream or subject (named
``archway-probe`` + run tag), publishes with the protocol's confirmation and
hands every consumed body to ``on_message``. Nothing is consumed from a
queue or stream the probe did not create: with ``?exchange=`` (AMQP) or
``?subject=`` (NATS) only the probe's messages are *sent* through existing
routing, into the probe's own queue or subject.

TLS schemes connect to the checked address and verify the certificate
against the registered host name: :func:`pinned_tls_context` returns a
context that always sends and checks that name, whatever host the client
library passes down.

=========  ============================  ===============================
kind       temporary resource            publish confirmation
=========  ============================  ===============================
amqp       durable queue (x-expires)     publisher confirm (basic.ack)
redis      stream + consumer group       XADD's reply (entry id)
nats       subject (core)                none (fire and forget)
nats+js    JetStream stream              JetStream PubAck
mqtt       topic (QoS 1, clean session)  PUBACK
=========  ============================  ===============================
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, cast
from urllib.parse import parse_qsl, unquote

from probes.egress import SCHEME_KINDS, TLS_SCHEMES
from probes.engine.model import GuardedAddress

PREFIX = "archway-probe"
# A queue or stream left by a killed probe removes itself after this long unused.
LEFTOVER_EXPIRY_S = 600
# The egress guard's table of schemes, narrowed to the brokers this module speaks to.
KINDS = {scheme: kind for scheme, kind in SCHEME_KINDS.items() if kind not in ("http", "grpc")}
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TRUE = ("1", "true", "yes", "on")
# aiomqtt warns on every publish beyond ten in flight, which a probe always has.
_MQTT_LOG = logging.getLogger("archway.probe.mqtt")
_MQTT_LOG.setLevel(logging.ERROR)

OnMessage = Callable[[bytes], None]


@dataclass(frozen=True)
class BrokerTarget:
    """A checked broker address plus the login stored apart from its URL."""

    scheme: str
    address: str
    port: int
    host: str
    path: str = "/"
    query: tuple[tuple[str, str], ...] = ()
    username: str = ""
    password: str = field(default="", repr=False)
    timeout_s: float = 2.0
    message_bytes: int = 64
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if self.scheme not in KINDS:
            raise ValueError(f"scheme {self.scheme!r} is not a broker scheme")
        if not 32 <= self.message_bytes <= 1_048_576:
            raise ValueError("message_bytes must be between 32 and 1048576")

    @classmethod
    def from_guarded(
        cls,
        guarded: GuardedAddress,
        credentials: Any = None,
        *,
        timeout_s: float = 2.0,
        message_bytes: int = 64,
        ca_file: str | None = None,
    ) -> BrokerTarget:
        """From ``probes.egress.GuardedTarget`` and its ``Credentials`` (or None)."""
        path, _, query = guarded.path_and_query.partition("?")
        return cls(
            scheme=guarded.scheme,
            address=guarded.address,
            port=guarded.port,
            host=guarded.host,
            path=path or "/",
            query=tuple(parse_qsl(query)),
            username=getattr(credentials, "username", "") or "",
            password=getattr(credentials, "password", "") or "",
            timeout_s=timeout_s,
            message_bytes=message_bytes,
            ca_file=ca_file,
        )

    @property
    def kind(self) -> str:
        return KINDS[self.scheme]

    @property
    def tls(self) -> bool:
        return self.scheme in TLS_SCHEMES

    def option(self, name: str, default: str = "") -> str:
        for key, value in self.query:
            if key == name:
                return value
        return default

    @property
    def jetstream(self) -> bool:
        return self.kind == "nats" and self.option("jetstream").lower() in _TRUE

    @property
    def confirms(self) -> bool:
        return not (self.kind == "nats" and not self.jetstream)


def check_run_tag(run_tag: str) -> str:
    if not _TAG.match(run_tag):
        raise ValueError("a run tag is 1-64 letters, digits, '-' or '_'")
    return run_tag


def resource_name(target: BrokerTarget, run_tag: str) -> str:
    """The temporary queue, stream key, subject or topic of one probe shard."""
    tag = check_run_tag(run_tag)
    if target.kind == "amqp":
        return f"{PREFIX}.{tag}"
    if target.kind == "redis":
        return f"{PREFIX}:{tag}"
    if target.kind == "nats":
        return f"{target.option('subject')}{PREFIX}.{tag}"
    return f"{PREFIX}/{tag}"


def jetstream_name(run_tag: str) -> str:
    """JetStream stream names allow no dots: ``ARCHWAY_PROBE_<tag>``."""
    return "ARCHWAY_PROBE_" + check_run_tag(run_tag).replace("-", "_")


class _PinnedNameContext(ssl.SSLContext):
    """Sends and verifies ``pinned_name`` whatever name the library passes."""

    pinned_name = ""

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["server_hostname"] = self.pinned_name
        return super().wrap_socket(sock, *args, **kwargs)

    def wrap_bio(self, incoming: Any, outgoing: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) >= 2:
            args = (args[0], self.pinned_name, *args[2:])
        else:
            kwargs["server_hostname"] = self.pinned_name
        return super().wrap_bio(incoming, outgoing, *args, **kwargs)


def pinned_tls_context(host: str, ca_file: str | None = None) -> ssl.SSLContext:
    """A client context that verifies the certificate against ``host``."""
    context = _PinnedNameContext(ssl.PROTOCOL_TLS_CLIENT)
    context.pinned_name = host
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    else:
        context.load_default_certs()
    return context


Publish = Callable[[bytes], Awaitable[Any]]


async def _not_open(body: bytes) -> None:
    raise RuntimeError("publish before open()")


class BrokerClient(Protocol):
    confirms: bool
    # Bound by open() to the library's call for the probe's resource: called once per
    # message, so without a wrapper of our own in between.
    publish: Publish

    async def open(self, run_tag: str, on_message: OnMessage, prefetch: int) -> None: ...

    async def close(self, delete: bool = True) -> None: ...


# --- RabbitMQ (AMQP 0-9-1, aio-pika) ------------------------------------------


class AmqpClient:
    confirms = True

    def __init__(self, target: BrokerTarget) -> None:
        self.target = target
        self.connections: list[Any] = []
        self.queue_name = ""
        self.publish: Publish = _not_open

    async def _connect(self) -> Any:
        import aio_pika

        t = self.target
        vhost = unquote(t.path[1:]) if len(t.path) > 1 else "/"
        kwargs: dict[str, Any] = {
            "host": t.address,
            "port": t.port,
            "login": t.username or "guest",
            "password": t.password or "guest",
            "virtualhost": vhost,
            "timeout": t.timeout_s,
        }
        if t.tls:
            kwargs["ssl"] = True
            kwargs["ssl_context"] = pinned_tls_context(t.host, t.ca_file)
        connection = await aio_pika.connect(**kwargs)
        self.connections.append(connection)
        return connection

    async def open(self, run_tag: str, on_message: OnMessage, prefetch: int) -> None:
        import aio_pika

        self.queue_name = name = resource_name(self.target, run_tag)
        publisher = await self._connect()
        consumer = await self._connect()
        pub_channel = await publisher.channel(publisher_confirms=True)
        sub_channel = await consumer.channel()
        await sub_channel.set_qos(prefetch_count=prefetch)
        queue = await sub_channel.declare_queue(
            name, durable=True, arguments={"x-expires": LEFTOVER_EXPIRY_S * 1000}
        )
        exchange_name = self.target.option("exchange")
        if exchange_name:
            exchange = await pub_channel.get_exchange(exchange_name, ensure=True)
            await queue.bind(exchange_name, routing_key=name)
        else:
            exchange = pub_channel.default_exchange

        async def consume(message: Any) -> None:
            on_message(message.body)
            await message.ack()

        await queue.consume(consume)
        persistent = aio_pika.DeliveryMode.PERSISTENT

        def publish(body: bytes) -> Awaitable[Any]:
            return cast(
                Awaitable[Any],
                exchange.publish(
                    aio_pika.Message(body, delivery_mode=persistent), routing_key=name
                ),
            )

        self.publish = publish

    async def close(self, delete: bool = True) -> None:
        # The consumer goes first, so deleting the queue cancels nobody.
        for connection in reversed(self.connections[1:]):
            with contextlib.suppress(Exception):
                await connection.close()
        try:
            if delete and self.queue_name and self.connections:
                channel = await self.connections[0].channel()
                await channel.queue_delete(self.queue_name)
        finally:
            if self.connections:
                with contextlib.suppress(Exception):
                    await self.connections[0].close()

    async def delete_leftovers(self, run_tag: str) -> list[str]:
        import aiormq

        name = resource_name(self.target, run_tag)
        connection = await self._connect()
        try:
            channel = await connection.channel()
            try:
                await channel.declare_queue(name, passive=True)
            except aiormq.exceptions.ChannelNotFoundEntity:
                return []
            channel = await connection.channel()
            await channel.queue_delete(name)
            return [name]
        finally:
            await connection.close()


# --- Redis Streams (redis-py asyncio) -------------------------------------------

GROUP = PREFIX
READ_COUNT = 512
READ_BLOCK_MS = 50


class RedisClient:
    confirms = True

    def __init__(self, target: BrokerTarget) -> None:
        self.target = target
        self.publisher: Any = None
        self.consumer: Any = None
        self.stream = ""
        self.reader: asyncio.Task[None] | None = None
        self.publish: Publish = _not_open

    def _client(self, max_connections: int, reply_timeout: float | None = None) -> Any:
        import redis.asyncio as redis

        t = self.target
        db_text = t.path.strip("/") or "0"
        if not db_text.isdigit():
            raise ValueError(f"Redis database {db_text!r} is not a number")
        kwargs: dict[str, Any] = {
            "host": t.address,
            "port": t.port,
            "db": int(db_text),
            "username": t.username or None,
            "password": t.password or None,
            "socket_connect_timeout": t.timeout_s,
            "max_connections": max_connections,
            "socket_timeout": reply_timeout,
            "timeout": None,
        }
        if t.tls:
            kwargs["connection_class"] = _pinned_redis_connection(
                pinned_tls_context(t.host, t.ca_file)
            )
        pool = redis.BlockingConnectionPool(**kwargs)
        return redis.Redis(connection_pool=pool)

    async def open(self, run_tag: str, on_message: OnMessage, prefetch: int) -> None:
        self.stream = stream = resource_name(self.target, run_tag)
        self.publisher = self._client(max(1, min(prefetch, 64)), self.target.timeout_s)
        self.consumer = self._client(2)
        await self.consumer.xgroup_create(stream, GROUP, id="$", mkstream=True)
        await self.consumer.expire(stream, LEFTOVER_EXPIRY_S)
        self.reader = asyncio.get_running_loop().create_task(self._read(on_message))
        xadd = self.publisher.xadd

        def publish(body: bytes) -> Awaitable[Any]:
            return cast(Awaitable[Any], xadd(stream, {b"m": body}))

        self.publish = publish

    async def _read(self, on_message: OnMessage) -> None:
        stream, consumer = self.stream, self.consumer
        while True:
            answer = await consumer.xreadgroup(
                GROUP, "probe", {stream: ">"}, count=READ_COUNT, block=READ_BLOCK_MS
            )
            for _name, entries in answer or ():
                ids = []
                for entry_id, fields in entries:
                    on_message(fields[b"m"])
                    ids.append(entry_id)
                if ids:
                    await consumer.xack(stream, GROUP, *ids)

    async def close(self, delete: bool = True) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        try:
            if delete and self.stream and self.publisher is not None:
                await self.publisher.delete(self.stream)
        finally:
            for client in (self.publisher, self.consumer):
                if client is not None:
                    with contextlib.suppress(Exception):
                        await client.aclose()

    async def delete_leftovers(self, run_tag: str) -> list[str]:
        name = resource_name(self.target, run_tag)
        client = self._client(1)
        try:
            return [name] if await client.delete(name) else []
        finally:
            await client.aclose()


def _pinned_redis_connection(context: ssl.SSLContext) -> type:
    from redis.asyncio.connection import Connection

    class PinnedTLSConnection(Connection):
        def _connection_arguments(self) -> Any:
            kwargs = dict(super()._connection_arguments())
            kwargs["ssl"] = context
            return kwargs

    return PinnedTLSConnection


# --- NATS core and JetStream (nats-py) ------------------------------------------


class NatsClient:
    def __init__(self, target: BrokerTarget) -> None:
        self.target = target
        self.confirms = target.jetstream
        self.connections: list[Any] = []
        self.subject = ""
        self.stream = ""
        self.js: Any = None
        self.publisher: Any = None
        self.publish: Publish = _not_open

    async def _connect(self) -> Any:
        import nats

        t = self.target
        host = f"[{t.address}]" if ":" in t.address else t.address
        kwargs: dict[str, Any] = {
            "servers": [f"{'tls' if t.tls else 'nats'}://{host}:{t.port}"],
            "connect_timeout": t.timeout_s,
            "allow_reconnect": False,
            "max_reconnect_attempts": 0,
            "pending_size": 8 * 1024 * 1024,
        }
        if t.username or t.password:
            kwargs["user"] = t.username
            kwargs["password"] = t.password
        if t.tls:
            kwargs["tls"] = pinned_tls_context(t.host, t.ca_file)
            kwargs["tls_hostname"] = t.host

        async def ignore(*_args: Any) -> None:
            return None

        kwargs["error_cb"] = ignore
        connection = await nats.connect(**kwargs)
        self.connections.append(connection)
        return connection

    async def open(self, run_tag: str, on_message: OnMessage, prefetch: int) -> None:
        self.subject = subject = resource_name(self.target, run_tag)
        self.publisher = await self._connect()
        consumer = await self._connect()

        async def consume(msg: Any) -> None:
            on_message(msg.data)
            if self.js is not None:
                await msg.ack()

        if self.target.jetstream:
            from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

            self.stream = jetstream_name(run_tag)
            self.js = self.publisher.jetstream(timeout=self.target.timeout_s)
            await self.js.add_stream(name=self.stream, subjects=[subject])
            config = ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=max(prefetch, 1024),
            )
            await consumer.jetstream().subscribe(
                subject, stream=self.stream, cb=consume, manual_ack=True, config=config
            )
            self.publish = partial(self.js.publish, subject)
        else:
            await consumer.subscribe(subject, cb=consume, pending_msgs_limit=1_000_000)
            await consumer.flush()
            self.publish = partial(self.publisher.publish, subject)

    async def close(self, delete: bool = True) -> None:
        try:
            if delete and self.stream and self.js is not None:
                await self.js.delete_stream(self.stream)
        finally:
            for connection in self.connections:
                with contextlib.suppress(Exception):
                    await connection.close()

    async def delete_leftovers(self, run_tag: str) -> list[str]:
        if not self.target.jetstream:
            return []  # a core subject holds nothing once its subscribers are gone
        from nats.js.errors import NotFoundError

        name = jetstream_name(run_tag)
        connection = await self._connect()
        try:
            try:
                await connection.jetstream().delete_stream(name)
            except NotFoundError:
                return []
            return [name]
        finally:
            await connection.close()


# --- MQTT QoS 1 (aiomqtt) -----------------------------------------------------------


class MqttClient:
    confirms = True

    def __init__(self, target: BrokerTarget) -> None:
        self.target = target
        self.clients: list[Any] = []
        self.topic = ""
        self.publisher: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.publish: Publish = _not_open

    async def _connect(self, identifier: str, inflight: int) -> Any:
        import aiomqtt

        t = self.target
        kwargs: dict[str, Any] = {
            "hostname": t.address,
            "port": t.port,
            "identifier": identifier,
            "clean_session": True,
            "timeout": t.timeout_s,
            "max_inflight_messages": inflight,
            "max_queued_outgoing_messages": 0,
            "logger": _MQTT_LOG,
        }
        if t.username:
            kwargs["username"] = t.username
            kwargs["password"] = t.password or None
        if t.tls:
            kwargs["tls_context"] = pinned_tls_context(t.host, t.ca_file)
        client = aiomqtt.Client(**kwargs)
        await client.__aenter__()
        self.clients.append(client)
        return client

    async def open(self, run_tag: str, on_message: OnMessage, prefetch: int) -> None:
        self.topic = topic = resource_name(self.target, run_tag)
        check_run_tag(run_tag)
        consumer = await self._connect(f"{PREFIX}-{run_tag}-sub", max(prefetch, 20))
        await consumer.subscribe(topic, qos=1)
        self.publisher = await self._connect(f"{PREFIX}-{run_tag}-pub", max(prefetch, 20))

        async def read() -> None:
            async for message in consumer.messages:
                on_message(bytes(message.payload))

        self.reader = asyncio.get_running_loop().create_task(read())
        self.publish = partial(self.publisher.publish, topic, qos=1, timeout=self.target.timeout_s)

    async def close(self, delete: bool = True) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)

    async def delete_leftovers(self, run_tag: str) -> list[str]:
        check_run_tag(run_tag)
        return []  # clean sessions, no retained messages: the broker keeps nothing


def make_client(target: BrokerTarget) -> Any:
    return {"amqp": AmqpClient, "redis": RedisClient, "nats": NatsClient, "mqtt": MqttClient}[
        target.kind
    ](target)
