"""The load generator: open-model scheduling, closed-model loops, self-check.

Open model and coordinated omission
-----------------------------------
A closed-loop tester (N connections, each sending its next request when the
previous answer arrives) slows down when the server slows down: while the
server stalls for 300 ms, the tester sends nothing, so the requests real users
would have sent in those 300 ms are never measured. The stall then looks like
a handful of slow requests instead of hundreds ("coordinated omission").

The open model fixes the arrival schedule up front: request ``i`` is due at
``t0 + i / rate`` whatever the responses do. When a request is due and no
connection is free (the server is stalling), it waits in a queue, and its
latency is measured from the INTENDED send time, not from when a connection
finally became free. A 300 ms stall at 200 requests/s therefore produces ~60
requests whose latencies ramp from ~300 ms down to ~0, exactly what users
would have seen. The uncorrected service time (actual write -> response) is
kept in a second histogram, so the difference between the two shows how much
of the latency was queueing behind the stall.

With ``shards`` the global schedule is dealt out round-robin: shard ``k`` of
``n`` sends requests ``k, k+n, ...``, i.e. its own stream at ``rate / n`` with
phase ``k / rate``; merged, the shards send exactly the unsharded schedule.

Timing and the self-check
-------------------------
The scheduler sleeps until shortly before the next due time and then yields to
the event loop (``sleep(0)``) until it is due, because uvloop's timers have
millisecond granularity. Every send records its lag (actual dispatch time -
intended time). If the generator itself could not keep up (send lag p99 > 2
ms and > 5 % of the measured p50, more than 0.1 % of sends late by more than
2 ms and 5 % of the measured p99, or the generator thread's CPU time close to
the wall time, excluding idle yields) the outcome is marked ``valid=False``
with the reason: the numbers then describe the generator, not the server.
Smaller lateness is kept in the outcome (``send_lag_p99_ms``) and shown
beside the numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from hdrh.histogram import HdrHistogram

from probes.engine.clients import (
    AioSlot,
    FastConnection,
    build_request,
    make_aiohttp_session,
    needs_aiohttp,
    open_fast_connection,
)
from probes.engine.grpc_client import GrpcMethod, GrpcSlot, open_grpc
from probes.engine.histogram import Recorder, encode_histogram, summarize
from probes.engine.model import MAX_REDIRECTS_KEPT, LoadPlan, ProbeOutcome, Progress, Target

_perf = time.perf_counter

LATE_THRESHOLD_S = 0.002
MAX_LAG_P99_MS = 2.0
MAX_LATE_FRACTION = 0.001
MATERIAL_LAG_SHARE = 0.05  # lateness under this share of the measured latency is noise
MAX_GENERATOR_CPU = 0.9
TICK_S = 0.02  # timeouts, should_stop and progress are checked this often
SPIN_BELOW_S = 0.002  # closer than this to a due time, yield instead of sleeping
# uvloop timers round to whole milliseconds and fire up to ~0.9 ms late, so a
# sleep ends this long before the due time and the rest is spent yielding.
SLEEP_MARGIN_S = 0.0015
MAX_SLEEP_S = 0.05  # keeps a slow schedule responsive to should_stop
IDLE_YIELD_S = 30e-6  # a yield that came back this fast found nothing else to do
STOP_GRACE_S = 0.3  # in-flight requests get this long to finish after a stop

Conn = FastConnection | AioSlot | GrpcSlot
GRPC_SCHEMES = ("grpc", "grpcs")


class _Second:
    __slots__ = ("recorder", "completed", "errors")

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.completed = 0
        self.errors = 0


class _Accounting:
    """Per-second rows and error counts, shared by the HTTP/gRPC and the broker runs."""

    seconds: dict[int, _Second]
    errors: dict[str, int]
    error_total: int
    measure_start: float

    def _second(self, now: float) -> _Second:
        t = int(now - self.measure_start) if now > self.measure_start else 0
        sec = self.seconds.get(t)
        if sec is None:
            sec = self.seconds[t] = _Second()
        return sec

    def _error(self, cls: str, now: float) -> None:
        self.errors[cls] = self.errors.get(cls, 0) + 1
        self.error_total += 1
        self._second(now).errors += 1


class _Run(_Accounting):
    """State of one run; connections call ``done``/``fail``/``discard``."""

    def __init__(
        self,
        target: Target,
        plan: LoadPlan,
        *,
        on_progress: Callable[[Progress], None] | None,
        should_stop: Callable[[], bool] | None,
        progress_interval_s: float,
        client: str,
    ) -> None:
        self.target = target
        self.plan = plan
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.progress_interval_s = progress_interval_s
        self.kind = "grpc" if target.scheme in GRPC_SCHEMES else "http"
        self.use_aiohttp = self.kind == "http" and (
            client == "aiohttp" or (client == "auto" and needs_aiohttp(target))
        )
        self.request_bytes = build_request(target) if self.kind == "http" else b""
        self.grpc: GrpcMethod | None = None
        self.expected = target.expected_status
        self.timeout = target.timeout_s
        self.pool = plan.shard_concurrency

        self.corrected = Recorder()
        self.service = Recorder()
        self.lag = Recorder()
        self.late = 0
        self.lag_count = 0
        self.seconds: dict[int, _Second] = {}
        self.errors: dict[str, int] = {}
        self.statuses: dict[int, int] = {}
        self.redirects: list[dict[str, Any]] = []
        self.requests = 0
        self.completed = 0
        self.error_total = 0
        self.sent = 0

        self.conns: set[Conn] = set()
        self.idle: list[Conn] = []
        self.pending: deque[tuple[float, bool]] = deque()
        self.opening = 0
        self.opening_measured = 0  # measured requests waiting for a new connection
        self.session: Any = None
        self.sending = True
        self.stopped = False
        self.stop_time: float | None = None
        self.t0 = 0.0
        self.measure_start = 0.0
        self.measure_end = 0.0
        self.idle_yield_s = 0.0
        self.connect_tasks: set[asyncio.Task[None]] = set()
        self.changed = asyncio.Event()

    # -- accounting -----------------------------------------------------------
    def done(self, conn: Conn, status: int, location: bytes | None, keep_alive: bool) -> None:
        now = _perf()
        conn.busy = False
        if conn.measured:
            self.requests += 1
            self.completed += 1
            corrected = int((now - conn.intended) * 1e6)
            self.corrected.record(corrected)
            self.service.record(int((now - conn.sent_at) * 1e6))
            sec = self._second(now)
            sec.recorder.record(corrected)
            sec.completed += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            expected = self.expected
            if (expected is not None and status != expected) or (
                expected is None and status >= 400
            ):
                self._error(f"{status // 100}xx", now)
            if 300 <= status < 400 and len(self.redirects) < MAX_REDIRECTS_KEPT:
                entry = {
                    "status": status,
                    "location": location.decode("latin-1") if location else None,
                }
                if entry not in self.redirects:
                    self.redirects.append(entry)
        if keep_alive and not conn.closed:
            self._release(conn, now)
        else:
            self._drop(conn)
            self._refill(now)

    def fail(self, conn: Conn, cls: str) -> None:
        now = _perf()
        was_busy = conn.busy
        conn.busy = False
        if was_busy and conn.measured:
            self.requests += 1
            self._error(cls, now)
        if conn.shares_transport:
            self._release(conn, now)
            return
        self._drop(conn)
        conn.close()
        self._refill(now)

    def discard(self, conn: Conn) -> None:
        """An idle connection went away (server closed it): forget it."""
        self._drop(conn)
        conn.close()
        self._refill(_perf())

    def _drop(self, conn: Conn) -> None:
        self.conns.discard(conn)
        with contextlib.suppress(ValueError):
            self.idle.remove(conn)
        self.changed.set()

    # -- dispatch -------------------------------------------------------------
    def _release(self, conn: Conn, now: float) -> None:
        """A connection is free: give it queued work, the next closed-loop
        request, or park it."""
        self.changed.set()
        if self.pending:
            intended, measured = self.pending.popleft()
            self.sent += 1
            conn.send(intended, now, measured)
        elif self.plan.model == "closed" and self.sending and now < self.measure_end:
            self.sent += 1
            conn.send(now, now, now >= self.measure_start)
        else:
            self.idle.append(conn)

    def _refill(self, now: float) -> None:
        """Replace lost connections while there is work for them."""
        if not self.sending and not self.pending:
            return
        want = len(self.pending) if self.plan.model == "open" else self.pool
        while self.opening + len(self.conns) < self.pool and want > 0:
            want -= 1
            if self.plan.model == "open":
                intended, measured = self.pending.popleft()
                self._connect_for(intended, measured)
            else:
                self._connect_for(None, False)

    def dispatch(self, intended: float, now: float, measured: bool) -> None:
        if self.idle:
            conn = self.idle.pop()
            self.sent += 1
            conn.send(intended, now, measured)
        elif self.opening + len(self.conns) < self.pool:
            self._connect_for(intended, measured)
        else:
            self.pending.append((intended, measured))

    def _connect_for(self, intended: float | None, measured: bool) -> None:
        self.opening += 1
        if intended is not None and measured:
            self.opening_measured += 1
        task = asyncio.get_running_loop().create_task(self._connect(intended, measured))
        self.connect_tasks.add(task)
        task.add_done_callback(self.connect_tasks.discard)

    async def _connect(self, intended: float | None, measured: bool) -> None:
        try:
            conn = await self._new_connection()
        except (OSError, TimeoutError):
            self.opening -= 1
            if intended is not None and measured:
                self.opening_measured -= 1
            now = _perf()
            if intended is not None:
                self.sent += 1
                if measured:
                    self.requests += 1
                    self._error("connect", now)
            elif self.plan.model == "closed" and self.sending and now < self.measure_end:
                if now >= self.measure_start:
                    self.sent += 1
                    self.requests += 1
                    self._error("connect", now)
                await asyncio.sleep(0.01)  # do not spin on a refused port
            self.changed.set()
            self._refill(_perf())
            return
        self.opening -= 1
        if intended is not None and measured:
            self.opening_measured -= 1
        self.conns.add(conn)
        now = _perf()
        if intended is not None:
            self.sent += 1
            conn.send(intended, now, measured)
        else:
            self._release(conn, now)

    async def _new_connection(self) -> Conn:
        if self.grpc is not None:
            return GrpcSlot(self, self.grpc, self.timeout)
        if self.use_aiohttp:
            return AioSlot(self, self.session, self.target)
        return await open_fast_connection(self, self.target, self.timeout)

    async def open_pool(self) -> None:
        """Open the connections before the measured window starts."""
        if self.use_aiohttp:
            self.session = make_aiohttp_session(self.target, self.pool)
        if self.kind == "grpc":
            self.grpc = await open_grpc(self.target)
        results = await asyncio.gather(
            *(self._new_connection() for _ in range(self.pool)), return_exceptions=True
        )
        for conn in results:
            if isinstance(conn, BaseException):
                continue
            self.conns.add(conn)
            self.idle.append(conn)

    # -- housekeeping ---------------------------------------------------------
    def sweep(self, now: float) -> None:
        """Fail requests that outlived the per-request timeout."""
        limit = now - self.timeout
        for conn in list(self.conns):
            if conn.busy and not conn.handles_own_timeout and conn.sent_at < limit:
                self.fail(conn, "timeout")

    def progress(self, now: float) -> Progress:
        return run_progress(self, now)

    def in_flight(self) -> int:
        return sum(1 for c in self.conns if c.busy) + self.opening + len(self.pending)

    async def close(self) -> None:
        self.sending = False
        for task in list(self.connect_tasks):
            task.cancel()
        for conn in list(self.conns):
            conn.close()
        if self.session is not None:
            await self.session.close()
        if self.grpc is not None:
            await self.grpc.channel.close()


async def run_probe(
    target: Target,
    plan: LoadPlan,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress_interval_s: float = 0.25,
    client: str = "auto",
) -> ProbeOutcome:
    """Run one probe (or one shard of one) and return what it measured.

    ``client`` is "auto" (fast HTTP/1.1 path unless TLS, HEAD or a large
    body needs aiohttp), "fast" or "aiohttp".
    """
    run = _Run(
        target,
        plan,
        on_progress=on_progress,
        should_stop=should_stop,
        progress_interval_s=progress_interval_s,
        client=client,
    )
    # A full garbage collection can pause the loop for tens of ms in a big
    # process (a Django worker), which would show up as send lag. Requests
    # allocate no reference cycles, so collection waits until the run ends.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        await run.open_pool()
        run.t0 = _perf() + 0.005
        run.measure_start = run.t0 + plan.warmup_s
        run.measure_end = run.measure_start + plan.duration_s
        cpu0 = time.thread_time()
        ticker = asyncio.get_running_loop().create_task(_tick(run))
        try:
            if plan.model == "open":
                await _schedule_open(run)
            else:
                await _run_closed(run)
            await _drain(run)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        end = _perf()
        cpu = time.thread_time() - cpu0
        # Requests still queued, connecting or in flight: timeouts, unless stopped.
        leftover = (
            sum(1 for _, m in run.pending if m)
            + run.opening_measured
            + sum(1 for c in run.conns if c.busy and c.measured)
        )
        if not run.stopped:
            for _ in range(leftover):
                run.requests += 1
                run._error("timeout", end)
        return _outcome(run, end=end, cpu=cpu)
    finally:
        await run.close()
        if gc_was_enabled:
            gc.enable()


def run_probe_sync(target: Target, plan: LoadPlan, **kwargs: Any) -> ProbeOutcome:
    """Run :func:`run_probe` in a fresh event loop (uvloop when installed)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        return asyncio.run(run_probe(target, plan, **kwargs))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run_probe(target, plan, **kwargs))


