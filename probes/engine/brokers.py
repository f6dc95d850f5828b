"""Broker round-trip probes on the engine's load models.

A broker probe publishes messages into its own temporary queue, stream or
subject and consumes them again, and measures per message the time from the
planned send to the consumer's receipt. The load models are the HTTP
runner's (see ``runner.py``), with "in flight" meaning published and not yet
consumed:

* open: message ``j`` is due at ``t0 + j / rate`` (the same global schedule,
  dealt out to shards); at most ``concurrency`` messages are in flight and a
  due message waits for a free slot, its latency still counted from its
  planned time (coordinated omission corrected);
* closed: ``concurrency`` messages are kept in flight; the next one is
  published when one is consumed.

``histogram`` is planned send -> receipt, ``service_histogram`` actual publish
-> receipt (one and the same in the closed model, where a message is due
when it is sent), ``confirm_histogram`` publish -> the broker's confirmation.
A message not consumed within the timeout frees its slot (so a lost message
cannot stall the closed loop) but is still recorded if it arrives later;
messages never consumed by the end of the drain are ``lost``. Each shard
works on its own temporary resource, so shard outcomes merge exactly with
``merge_outcomes``. The generator self-check is the HTTP runner's.

Per message the probe only notes times (arrival, due, published, confirm
wait) in flat arrays; the ticker records them into the histograms every
``TICK_S`` in one vectorised step, bucket for bucket what recording each
on arrival would give. Broker clients are fast enough that recording three
histograms per message was a large share of the probe's own cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import re
import struct
import time
from array import array
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from probes.engine.broker_clients import BrokerTarget, check_run_tag, make_client
from probes.engine.deliveries import DeliveryLedger
from probes.engine.histogram import Recorder, encode_histogram
from probes.engine.model import LoadPlan, ProbeOutcome, Progress
from probes.engine.runner import (
    TICK_S,
    _Accounting,
    _drain,
    _schedule_open,
    _Second,
    _tick,
    measured_window,
    per_second_rows,
    run_progress,
    self_check,
)

_perf = time.perf_counter
KEYS = 16  # messages are spread over this many ordering keys (seq % KEYS)
MAGIC = b"AWP1"
_KEY_SEQ = struct.Struct("!IQ")
_STAMP_AT = len(MAGIC) + 8  # the key and sequence number follow the 12-byte header


class BrokerError(Exception):
    """The broker could not be reached or refused the probe's setup."""


def shard_tag(run_id: str, shard: int) -> str:
    """The run tag of one shard: its temporary resource is named after it."""
    return check_run_tag(f"{run_id}-s{shard}")


def message_header(run_tag: str) -> bytes:
    """12 bytes that mark a message as this shard's (routing may share a queue)."""
    return MAGIC + hashlib.blake2b(run_tag.encode(), digest_size=8).digest()


