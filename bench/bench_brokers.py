"""Benchmark of broker and gRPC probes against each client library's plain loop.

    python bench/bench_brokers.py

For each broker answering on loopback (RabbitMQ, Redis Streams, NATS core and
JetStream, Mosquitto): the probe's closed-loop throughput (a fixed number of
messages in flight, publisher confirms on) next to a plain publish/consume
loop written with the same client library and the same work per message:
the same connections and client settings (timeouts, pools, buffers), the
same confirms and acks, the same consumer mode, the same number in flight,
the same message size, and the garbage collector off in both (the probe
turns it off while it runs). For gRPC: the probe's closed loop against
grpcio's plain asyncio loop on one channel sending the same request bytes,
the server a subprocess.

Then the highest open-model rate the probe held per target: the rate doubles
from 1,000/s, each step runs a few seconds, and a step is held when the
engine's self-check passes (sends on time, generator not saturated), at
least 95 % of the planned messages arrived within the measured window
(a backlog that only drains afterwards is not held), messages did not queue
for a free slot (corrected p50 against service p50), and nothing was lost
or failed. A step not held is tried again, up to three times (other
processes share this machine). The climb goes on past steps whose only fault is late sends,
to say how far the target kept up, and stops at a step it did not keep up
with, or after about a minute per target.

Prints a Markdown section ``## Broker and gRPC probes``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
    ProbeOutcome,
    Target,
    run_broker_probe_sync,
    run_probe_sync,
    summarize,
    summary,
)
from probes.engine.runner import MAX_GENERATOR_CPU  # noqa: E402

IN_FLIGHT = 32
SECONDS = 1.5
WARMUP_S = 0.5
ROUNDS = 10  # rounds of the probe then the plain loop, back to back
TIMEOUT_S = 2.0  # the probe's per-message timeout; the plain loops use it too
MESSAGE_BYTES = 64  # the probe's default; set on the probe's targets below too
OPEN_STEPS = tuple(1_000 * 2**k for k in range(7))  # 1,000 .. 64,000 per second
OPEN_SECONDS = 2
OPEN_WARMUP_S = 0.5
OPEN_IN_FLIGHT = 512  # at most this many in flight; a due message beyond waits
OPEN_ATTEMPTS = 3  # short steps, tried again: a clean one is likelier between others' slices
OPEN_BUDGET_S = 60.0
OPEN_STEP_COST_S = OPEN_WARMUP_S + OPEN_SECONDS + 1.0  # with setup and drain, roughly
HELD_SHARE = 0.95
QUEUE_SLACK_MS = 2.0  # the self-check's own bound on send lag
GOAL = 0.8
LOOPBACK = parse_allow_list("127.0.0.0/8")
BROKERS = {
    "RabbitMQ (AMQP, confirms, durable queue)": ("amqp://guest:guest@127.0.0.1:5672/", 5672),
    "Redis Streams (consumer group)": ("redis://127.0.0.1:6379/9", 6379),
    "NATS core": ("nats://127.0.0.1:4222", 4222),
    "NATS JetStream": ("nats://127.0.0.1:4222?jetstream=1", 4222),
    "MQTT QoS 1 (Mosquitto)": ("mqtt://127.0.0.1:1883", 1883),
}
GRPC_NAME = "gRPC unary (grpcio, reflection-encoded JSON)"


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def broker_target(url: str) -> BrokerTarget:
    bare, credentials = split_credentials(url)
    guarded = guard_target(bare, allow=LOOPBACK, schemes=PROBE_SCHEMES)
    return BrokerTarget.from_guarded(
        guarded, credentials, timeout_s=TIMEOUT_S, message_bytes=MESSAGE_BYTES
    )


def run(coro: Awaitable[Any]) -> Any:
    """Run a plain loop on uvloop with the collector off, as the probe runs."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)  # type: ignore[arg-type]
    finally:
        if was_enabled:
            gc.enable()


# --- plain loops: the client libraries used directly, without the probe -------------


def body(worker: int, n: int) -> bytes:
    return (b"%d:%d:" % (worker, n)).ljust(MESSAGE_BYTES, b".")