async def _schedule_open(run: _Run) -> None:
    """Dispatch global requests ``j = shard, shard + shards, ...`` at ``t0 + j / rate``.

    Indices, not accumulated float times, decide which requests exist and
    which fall in the warm-up, so shards agree exactly on the schedule.
    """
    plan = run.plan
    rate = plan.rate
    total = math.ceil((plan.warmup_s + plan.duration_s) * rate - 1e-9)
    first_measured = math.ceil(plan.warmup_s * rate - 1e-9)
    lag_rec = run.lag.record
    sleep = asyncio.sleep
    t0 = run.t0
    j = plan.shard
    step = plan.shards
    while j < total and run.sending:
        intended = t0 + j / rate
        now = _perf()
        wait = intended - now
        if wait > SPIN_BELOW_S:
            await sleep(min(wait - SLEEP_MARGIN_S, MAX_SLEEP_S))
            continue
        if wait > 0:
            await sleep(0)
            if _perf() - now < IDLE_YIELD_S:
                run.idle_yield_s += _perf() - now
            continue
        while intended <= now:
            measured = j >= first_measured
            if measured:
                late = now - intended
                lag_rec(int(late * 1e6))
                run.lag_count += 1
                if late > LATE_THRESHOLD_S:
                    run.late += 1
            run.dispatch(intended, now, measured)
            j += step
            if j >= total:
                break
            intended = t0 + j / rate


