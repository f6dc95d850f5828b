"""Broker round-trip probes against the real brokers on loopback (short runs)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from probes.engine import (
    BrokerError,
    LoadPlan,
    cleanup_leftovers_sync,
    decode_histogram,
    merge_histograms,
    merge_outcomes,
    run_broker_probe_sync,
    shard_tag,
    summary,
)
from probes.engine.broker_clients import jetstream_name, resource_name
from tests.probes.brokers import (
    BROKER_URLS,
    broker_target,
    make_certificates,
    require_broker,
    tls_proxy,
    to_loopback,
)

ROOT = Path(__file__).resolve().parents[2]
ALL = ["amqp", "redis", "nats", "jetstream", "mqtt"]


def run_id() -> str:
    return "t" + uuid.uuid4().hex[:10]


def plan(model: str, **kw) -> LoadPlan:
    base = dict(rate=300, concurrency=8, duration_s=0.8, warmup_s=0.2)
    return LoadPlan(model, **(base | kw))


# --- what the broker holds, asked through the client libraries directly ----------


async def _amqp_queue_exists(name: str) -> bool:
    import aio_pika
    import aiormq

    connection = await aio_pika.connect(BROKER_URLS["amqp"])
    try:
        channel = await connection.channel()
        try:
            await channel.declare_queue(name, passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity:
            return False
        return True
    finally:
        await connection.close()


async def _redis_key_exists(name: str) -> bool:
    import redis.asyncio as redis

    client = redis.Redis.from_url(BROKER_URLS["redis"])
    try:
        return bool(await client.exists(name))
    finally:
        await client.aclose()


async def _jetstream_exists(name: str) -> bool:
    import nats
    from nats.js.errors import NotFoundError

    connection = await nats.connect("nats://127.0.0.1:4222")
    try:
        try:
            await connection.jetstream().stream_info(name)
        except NotFoundError:
            return False
        return True
    finally:
        await connection.close()


def leftover_exists(kind: str, run: str, shard: int = 0) -> bool:
    tag = shard_tag(run, shard)
    target = broker_target(BROKER_URLS[kind])
    if kind == "amqp":
        return asyncio.run(_amqp_queue_exists(resource_name(target, tag)))
    if kind == "redis":
        return asyncio.run(_redis_key_exists(resource_name(target, tag)))
    return asyncio.run(_jetstream_exists(jetstream_name(tag)))


# --- round trips ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL)
@pytest.mark.parametrize("model", ["open", "closed"])
def test_every_message_makes_the_round_trip(kind: str, model: str) -> None:
    require_broker(kind)
    run = run_id()
    outcome = run_broker_probe_sync(broker_target(BROKER_URLS[kind]), plan(model), run)
    s = summary(outcome)
    assert outcome.kind == ("nats" if kind == "jetstream" else kind)
    assert outcome.errors == {}
    assert s["requests"] > 0 and outcome.completed == s["requests"]
    assert (s["lost"], s["duplicates"]) == (0, 0)
    assert s["p50_ms"] > 0 and s["p99_ms"] >= s["p50_ms"]
    assert decode_histogram(outcome.histogram).get_total_count() == outcome.completed
    # Arrivals are recorded in batches: every one lands in its second, once.
    seconds = merge_histograms(row["histogram"] for row in outcome.per_second)
    assert list(seconds.counts) == list(decode_histogram(outcome.histogram).counts)
    assert sum(row["rate"] for row in outcome.per_second) == outcome.completed
    if model == "open":
        assert s["requests"] == round(300 * 0.8)  # the schedule, not the broker's pace
        service = decode_histogram(outcome.service_histogram)
        assert service.get_total_count() == outcome.completed
    else:
        assert outcome.service_histogram == outcome.histogram  # sent when due: one histogram
    if kind == "nats":
        assert s["confirm_p99_ms"] is None  # core NATS confirms nothing
    else:
        assert s["confirm_p99_ms"] > 0
        confirms = decode_histogram(outcome.confirm_histogram).get_total_count()
        assert confirms == s["requests"]
    if kind in ("amqp", "redis", "jetstream"):
        assert not leftover_exists(kind, run)  # the probe deleted its own resource


@pytest.mark.parametrize("kind", ["redis", "amqp"])
def test_shards_merge_exactly(kind: str) -> None:
    require_broker(kind)
    run = run_id()
    target = broker_target(BROKER_URLS[kind])
    whole = plan("open", rate=200, duration_s=0.6)
    shards = [run_broker_probe_sync(target, whole.for_shard(k, 2), run) for k in range(2)]
    merged = merge_outcomes(shards)
    assert merged.requests == sum(o.requests for o in shards) == round(200 * 0.6)
    assert merged.lost == 0 and merged.kind == kind
    counts = decode_histogram(merged.histogram).get_total_count()
    assert counts == sum(decode_histogram(o.histogram).get_total_count() for o in shards)
    assert summary(merged)["confirm_p99_ms"] > 0


def test_a_stalled_consumer_shows_in_the_corrected_latency_only() -> None:
    # One message in flight at 200/s: the schedule keeps running while each
    # round trip is slower than 5 ms, so queued messages wait for a slot.
    require_broker("redis")
    target = broker_target(BROKER_URLS["redis"])
    outcome = run_broker_probe_sync(
        target, plan("open", rate=400, concurrency=1, duration_s=1.0), run_id()
    )
    corrected = summary(outcome)
    service = decode_histogram(outcome.service_histogram)
    assert outcome.lost == 0
    assert corrected["p99_ms"] * 1000 >= service.get_value_at_percentile(99)


def test_amqp_routes_through_an_existing_exchange_and_leaves_other_queues_alone() -> None:
    require_broker("amqp")
    import aio_pika

    exchange_name = "archway-test-orders-" + uuid.uuid4().hex[:6]

    async def setup() -> None:
        connection = await aio_pika.connect(BROKER_URLS["amqp"])
        channel = await connection.channel()
        exchange = await channel.declare_exchange(exchange_name, "topic", auto_delete=False)
        foreign = await channel.declare_queue(exchange_name + "-foreign", auto_delete=False)
        await foreign.bind(exchange, routing_key="orders.#")
        for i in range(3):
            await exchange.publish(aio_pika.Message(b"order %d" % i), routing_key="orders.new")
        await connection.close()

    async def foreign_count_and_teardown() -> int:
        connection = await aio_pika.connect(BROKER_URLS["amqp"])
        channel = await connection.channel()
        foreign = await channel.declare_queue(exchange_name + "-foreign", passive=True)
        count = foreign.declaration_result.message_count
        await channel.queue_delete(exchange_name + "-foreign")
        await channel.exchange_delete(exchange_name)
        await connection.close()
        return count

    asyncio.run(setup())
    try:
        url = BROKER_URLS["amqp"] + f"?exchange={exchange_name}"
        outcome = run_broker_probe_sync(broker_target(url), plan("closed"), run_id())
    finally:
        left = asyncio.run(foreign_count_and_teardown())
    assert outcome.completed > 0 and outcome.lost == 0 and outcome.errors == {}
    assert left == 3  # the probe consumed only from the queue it created


def test_nats_routes_through_an_existing_subject_prefix() -> None:
    require_broker("nats")
    import nats

    seen: list[str] = []

    async def probe_while_listening() -> object:
        listener = await nats.connect("nats://127.0.0.1:4222")

        async def note(msg) -> None:
            seen.append(msg.subject)

        await listener.subscribe("orders.>", cb=note)
        await listener.flush()
        from probes.engine import run_broker_probe

        target = broker_target(BROKER_URLS["nats"] + "?subject=orders.")
        outcome = await run_broker_probe(target, plan("closed", duration_s=0.4), run_id())
        await listener.flush()
        await listener.close()
        return outcome

    outcome = asyncio.run(probe_while_listening())
    assert outcome.completed > 0 and outcome.lost == 0
    assert seen and all(s.startswith("orders.archway-probe.") for s in seen)


def test_a_wrong_password_is_reported_without_the_password() -> None:
    require_broker("amqp")
    target = broker_target("amqp://guest:Wr0ng-Secret@127.0.0.1:5672/")
    with pytest.raises(BrokerError) as info:
        run_broker_probe_sync(target, plan("closed"), run_id())
    assert "Wr0ng-Secret" not in str(info.value)
    assert "Wr0ng-Secret" not in repr(target)
    assert str(info.value).startswith("amqp broker at 127.0.0.1:5672 could not be used")


def test_an_unreachable_broker_is_a_broker_error() -> None:
    from tests.probes.servers import free_port

    target = broker_target(f"redis://127.0.0.1:{free_port()}/7")
    with pytest.raises(BrokerError, match="redis broker at 127.0.0.1"):
        run_broker_probe_sync(target, plan("closed"), run_id())


@pytest.mark.parametrize(("kind", "scheme"), [("redis", "rediss"), ("amqp", "amqps")])
def test_tls_connects_to_the_pinned_address_and_verifies_the_registered_name(
    kind: str, scheme: str, tmp_path: Path
) -> None:
    require_broker(kind)
    certs = make_certificates(tmp_path, "broker.test")
    backend = 6379 if kind == "redis" else 5672
    path = "/7" if kind == "redis" else "/"
    login = "guest:guest@" if kind == "amqp" else ""
    with tls_proxy(certs, backend) as port:
        url = f"{scheme}://{login}broker.test:{port}{path}"
        target = broker_target(url, resolver=to_loopback, ca_file=certs.ca_file)
        assert (target.address, target.host) == ("127.0.0.1", "broker.test")
        outcome = run_broker_probe_sync(target, plan("closed", duration_s=0.4), run_id())
        assert outcome.completed > 0 and outcome.lost == 0
        # The same certificate does not pass for another registered name.
        other = broker_target(
            f"{scheme}://{login}other.test:{port}{path}",
            resolver=to_loopback,
            ca_file=certs.ca_file,
        )
        with pytest.raises(BrokerError):
            run_broker_probe_sync(other, plan("closed", duration_s=0.2), run_id())


KILLED_PROBE = """
import sys
from probes.engine import LoadPlan, run_broker_probe_sync
from tests.probes.brokers import BROKER_URLS, broker_target
print("started", flush=True)
run_broker_probe_sync(broker_target(BROKER_URLS[sys.argv[1]]),
                      LoadPlan("closed", concurrency=4, duration_s=30, warmup_s=0), sys.argv[2])