class _BrokerRun(_Accounting):
    def __init__(
        self,
        target: BrokerTarget,
        plan: LoadPlan,
        client: Any,
        run_tag: str,
        *,
        on_progress: Callable[[Progress], None] | None,
        should_stop: Callable[[], bool] | None,
        progress_interval_s: float,
    ) -> None:
        self.target = target
        self.plan = plan
        self.client = client
        self.kind = target.kind
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.progress_interval_s = progress_interval_s
        self.timeout = target.timeout_s
        self.pool = plan.shard_concurrency
        self.header = message_header(run_tag)
        self.padding = b"." * (target.message_bytes - len(self.header) - _KEY_SEQ.size)

        self.corrected = Recorder()
        self.service = Recorder()
        self.confirm = Recorder()
        self.lag = Recorder()
        self.late = 0
        self.lag_count = 0
        self.seconds: dict[int, _Second] = {}
        self.errors: dict[str, int] = {}
        self.ledger = DeliveryLedger()
        self.requests = 0
        self.completed = 0
        self.error_total = 0
        self.next_seq = 0  # also the number of messages sent
        self.closed = plan.model == "closed"
        # Times of measured arrivals (and confirms) not yet in the histograms: the
        # ticker records them in batches (``record_arrivals``), which costs far less
        # per message than recording each into three histograms as it arrives.
        self.arrived_at = array("d")
        self.due_at = array("d")
        self.published_at = array("d")  # open model only: closed sends are never late
        self.confirm_waits = array("d")

        # seq -> (intended, sent_at, measured, arrival future); the future is
        # done once the message arrived or its slot was given up (timeout).
        self.inflight: dict[int, tuple[float, float, bool, asyncio.Future[None]]] = {}
        self.order: deque[int] = deque()  # seq in send order, for the timeout sweep
        self.busy = 0
        self.handed = 0  # jobs given to a parked slot that has not resumed yet
        self.pending: deque[tuple[float, bool]] = deque()
        self.idle: list[asyncio.Future[tuple[float, bool] | None]] = []
        self.workers: list[asyncio.Task[None]] = []
        self.closing = False
        self.sending = True
        self.stopped = False
        self.stop_time: float | None = None
        self.t0 = 0.0
        self.measure_start = 0.0
        self.measure_end = 0.0
        self.idle_yield_s = 0.0
        self.changed = asyncio.Event()

    @property
    def sent(self) -> int:
        return self.next_seq

    # -- slots: one long-lived coroutine per message in flight -----------------
    # A slot publishes, awaits the confirm, then awaits the message's arrival,
    # like a hand-written publish/consume loop: no task per message.
    def start_slots(self) -> None:
        loop = asyncio.get_running_loop()
        self.workers = [loop.create_task(self._slot()) for _ in range(self.pool)]

    def dispatch(self, intended: float, now: float, measured: bool) -> None:
        if self.idle:
            self.handed += 1
            self.idle.pop().set_result((intended, measured))
        else:
            self.pending.append((intended, measured))

    def _next_job(self) -> tuple[float, bool] | None:
        if self.pending:
            return self.pending.popleft()
        if self.closed and self.sending:
            now = _perf()
            if self.measure_start and now < self.measure_end:
                return now, now >= self.measure_start
        return None

    async def _slot(self) -> None:
        loop = asyncio.get_running_loop()
        new_future = loop.create_future
        publish, confirms = self.client.publish, self.client.confirms
        inflight, remember, published = self.inflight, self.order.append, self.ledger.published
        pending, closed, idle = self.pending, self.closed, self.idle
        confirmed = self.confirm_waits.append
        # One buffer per slot: only the key and sequence number change between messages.
        message = bytearray(self.header + bytes(_KEY_SEQ.size) + self.padding)
        stamp, perf = _KEY_SEQ.pack_into, _perf
        while not self.closing:
            if pending:
                intended, measured = pending.popleft()
                sent_at = perf()
            elif (
                closed
                and self.sending
                and self.measure_start
                and (now := perf()) < self.measure_end
            ):
                # The closed model has no schedule: a message is due when it is sent.
                sent_at = intended = now
                measured = now >= self.measure_start
            else:
                parked: asyncio.Future[tuple[float, bool] | None] = new_future()
                idle.append(parked)
                self.changed.set()
                job = await parked
                if job is None:
                    return
                self.handed -= 1
                intended, measured = job
                sent_at = perf()
                if closed:
                    intended = sent_at
            seq = self.next_seq
            self.next_seq = seq + 1
            arrival: asyncio.Future[None] = new_future()
            inflight[seq] = (intended, sent_at, measured, arrival)
            remember(seq)
            self.busy += 1
            if measured:
                self.requests += 1
                published(seq)
            stamp(message, _STAMP_AT, seq % KEYS, seq)
            try:
                await publish(bytes(message))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every client library raises its own kinds
                inflight.pop(seq, None)
                if measured:
                    self.ledger.withdrawn(seq)
                    self._error(_publish_error(exc), perf())
                self.busy -= 1
                self.changed.set()
                continue
            if measured and confirms:
                confirmed(perf() - sent_at)
            if not arrival.done():
                await arrival
            self.busy -= 1
            self.changed.set()

    async def wake_closed_loop(self) -> None:
        now = _perf()
        if now < self.t0:
            await asyncio.sleep(self.t0 - now)
        while self.idle:
            job = self._next_job()
            if job is None:
                break
            self.handed += 1
            self.idle.pop().set_result(job)
        while self.sending:
            now = _perf()
            if now >= self.measure_end:
                break
            await asyncio.sleep(min(TICK_S, self.measure_end - now))

    async def stop_slots(self) -> None:
        # Some client libraries turn a cancelled command into their own error,
        # so a slot may survive cancel(): ``closing`` stops it from parking again.
        self.closing = True
        for parked in self.idle:
            if not parked.done():
                parked.set_result(None)
        self.idle.clear()
        for task in self.workers:
            task.cancel()
        for task in self.workers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- consuming --------------------------------------------------------------
    def on_message(self, body: bytes) -> None:
        now = _perf()
        if len(body) < _STAMP_AT + _KEY_SEQ.size or not body.startswith(self.header):
            return  # someone else's message on shared routing
        key, seq = _KEY_SEQ.unpack_from(body, _STAMP_AT)
        entry = self.inflight.pop(seq, None)
        if entry is None:
            if self.ledger.knows(seq):
                self.ledger.arrived(key, seq)  # counts the duplicate
            return
        intended, sent_at, measured, arrival = entry
        if measured and self.ledger.arrived(key, seq):
            self.completed += 1
            self.arrived_at.append(now)
            self.due_at.append(intended)
            if not self.closed:
                self.published_at.append(sent_at)
        if not arrival.done():
            arrival.set_result(None)

    def record_arrivals(self) -> None:
        """Put the arrivals and confirms collected since the last call into the
        histograms: the same microsecond values, buckets and seconds as
        recording each message on arrival."""
        if self.arrived_at:
            arrived = np.array(self.arrived_at)
            corrected = ((arrived - np.array(self.due_at)) * 1e6).astype(np.int64)
            self.corrected.record_many(corrected)
            if not self.closed:
                service = ((arrived - np.array(self.published_at)) * 1e6).astype(np.int64)
                self.service.record_many(service)
            since = arrived - self.measure_start
            seconds = np.where(since > 0, since, 0).astype(np.int64)
            for t in np.unique(seconds).tolist():
                sec = self.seconds.get(t)
                if sec is None:
                    sec = self.seconds[t] = _Second()
                in_second = corrected[seconds == t]
                sec.recorder.record_many(in_second)
                sec.completed += len(in_second)
            del self.arrived_at[:], self.due_at[:], self.published_at[:]
        if self.confirm_waits:
            self.confirm.record_many((np.array(self.confirm_waits) * 1e6).astype(np.int64))
            del self.confirm_waits[:]

    # -- housekeeping (called by the runner's ticker and drain) -----------------
    def sweep(self, now: float) -> None:
        """Record what arrived since the last tick, and free the slots of
        messages not consumed within the timeout.

        The message stays expected: if it arrives later its latency is
        recorded; if it never does it is lost.
        """
        self.record_arrivals()
        limit = now - self.timeout
        order, inflight = self.order, self.inflight
        while order:
            entry = inflight.get(order[0])
            if entry is not None:
                if entry[1] >= limit:
                    break  # sent later than the timeout ago, as is everything behind it
                if not entry[3].done():
                    entry[3].set_result(None)
            order.popleft()

    def progress(self, now: float) -> Progress:
        return run_progress(self, now)

    def in_flight(self) -> int:
        """Messages published and not yet consumed or given up, plus queued ones."""
        return self.busy + self.handed + len(self.pending)