async def _run_closed(run: _Run) -> None:
    now = _perf()
    if now < run.t0:
        await asyncio.sleep(run.t0 - now)
    now = _perf()
    for conn in list(run.idle):
        run.idle.remove(conn)
        run._release(conn, now)
    run._refill(now)
    while run.sending:
        now = _perf()
        if now >= run.measure_end:
            break
        await asyncio.sleep(min(TICK_S, run.measure_end - now))


async def _drain(run: _Run) -> None:
    """Let in-flight requests finish (timeout-bounded; short after a stop)."""
    run.sending = False if run.plan.model == "closed" else run.sending
    grace = STOP_GRACE_S if run.stopped else run.timeout + TICK_S
    deadline = _perf() + grace
    while run.in_flight() and _perf() < deadline:
        if run.stopped and deadline - _perf() > STOP_GRACE_S:
            deadline = _perf() + STOP_GRACE_S
        run.changed.clear()
        with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
            await asyncio.wait_for(run.changed.wait(), TICK_S)
    run.sending = False


async def _tick(run: _Run) -> None:
    next_progress = run.t0 + run.progress_interval_s
    while True:
        await asyncio.sleep(TICK_S)
        now = _perf()
        run.sweep(now)
        if run.should_stop is not None and not run.stopped and run.should_stop():
            run.stopped = True
            run.sending = False
            run.stop_time = now
        if run.on_progress is not None and now >= next_progress:
            next_progress = now + run.progress_interval_s
            run.on_progress(run.progress(now))