async def closed_loop(
    publish: Callable[[bytes], Awaitable[Any]], arrivals: dict[bytes, asyncio.Future[None]]
) -> float:
    """IN_FLIGHT workers: publish (awaiting the confirm), await the consumer, repeat."""
    loop = asyncio.get_running_loop()
    count = 0
    start_at = loop.time() + WARMUP_S
    stop_at = start_at + SECONDS

    async def worker(w: int) -> None:
        nonlocal count
        n = 0
        while loop.time() < stop_at:
            message = body(w, n)
            n += 1
            arrived = arrivals[message] = loop.create_future()
            await publish(message)
            await arrived
            if loop.time() >= start_at:
                count += 1

    async def give_up_on_the_missing() -> None:
        # NATS core may drop a message; like the probe's timeout, stop waiting for it
        # (once, at the end, so the loop pays nothing per message for it).
        await asyncio.sleep(WARMUP_S + SECONDS + TIMEOUT_S)
        for future in list(arrivals.values()):
            if not future.done():
                future.set_result(None)

    watchdog = loop.create_task(give_up_on_the_missing())
    await asyncio.gather(*(worker(w) for w in range(IN_FLIGHT)))
    watchdog.cancel()
    return count / SECONDS


def _arrived(arrivals: dict[bytes, asyncio.Future[None]], message: bytes) -> None:
    future = arrivals.pop(message, None)
    if future is not None and not future.done():
        future.set_result(None)


async def plain_amqp(url: str) -> float:
    import aio_pika

    name = f"bench-plain-{uuid.uuid4().hex[:8]}"
    publisher = await aio_pika.connect(url, timeout=TIMEOUT_S)
    consumer = await aio_pika.connect(url, timeout=TIMEOUT_S)
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
    persistent = aio_pika.DeliveryMode.PERSISTENT

    def publish(message: bytes) -> Awaitable[Any]:
        return exchange.publish(aio_pika.Message(message, delivery_mode=persistent), name)

    try:
        return await closed_loop(publish, arrivals)
    finally:
        await consumer.close()
        await (await publisher.channel()).queue_delete(name)
        await publisher.close()


async def plain_redis(url: str) -> float:
    import redis.asyncio as redis

    stream = f"bench-plain:{uuid.uuid4().hex[:8]}"
    # The probe's pools: replies to XADD time out after TIMEOUT_S; the reader blocks.
    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=max(2 * IN_FLIGHT, 64), socket_timeout=TIMEOUT_S, timeout=None
    )
    publisher = redis.Redis(connection_pool=pool)
    consumer = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(url))
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
        return await closed_loop(lambda m: publisher.xadd(stream, {b"m": m}), arrivals)
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
    options: dict[str, Any] = {
        "connect_timeout": TIMEOUT_S,
        "allow_reconnect": False,
        "pending_size": 8 * 1024 * 1024,
    }
    publisher = await nats.connect(server, **options)
    consumer = await nats.connect(server, **options)
    arrivals: dict[bytes, asyncio.Future[None]] = {}
    stream = "BENCH_PLAIN_" + uuid.uuid4().hex[:8]
    js = publisher.jetstream(timeout=TIMEOUT_S) if jetstream else None

    async def on_message(msg: Any) -> None:
        _arrived(arrivals, msg.data)
        if jetstream:
            await msg.ack()

    if js is not None:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        await js.add_stream(name=stream, subjects=[subject])
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, max_ack_pending=1024
        )
        await consumer.jetstream().subscribe(
            subject, stream=stream, cb=on_message, manual_ack=True, config=config
        )
        publish: Callable[[bytes], Awaitable[Any]] = lambda m: js.publish(subject, m)  # noqa: E731
    else:
        await consumer.subscribe(subject, cb=on_message, pending_msgs_limit=1_000_000)
        await consumer.flush()
        publish = lambda m: publisher.publish(subject, m)  # noqa: E731
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
    common = dict(
        hostname="127.0.0.1",
        port=1883,
        clean_session=True,
        timeout=TIMEOUT_S,
        max_inflight_messages=max(2 * IN_FLIGHT, 20),
        max_queued_outgoing_messages=0,
        logger=quiet,
    )
    async with aiomqtt.Client(**common) as consumer, aiomqtt.Client(**common) as publisher:
        await consumer.subscribe(topic, qos=1)

        async def read() -> None:
            async for message in consumer.messages:
                _arrived(arrivals, bytes(message.payload))

        reader = asyncio.get_running_loop().create_task(read())
        try:
            return await closed_loop(
                lambda m: publisher.publish(topic, m, qos=1, timeout=TIMEOUT_S), arrivals
            )
        finally:
            reader.cancel()