"""


@pytest.mark.parametrize("kind", ["amqp", "redis", "jetstream"])
def test_cleanup_deletes_what_a_killed_probe_left(kind: str) -> None:
    require_broker(kind)
    run = run_id()
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_PROBE, kind, run],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while not leftover_exists(kind, run) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert leftover_exists(kind, run)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert leftover_exists(kind, run)  # killed: nothing cleaned up after itself
    target = broker_target(BROKER_URLS[kind])
    assert cleanup_leftovers_sync(target, run, shards=2) == [
        (jetstream_name if kind == "jetstream" else lambda t: resource_name(target, t))(
            shard_tag(run, 0)
        )
    ]
    assert not leftover_exists(kind, run)
    assert cleanup_leftovers_sync(target, run, shards=2) == []  # already gone: no error


def test_a_stopped_probe_reports_progress_and_counts_nothing_cut_short_as_lost() -> None:
    require_broker("redis")
    progress: list = []
    started = time.monotonic()
    outcome = run_broker_probe_sync(
        broker_target(BROKER_URLS["redis"]),
        plan("open", rate=200, duration_s=20),
        run_id(),
        on_progress=progress.append,
        should_stop=lambda: time.monotonic() - started > 0.8,
        progress_interval_s=0.1,
    )
    assert outcome.stopped and outcome.duration_s < 5
    assert outcome.lost == 0 and outcome.completed > 0
    assert progress and progress[-1].sent >= progress[0].sent
    assert progress[-1].completed > 0 and progress[-1].p99_ms > 0  # recorded while running
    assert max(p.percent for p in progress) < 50


def test_error_messages_lose_the_login_but_keep_their_words() -> None:
    from probes.engine.brokers import _redact

    target = broker_target("amqp://u:Pw-9@127.0.0.1:5672/")
    text = _redact("user u refused (Pw-9): server unexpectedly closed", target)
    assert text == "user *** refused (***): server unexpectedly closed"