def lateness_problems(
    *,
    lag_p99_ms: float,
    lag_p999_ms: float,
    late_fraction: float,
    measured_p50_ms: float,
    measured_p99_ms: float,
) -> list[str]:
    """Whether the generator's lateness could change the reported percentiles materially.

    A late send adds its lag to the latency reported for it. Against a 40 ms
    service a 3 ms lag is noise; against a 2 ms one it is most of the number.
    So lateness invalidates a run only when it is large in absolute terms (over
    ``MAX_LAG_P99_MS``) *and* against what was measured (over
    ``MATERIAL_LAG_SHARE`` of the p50, or of the p99 for the rare very late
    sends). Smaller lag is reported beside the numbers, not held against them.
    """
    problems = []
    if lag_p99_ms > MAX_LAG_P99_MS and lag_p99_ms > MATERIAL_LAG_SHARE * measured_p50_ms:
        problems.append(
            f"sends were late: send lag p99 {lag_p99_ms:.2f} ms is over {MAX_LAG_P99_MS:g} ms "
            f"and over {MATERIAL_LAG_SHARE:.0%} of the measured p50 ({measured_p50_ms:.2f} ms), "
            "so the generator could not keep the schedule closely enough for these percentiles"
        )
    elif (
        late_fraction > MAX_LATE_FRACTION
        and lag_p999_ms > MAX_LAG_P99_MS
        and lag_p999_ms > MATERIAL_LAG_SHARE * measured_p99_ms
    ):
        problems.append(
            f"{late_fraction:.2%} of sends were more than 2 ms late (limit "
            f"{MAX_LATE_FRACTION:.1%}), up to {lag_p999_ms:.2f} ms at p99.9, over "
            f"{MATERIAL_LAG_SHARE:.0%} of the measured p99 ({measured_p99_ms:.2f} ms)"
        )
    return problems


