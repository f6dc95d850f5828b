"""Benchmark of broker and gRPC probes against each client library's plain loop.

    python bench/bench_brokers.py

For each broker answering on loopback (RabbitMQ, Redis Streams, NATS core and
JetStream, Mosquitto): the probe's closed-loop throughput (a fixed number of
messages in flight, publisher confirms on) next to a plain publish/consume
loop written with the same client library and the same settings (same
connections, same confirms, same acks, same number in flight), and the
highest open-model rate the probe held. For gRPC: the probe's closed loop
against grpcio's plain asyncio loop on one channel, the server a subprocess.
Prints a Markdown section ``## Broker and gRPC probes``. Each measurement
runs a few seconds; the whole run stays around two minutes.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvloop  # noqa: E402

from probes.egress import PROBE_SCHEMES, guard_target, parse_allow_list, split_credentials  # noqa: E402
from probes.engine import (  # noqa: E402
    BrokerError,
    BrokerTarget,
    LoadPlan,
    Target,
    run_broker_probe_sync,
    run_probe_sync,
    summary,
)

IN_FLIGHT = 32
SECONDS = 3.0
ROUNDS = 3  # probe and plain loop alternate; the best of each is kept
WARMUP_S = 0.5
OPEN_STEPS = (500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000)
OPEN_SECONDS = 2.0
GOAL = 0.8
LOOPBACK = parse_allow_list("127.0.0.0/8")
BROKERS = {
    "RabbitMQ (AMQP, confirms, durable queue)": ("amqp://guest:guest@127.0.0.1:5672/", 5672),
    "Redis Streams (consumer group)": ("redis://127.0.0.1:6379/9", 6379),
    "NATS core": ("nats://127.0.0.1:4222", 4222),
    "NATS JetStream": ("nats://127.0.0.1:4222?jetstream=1", 4222),
    "MQTT QoS 1 (Mosquitto)": ("mqtt://127.0.0.1:1883", 1883),
}


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def broker_target(url: str) -> BrokerTarget:
    bare, credentials = split_credentials(url)
    guarded = guard_target(bare, allow=LOOPBACK, schemes=PROBE_SCHEMES)
    return BrokerTarget.from_guarded(guarded, credentials)


def run(coro: Awaitable[Any]) -> Any:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)  # type: ignore[arg-type]


# --- plain loops: the client libraries used directly, without the probe -------------


async def closed_loop(
    publish: Callable[[bytes], Awaitable[Any]], arrivals: dict[bytes, asyncio.Future[None]]
) -> float:
    """IN_FLIGHT workers: publish (awaiting the confirm), await the consumer, repeat."""
    loop = asyncio.get_running_loop()
    count = 0
    measuring = False
    stop_at = loop.time() + WARMUP_S + SECONDS
    start_at = loop.time() + WARMUP_S

    async def worker(w: int) -> None:
        nonlocal count, measuring
        n = 0
        while loop.time() < stop_at:
            body = b"%d:%d:" % (w, n) + b"." * 40
            n += 1
            arrived = arrivals[body] = loop.create_future()
            await publish(body)
            await arrived
            if loop.time() >= start_at:
                count += 1

    await asyncio.gather(*(worker(w) for w in range(IN_FLIGHT)))
    return count / SECONDS


def _arrived(arrivals: dict[bytes, asyncio.Future[None]], body: bytes) -> None:
    future = arrivals.pop(body, None)
    if future is not None and not future.done():
        future.set_result(None)


async def plain_amqp(url: str) -> float:
    import aio_pika

    name = f"bench-plain-{uuid.uuid4().hex[:8]}"
    publisher = await aio_pika.connect(url)
    consumer = await aio_pika.connect(url)
    pub_channel = await publisher.channel(publisher_confirms=True)
    sub_channel = await consumer.channel()
    await sub_channel.set_qos(prefetch_count=max(2 * IN_FLIGHT, 64))
    queue = await sub_channel.declare_queue(name, durable=True)
    arrivals: dict[bytes, asyncio.Future[None]] = {}

    async def on_message(message: Any) -> None:
        _arrived(arrivals, message.body)
        await message.ack()

    await queue.consume(on_message)
    exchange = pub_channel.default_exchange

    def publish(body: bytes) -> Awaitable[Any]:
        message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        return exchange.publish(message, routing_key=name)

    try:
        return await closed_loop(publish, arrivals)
    finally:
        await consumer.close()
        await (await publisher.channel()).queue_delete(name)
        await publisher.close()


async def plain_redis(url: str) -> float:
    import redis.asyncio as redis

    stream = f"bench-plain:{uuid.uuid4().hex[:8]}"
    publisher = redis.Redis(
        connection_pool=redis.BlockingConnectionPool.from_url(url, max_connections=IN_FLIGHT)
    )
    consumer = redis.Redis.from_url(url)
    await consumer.xgroup_create(stream, "g", id="$", mkstream=True)
    arrivals: dict[bytes, asyncio.Future[None]] = {}

    async def read() -> None:
        while True:
            answer = await consumer.xreadgroup("g", "c", {stream: ">"}, count=512, block=50)
            for _name, entries in answer or ():
                for _id, fields in entries:
                    _arrived(arrivals, fields[b"m"])
                await consumer.xack(stream, "g", *[entry_id for entry_id, _ in entries])

    reader = asyncio.get_running_loop().create_task(read())
    try:
        return await closed_loop(lambda body: publisher.xadd(stream, {b"m": body}), arrivals)
    finally:
        reader.cancel()
        await publisher.delete(stream)
        await publisher.aclose()
        await consumer.aclose()


async def plain_nats(url: str) -> float:
    import nats

    jetstream = "jetstream=1" in url
    server = url.split("?", 1)[0]
    subject = f"bench-plain.{uuid.uuid4().hex[:8]}"
    publisher = await nats.connect(server)
    consumer = await nats.connect(server)
    arrivals: dict[bytes, asyncio.Future[None]] = {}
    stream = "BENCH_PLAIN_" + uuid.uuid4().hex[:8]
    js = publisher.jetstream() if jetstream else None

    async def on_message(msg: Any) -> None:
        _arrived(arrivals, msg.data)
        if jetstream:
            await msg.ack()

    if js is not None:
        from nats.js.api import AckPolicy, ConsumerConfig

        await js.add_stream(name=stream, subjects=[subject])
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, max_ack_pending=1024)
        await consumer.jetstream().subscribe(
            subject, stream=stream, cb=on_message, manual_ack=True, config=config
        )
        publish: Callable[[bytes], Awaitable[Any]] = lambda body: js.publish(subject, body)  # noqa: E731
    else:
        await consumer.subscribe(subject, cb=on_message)
        await consumer.flush()
        publish = lambda body: publisher.publish(subject, body)  # noqa: E731
    try:
        return await closed_loop(publish, arrivals)
    finally:
        if js is not None:
            await js.delete_stream(stream)
        await consumer.close()
        await publisher.close()


async def plain_mqtt(url: str) -> float:
    import logging

    import aiomqtt

    quiet = logging.getLogger("bench.mqtt")
    quiet.setLevel(logging.ERROR)
    topic = f"bench-plain/{uuid.uuid4().hex[:8]}"
    arrivals: dict[bytes, asyncio.Future[None]] = {}
    common = dict(hostname="127.0.0.1", port=1883, clean_session=True, logger=quiet)
    async with (
        aiomqtt.Client(**common, max_inflight_messages=2 * IN_FLIGHT) as consumer,
        aiomqtt.Client(**common, max_inflight_messages=2 * IN_FLIGHT) as publisher,
    ):
        await consumer.subscribe(topic, qos=1)

        async def read() -> None:
            async for message in consumer.messages:
                _arrived(arrivals, bytes(message.payload))

        reader = asyncio.get_running_loop().create_task(read())
        try:
            return await closed_loop(lambda body: publisher.publish(topic, body, qos=1), arrivals)
        finally:
            reader.cancel()


PLAIN = {"amqp": plain_amqp, "redis": plain_redis, "nats": plain_nats, "mqtt": plain_mqtt}


def probe_closed(target: BrokerTarget) -> float:
    plan = LoadPlan("closed", concurrency=IN_FLIGHT, duration_s=SECONDS, warmup_s=WARMUP_S)
    return run_broker_probe_sync(target, plan, "bench" + uuid.uuid4().hex[:8]).rps


def highest_open_rate(target: BrokerTarget) -> tuple[int, str]:
    """The highest step held: valid schedule, no errors or losses, every message back."""
    held, note = 0, ""
    for rate in OPEN_STEPS:
        plan = LoadPlan(
            "open", rate=rate, concurrency=512, duration_s=OPEN_SECONDS, warmup_s=WARMUP_S
        )
        outcome = run_broker_probe_sync(target, plan, "bench" + uuid.uuid4().hex[:8])
        s = summary(outcome)
        ok = outcome.valid and not outcome.errors and outcome.lost == 0
        ok = ok and outcome.completed >= 0.99 * rate * OPEN_SECONDS
        if not ok:
            note = outcome.invalid_reason or f"{outcome.lost} lost, {outcome.errors or 'late'}"
            break
        held, note = rate, f"p99 {s['p99_ms']:.1f} ms, confirm p99 {s['confirm_p99_ms']} ms"
    return held, note


# --- gRPC -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def plain_grpc(port: int) -> float:
    import grpc

    from tests.probes.grpc_service import EchoReply, EchoRequest

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        say = channel.unary_unary(
            "/archway.test.Echo/Say",
            request_serializer=EchoRequest.SerializeToString,
            response_deserializer=EchoReply.FromString,
        )
        request = EchoRequest(text="hello")
        loop = asyncio.get_running_loop()
        start_at = loop.time() + WARMUP_S
        stop_at = start_at + SECONDS
        count = 0

        async def worker() -> None:
            nonlocal count
            while loop.time() < stop_at:
                await say(request, timeout=2)
                if loop.time() >= start_at:
                    count += 1

        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return count / SECONDS


def grpc_rows() -> list[str]:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from tests.probes.grpc_service import serve_forever; serve_forever({port})",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 15
        while not answers(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        guarded = guard_target(
            f"grpc://127.0.0.1:{port}/archway.test.Echo/Say",
            allow=LOOPBACK,
            schemes=PROBE_SCHEMES,
        )
        target = Target.from_guarded(guarded, body=b'{"text": "hello"}')
        plan = LoadPlan("closed", concurrency=IN_FLIGHT, duration_s=SECONDS, warmup_s=WARMUP_S)
        probe, plain = best_of(
            lambda: run_probe_sync(target, plan).rps, lambda: run(plain_grpc(port))
        )
        held = 0
        for rate in OPEN_STEPS:
            open_plan = LoadPlan(
                "open", rate=rate, concurrency=256, duration_s=OPEN_SECONDS, warmup_s=WARMUP_S
            )
            outcome = run_probe_sync(target, open_plan)
            if not outcome.valid or outcome.errors:
                break
            held = rate
    finally:
        server.kill()
        server.wait()
    return [_row("gRPC unary (grpcio, reflection-encoded JSON)", probe, plain, held, "")]


def best_of(probe: Callable[[], float], plain: Callable[[], float]) -> tuple[float, float]:
    """Alternate the two ROUNDS times and keep each one's best (other load moves both)."""
    probes, plains = [], []
    for _ in range(ROUNDS):
        probes.append(probe())
        plains.append(plain())
    return max(probes), max(plains)