def _publish_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionError | OSError):
        return "connect"
    name = type(exc).__name__
    if "Nack" in name or "Delivery" in name or "Reject" in name:
        return "nack"  # the broker refused the message (or could not route it)
    return "publish"


def _redact(text: str, target: BrokerTarget) -> str:
    """The text without the password, nor the user name where it stands as a word."""
    if target.password:
        text = text.replace(target.password, "***")
    if target.username:
        text = re.sub(rf"(?<!\w){re.escape(target.username)}(?!\w)", "***", text)
    return text


async def run_broker_probe(
    target: BrokerTarget,
    plan: LoadPlan,
    run_id: str,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress_interval_s: float = 0.25,
) -> ProbeOutcome:
    """Run one broker probe (or one shard of one) and return what it measured.

    ``run_id`` names the temporary resources (``archway-probe.<run_id>-s<shard>``);
    they are deleted at the end, and :func:`cleanup_leftovers` deletes them
    after a killed run. Raises :class:`BrokerError` when the broker cannot be
    reached or refuses the setup (the message never holds the credentials).
    """
    run_tag = shard_tag(run_id, plan.shard)
    client = make_client(target)
    run = _BrokerRun(
        target,
        plan,
        client,
        run_tag,
        on_progress=on_progress,
        should_stop=should_stop,
        progress_interval_s=progress_interval_s,
    )
    try:
        await asyncio.wait_for(
            client.open(run_tag, run.on_message, max(2 * run.pool, 64)), target.timeout_s * 3
        )
    except Exception as exc:  # noqa: BLE001 - report any library's failure the same way
        with contextlib.suppress(Exception):
            await client.close()
        detail = _redact(str(exc) or type(exc).__name__, target)
        raise BrokerError(
            f"{target.kind} broker at {target.host}:{target.port} could not be used: {detail}"
        ) from None
    gc_was_enabled = gc.isenabled()
    gc.disable()
    run.start_slots()
    try:
        await asyncio.sleep(0)  # the slots park, ready for work
        run.t0 = _perf() + 0.005
        run.measure_start = run.t0 + plan.warmup_s
        run.measure_end = run.measure_start + plan.duration_s
        cpu0 = time.thread_time()
        ticker = asyncio.get_running_loop().create_task(_tick(run))  # type: ignore[arg-type]
        try:
            if plan.model == "open":
                await _schedule_open(run)  # type: ignore[arg-type]
            else:
                await run.wake_closed_loop()
            await _drain(run)  # type: ignore[arg-type]
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        end = _perf()
        cpu = time.thread_time() - cpu0
        if run.stopped:
            for seq, entry in run.inflight.items():
                if entry[2] and not entry[3].done():
                    run.ledger.withdrawn(seq)  # cut short, not lost
        else:
            for _intended, measured in run.pending:
                if measured:
                    run.requests += 1
                    run._error("timeout", end)
        return _outcome(run, end=end, cpu=cpu)
    finally:
        await run.stop_slots()
        with contextlib.suppress(Exception):
            await client.close()
        if gc_was_enabled:
            gc.enable()