def self_check(
    plan: LoadPlan,
    lag: Recorder,
    late: int,
    lag_count: int,
    busy_cpu: float,
    measured: HdrHistogram,
) -> tuple[float, float, list[str]]:
    """(send lag p99 ms, late fraction, reasons the outcome is not valid); ``measured`` is
    the corrected latency histogram the lateness is judged against."""
    lag_hist = lag.finish()
    lag_summary = summarize(lag_hist) if lag_count else None
    lag_p99_ms = float(lag_summary["p99_ms"]) if lag_summary else 0.0
    late_fraction = late / lag_count if lag_count else 0.0
    reasons = []
    if plan.model == "open":
        latency = summarize(measured)
        reasons += lateness_problems(
            lag_p99_ms=lag_p99_ms,
            lag_p999_ms=float(lag_summary["p999_ms"]) if lag_summary else 0.0,
            late_fraction=late_fraction,
            measured_p50_ms=float(latency["p50_ms"]),
            measured_p99_ms=float(latency["p99_ms"]),
        )
    if busy_cpu > MAX_GENERATOR_CPU:
        reasons.append(
            f"generator CPU saturated ({busy_cpu:.0%} of one core): "
            "the generator, not the target, may be the bottleneck"
        )
    return lag_p99_ms, late_fraction, reasons


def run_progress(run: Any, now: float) -> Progress:
    """Where a run (HTTP or broker) stands ``now``: share of the planned time, counts, and
    the live corrected p50/p99."""
    total = run.plan.warmup_s + run.plan.duration_s
    elapsed = max(0.0, now - run.t0)
    return Progress(
        percent=round(min(100.0, 100.0 * elapsed / total), 1),
        sent=run.sent,
        completed=run.completed,
        errors=run.error_total,
        p50_ms=run.corrected.value_at_percentile(50) / 1000,
        p99_ms=run.corrected.value_at_percentile(99) / 1000,
        elapsed_s=round(elapsed, 3),
    )


def per_second_rows(seconds: dict[int, _Second]) -> list[dict[str, Any]]:
    """The per-second series, each second with its own encoded histogram."""
    rows = []
    for t in sorted(seconds):
        sec = seconds[t]
        h = sec.recorder.finish()
        s = summarize(h)
        rows.append(
            {
                "t": t,
                "rate": sec.completed,
                "p50_ms": s["p50_ms"],
                "p99_ms": s["p99_ms"],
                "errors": sec.errors,
                "histogram": encode_histogram(h),
            }
        )
    return rows


def measured_window(run: Any, *, end: float, cpu: float) -> tuple[float, float]:
    """(measured duration in s, generator busy CPU as a fraction of one core)."""
    stop_time = run.stop_time
    window_end = min(run.measure_end, stop_time) if stop_time is not None else run.measure_end
    duration = max(0.0, window_end - run.measure_start)
    wall = max(1e-9, end - run.t0)
    return duration, max(0.0, cpu - run.idle_yield_s) / wall


def _outcome(run: _Run, *, end: float, cpu: float) -> ProbeOutcome:
    plan = run.plan
    duration, busy_cpu = measured_window(run, end=end, cpu=cpu)
    corrected_hist = run.corrected.finish()
    lag_p99_ms, late_fraction, reasons = self_check(
        plan, run.lag, run.late, run.lag_count, busy_cpu, corrected_hist
    )
    corrected = encode_histogram(corrected_hist)
    service = encode_histogram(run.service.finish())
    closed = plan.model == "closed"
    return ProbeOutcome(
        model=plan.model,
        requests=run.requests,
        completed=run.completed,
        errors=dict(sorted(run.errors.items())),
        status_counts={str(k): v for k, v in sorted(run.statuses.items())},
        duration_s=round(duration, 4),
        rps=run.completed / duration if duration else 0.0,
        histogram=service if closed else corrected,
        service_histogram=service,
        per_second=per_second_rows(run.seconds),
        redirects=list(run.redirects),
        send_lag_p99_ms=lag_p99_ms,
        late_fraction=late_fraction,
        valid=not reasons,
        invalid_reason="; ".join(reasons),
        stopped=run.stopped,
        generator_cpu=round(busy_cpu, 3),
        latency_label="closed-loop" if closed else "corrected",
        kind=run.kind,
    )