def _row(name: str, probe: float, plain: float, held: int, note: str) -> str:
    ratio = probe / plain if plain else 0.0
    verdict = "met" if ratio >= GOAL else "missed"
    held_text = f"{held:,}/s" if held else f"< {OPEN_STEPS[0]}/s"
    return (
        f"| {name} | {probe:,.0f}/s | {plain:,.0f}/s | {ratio:.2f} ({verdict}) "
        f"| {held_text} | {note} |"
    )


def main() -> int:
    rows = []
    for name, (url, port) in BROKERS.items():
        if not answers(port):
            rows.append(f"| {name} | not running on 127.0.0.1:{port} | | | | |")
            continue
        target = broker_target(url)
        try:
            probe, plain = best_of(
                lambda target=target: probe_closed(target),
                lambda url=url, kind=target.kind: run(PLAIN[kind](url)),
            )
            held, note = highest_open_rate(target)
        except BrokerError as exc:
            rows.append(f"| {name} | {exc} | | | | |")
            continue
        rows.append(_row(name, probe, plain, held, note))
    rows += grpc_rows()
    print("## Broker and gRPC probes\n")
    print(
        f"Closed loop: {IN_FLIGHT} messages (calls) in flight for {SECONDS:g} s after a "
        f"{WARMUP_S:g} s warm-up, publisher confirms and consumer acks on, best of {ROUNDS} "
        "alternating runs each, the probe against "
        "a plain publish/consume loop written with the same client library and settings "
        f"(goal: the probe reaches at least {GOAL:.0%} of it). Open model: the highest "
        f"of {', '.join(f'{r:,}' for r in OPEN_STEPS)} messages/s held for "
        f"{OPEN_SECONDS:g} s with the generator's self-check passing, nothing lost and "
        "every message back.\n"
    )
    print("| target | probe, closed | plain loop | probe / plain | open rate held | at that rate |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