def run_broker_probe_sync(
    target: BrokerTarget, plan: LoadPlan, run_id: str, **kwargs: Any
) -> ProbeOutcome:
    """Run :func:`run_broker_probe` in a fresh event loop (uvloop)."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run_broker_probe(target, plan, run_id, **kwargs))


async def cleanup_leftovers(target: BrokerTarget, run_id: str, shards: int = 1) -> list[str]:
    """Delete what a killed probe of ``run_id`` left (its queues or streams).

    Returns the names deleted; deleting what is already gone is not an error.
    """
    deleted: list[str] = []
    for shard in range(max(1, shards)):
        client = make_client(target)
        deleted += await client.delete_leftovers(shard_tag(run_id, shard))
    return deleted


def cleanup_leftovers_sync(target: BrokerTarget, run_id: str, shards: int = 1) -> list[str]:
    return asyncio.run(cleanup_leftovers(target, run_id, shards))


def _outcome(run: _BrokerRun, *, end: float, cpu: float) -> ProbeOutcome:
    plan = run.plan
    run.record_arrivals()
    duration, busy_cpu = measured_window(run, end=end, cpu=cpu)
    corrected_hist = run.corrected.finish()
    lag_p99_ms, late_fraction, reasons = self_check(
        plan, run.lag, run.late, run.lag_count, busy_cpu, corrected_hist
    )
    counts = run.ledger.counts()
    corrected = encode_histogram(corrected_hist)
    closed = plan.model == "closed"
    # Closed model: every message is sent when due, so only one histogram was kept.
    service = corrected if closed else encode_histogram(run.service.finish())
    confirm = run.confirm.finish()
    return ProbeOutcome(
        model=plan.model,
        requests=run.requests,
        completed=run.completed,
        errors=dict(sorted(run.errors.items())),
        status_counts={},
        duration_s=round(duration, 4),
        rps=run.completed / duration if duration else 0.0,
        histogram=service if closed else corrected,
        service_histogram=service,
        per_second=per_second_rows(run.seconds),
        send_lag_p99_ms=lag_p99_ms,
        late_fraction=late_fraction,
        valid=not reasons,
        invalid_reason="; ".join(reasons),
        stopped=run.stopped,
        generator_cpu=round(busy_cpu, 3),
        latency_label="closed-loop" if closed else "corrected",
        kind=run.kind,
        lost=counts.lost,
        duplicates=counts.duplicates,
        reordered=counts.reordered,
        confirm_histogram=encode_histogram(confirm) if confirm.get_total_count() else "",
    )