PLAIN = {"amqp": plain_amqp, "redis": plain_redis, "nats": plain_nats, "mqtt": plain_mqtt}


def closed_plan() -> LoadPlan:
    return LoadPlan("closed", concurrency=IN_FLIGHT, duration_s=SECONDS, warmup_s=WARMUP_S)


def new_run_id() -> str:
    return "bench" + uuid.uuid4().hex[:8]


# --- gRPC -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def plain_grpc(port: int, request: bytes) -> float:
    """grpcio's own loop: the request bytes the probe sends, the answer left undecoded."""
    import grpc

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        say = channel.unary_unary("/archway.test.Echo/Say")
        loop = asyncio.get_running_loop()
        start_at = loop.time() + WARMUP_S
        stop_at = start_at + SECONDS
        count = 0

        async def worker() -> None:
            nonlocal count
            while loop.time() < stop_at:
                await say(request, timeout=TIMEOUT_S)
                if loop.time() >= start_at:
                    count += 1

        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return count / SECONDS


# --- measuring --------------------------------------------------------------------


@dataclass
class Closed:
    probes: list[float]  # per round, in order
    plains: list[float]

    @property
    def pairs(self) -> list[float]:
        return [p / q for p, q in zip(self.probes, self.plains, strict=True) if q]

    @property
    def paired(self) -> float:
        """The median of the rounds' probe/plain: the headline ratio."""
        return statistics.median(self.pairs) if self.pairs else 0.0

    @property
    def best_ratio(self) -> float:
        return max(self.probes) / max(self.plains) if max(self.plains) else 0.0


@dataclass
class OpenSteps:
    held: int = 0  # highest rate held, 0 when no step was
    held_note: str = ""
    first_miss: int = 0  # the first step not held (0: none)
    first_miss_note: str = ""
    delivered: int = 0  # highest rate delivered in time, sends late or not
    stop: int = 0  # the step that ended the climb (0: none did)
    stop_note: str = ""


def closed_rounds(probe: Callable[[], float], plain: Callable[[], float]) -> Closed:
    """ROUNDS rounds, each the probe then the plain loop back to back."""
    closed = Closed([], [])
    for _ in range(ROUNDS):
        closed.probes.append(probe())
        closed.plains.append(plain())
    return closed


def cpu_wait_ms() -> float:
    """How long this thread has waited, runnable, for a CPU (Linux schedstat)."""
    try:
        return int(Path("/proc/thread-self/schedstat").read_text().split()[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return float("nan")


def timing_problems(outcome: ProbeOutcome, waited_ms: float) -> list[str]:
    """The engine's self-check: sends on schedule, generator not saturated."""
    if outcome.valid:
        return []
    if outcome.generator_cpu > MAX_GENERATOR_CPU:
        return [f"generator CPU {outcome.generator_cpu:.0%}"]
    # The time the kernel kept the generator off a CPU is the machine's share of
    # the lateness: other processes' time slices, not the probe.
    return [
        f"sends late (lag p99 {outcome.send_lag_p99_ms:.1f} ms, {outcome.late_fraction:.1%} "
        f"over 2 ms; the generator waited {waited_ms:,.0f} ms for a CPU)"
    ]


def delivery_problems(outcome: ProbeOutcome, plan: LoadPlan) -> list[str]:
    """Whether the target kept up: arrivals in the window, no queue for a slot in
    front of it, nothing lost or failed."""
    problems = []
    in_window = sum(row["rate"] for row in outcome.per_second if row["t"] < plan.duration_s)
    if in_window < HELD_SHARE * plan.rate * plan.duration_s:
        problems.append(f"{in_window / plan.duration_s:,.0f}/s arrived in the window")
    # The corrected latency adds the wait for a free slot to the round trip: when the
    # median message waited longer than its own round trip, the in-flight limit, not
    # the schedule, set the pace (a queue building up in front of the target).
    corrected = summarize(outcome.histogram)["p50_ms"]
    service = summarize(outcome.service_histogram)["p50_ms"]
    if corrected > service + max(QUEUE_SLACK_MS, service):
        problems.append(
            f"messages queued for the {plan.concurrency} slots (p50 {corrected:.1f} ms "
            f"from the planned send, {service:.1f} ms from the publish)"
        )
    if outcome.lost:
        problems.append(f"{outcome.lost:,} lost")
    if outcome.errors:
        problems.append(", ".join(f"{n:,} {kind}" for kind, n in sorted(outcome.errors.items())))
    return problems


def open_steps(run_at: Callable[[LoadPlan], ProbeOutcome]) -> OpenSteps:
    """Double the rate while the target keeps up; note the highest step fully held.

    A step not held is tried again (other processes share the machine). The
    climb goes on past a step whose only fault is late sends, so the table can
    say how far the target kept up even when the machine kept the generator
    from holding the schedule; it stops at a step the target did not keep up
    with, or where the generator saturated its core.
    """
    started = time.monotonic()
    steps = OpenSteps()
    for rate in OPEN_STEPS:
        plan = LoadPlan(
            "open",
            rate=rate,
            concurrency=OPEN_IN_FLIGHT,
            duration_s=OPEN_SECONDS,
            warmup_s=OPEN_WARMUP_S,
        )
        kept_up, last_problems = False, ["not run"]
        for _ in range(OPEN_ATTEMPTS):
            if time.monotonic() - started + OPEN_STEP_COST_S > OPEN_BUDGET_S:
                steps.stop_note = f"{OPEN_BUDGET_S:.0f} s per target used up"
                return steps
            waited = cpu_wait_ms()
            outcome = run_at(plan)
            delivery = delivery_problems(outcome, plan)
            timing = timing_problems(outcome, cpu_wait_ms() - waited)
            saturated = outcome.generator_cpu > MAX_GENERATOR_CPU
            kept_up = kept_up or not (delivery or saturated)
            last_problems = timing + delivery
            if not last_problems:
                s = summary(outcome)
                steps.held = rate
                steps.held_note = f"p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms"
                if s.get("confirm_p99_ms") is not None:
                    steps.held_note += f", confirm p99 {s['confirm_p99_ms']:.2f} ms"
                break
        if last_problems and not steps.first_miss:
            steps.first_miss, steps.first_miss_note = rate, "; ".join(last_problems)
        if not kept_up:
            steps.stop, steps.stop_note = rate, "; ".join(last_problems)
            return steps
        steps.delivered = rate
    return steps


def grpc_results() -> tuple[Closed, OpenSteps]:
    from tests.probes.grpc_service import EchoRequest

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
        target = Target.from_guarded(guarded, body=b'{"text": "hello"}', timeout_s=TIMEOUT_S)
        request = EchoRequest(text="hello").SerializeToString()
        closed = closed_rounds(
            lambda: run_probe_sync(target, closed_plan()).rps,
            lambda: run(plain_grpc(port, request)),
        )
        steps = open_steps(lambda plan: run_probe_sync(target, plan))
    finally:
        server.kill()
        server.wait()
    return closed, steps


# --- the section ------------------------------------------------------------------


def closed_row(name: str, closed: Closed) -> str:
    verdict = "met" if closed.paired >= GOAL else "missed"
    return (
        f"| {name} | {max(closed.probes):,.0f}/s | {max(closed.plains):,.0f}/s "
        f"| **{closed.paired:.2f}** ({verdict}) | {closed.best_ratio:.2f} "
        f"| {min(closed.pairs):.2f} .. {max(closed.pairs):.2f} |"
    )


def open_row(name: str, steps: OpenSteps) -> str:
    def rate(value: int) -> str:
        return f"{value:,}/s" if value else f"< {OPEN_STEPS[0]:,}/s"

    miss = f"{steps.first_miss:,}/s: {steps.first_miss_note}" if steps.first_miss else "-"
    if steps.stop and steps.stop == steps.first_miss:
        stop = f"{steps.stop:,}/s (as before)"
    elif steps.stop:
        stop = f"{steps.stop:,}/s: {steps.stop_note}"
    else:
        stop = steps.stop_note or f"kept up with every step, up to {OPEN_STEPS[-1]:,}/s"
    return (
        f"| {name} | {rate(steps.held)} | {steps.held_note or '-'} | {miss} "
        f"| {rate(steps.delivered)} | {stop} |"
    )


def main() -> int:
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    closed_rows, open_rows = [], []
    for name, (url, port) in BROKERS.items():
        if not answers(port):
            closed_rows.append(f"| {name} | not running on 127.0.0.1:{port} | | | | |")
            continue
        target = broker_target(url)
        try:
            closed = closed_rounds(
                lambda target=target: (
                    run_broker_probe_sync(target, closed_plan(), new_run_id()).rps
                ),
                lambda url=url, kind=target.kind: run(PLAIN[kind](url)),
            )
            steps = open_steps(
                lambda plan, target=target: run_broker_probe_sync(target, plan, new_run_id())
            )
        except BrokerError as exc:
            closed_rows.append(f"| {name} | {exc} | | | | |")
            continue
        closed_rows.append(closed_row(name, closed))
        open_rows.append(open_row(name, steps))
    closed, steps = grpc_results()
    closed_rows.append(closed_row(GRPC_NAME, closed))
    open_rows.append(open_row(GRPC_NAME, steps))
    load_after = os.getloadavg()[0]

    print("## Broker and gRPC probes\n")
    print(
        f"Closed loop: {IN_FLIGHT} messages (calls) in flight for {SECONDS:g} s after a "
        f"{WARMUP_S:g} s warm-up, the probe against a plain publish/consume loop written with "
        "the same client library doing the same work per message: the same connections and "
        "client settings (timeouts, pools, buffers), publisher confirms and consumer acks "
        f"as the probe has them, the same consumer mode, {MESSAGE_BYTES}-byte messages, "
        "the garbage collector off in both; for gRPC the same request bytes on one channel. "
        f"{ROUNDS} rounds, each the probe then the plain loop back to back, so the two "
        "sides of a round see about the same load from other processes. The headline is "
        "the median over the rounds of probe / plain; the best run of each side and their "
        "ratio are shown too, with the range of the rounds' ratios: on a shared machine "
        "one quiet moment for one side moves a best-of ratio a long way. Goal: the probe "
        f"reaches at least {GOAL:.0%} of the plain loop.\n"
    )
    print(
        "| target | probe, best | plain loop, best | probe / plain, median of rounds "
        "| best / best | rounds' range |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for row in closed_rows:
        print(row)
    print(
        "\nHighest open-model rate held: the rate doubles from "
        f"{OPEN_STEPS[0]:,}/s to {OPEN_STEPS[-1]:,}/s, each step {OPEN_SECONDS} s after a "
        f"{OPEN_WARMUP_S:g} s warm-up with at most {OPEN_IN_FLIGHT} in flight. A step is held "
        "when the engine's self-check passes (sends on schedule within its bounds, the "
        f"generator not saturated), at least {HELD_SHARE:.0%} of the planned messages "
        "arrived within the measured window (a backlog drained afterwards does not count), "
        "the median message did not wait for a free slot longer than its own round trip "
        "(corrected p50 within the service p50 plus the larger of 2 ms and itself: more "
        "means a queue built up in front of the target), "
        f"and nothing was lost or failed. A step not held is tried up to {OPEN_ATTEMPTS} times. "
        "The climb goes on past a step whose only fault is late sends, so *kept up with* "
        "says how far the target took the rate even when the generator could not keep the "
        "schedule tightly enough for valid percentiles; it stops at a step the target did "
        "not keep up with, where the generator saturated its core, or after about "
        f"{OPEN_BUDGET_S:.0f} s per target. Latencies are the corrected ones (from the "
        "planned send). For late sends the note gives how long the kernel kept the "
        "generator's thread waiting for a CPU during the step (`/proc/thread-self/schedstat`): "
        "time other processes' slices took, not the probe's. Past the rate a target keeps "
        "up with, the messages still in flight when the drain ends count as lost (the "
        "engine's definition: not consumed by the end of the drain), so that step shows "
        "losses next to its backlog.\n"
    )
    print(
        "| target | highest rate held | latency there | first step not held, why "
        "| kept up with, sends late or not | climb stopped at, why |"
    )
    print("| --- | ---: | --- | --- | ---: | --- |")
    for row in open_rows:
        print(row)
    print(
        f"\nMachine: {os.cpu_count()} cores shared with other work (load average "
        f"{load_before:.1f} at the start, {load_after:.1f} at the end); the probe, the plain "
        "loops and the brokers all ran on them, so absolute rates move from run to run. "
        f"This section took {time.monotonic() - started:.0f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
