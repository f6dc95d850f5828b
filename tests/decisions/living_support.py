"""Shared by the living-decision tests: a use case whose recommendation turns on one hop,
an accepted ADR drafted from it, a webhook receiver and a slow link on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from decisions.models import Decision, DecisionStatus
from decisions.records.services import decision_create_from_use_case, decision_transition
from patterns.engine import Hop
from tests.factories import make_use_case
from tests.probes.brokers import loopback_proxy

# Payments at about 100 ms keep the synchronous chain within p99 400 ms and REST on top;
# slow payments push every design that waits for them past the budget, and with eventual
# consistency allowed, publishing the order as an event (the caller reads its own copy)
# becomes the design that meets every requirement.
CHECKOUT_HOPS = [Hop("inventory", 5, 20), Hop("payments", 100, 150)]


def checkout_use_case(team, by=None, *, hops=CHECKOUT_HOPS, **answers):
    values = dict(
        name="Checkout",
        caller="browser",
        caller_waits=True,
        latency_p95_ms=300,
        latency_p99_ms=400,
        consistency="eventual",
        availability=99.9,
        peak_rps=20,
        avg_rps=10,
        consumers=2,
        distributed_transaction=False,
    )
    return make_use_case(team, hops=hops, by=by, **(values | answers))


def accepted_checkout(team, by) -> Decision:
    decision = decision_create_from_use_case(use_case=checkout_use_case(team, by), by=by)
    decision_transition(decision=decision, to=DecisionStatus.ACCEPTED, by=by)
    decision.refresh_from_db()
    return decision


# Payments this slow make publishing the order as an event the top design (asynchronous),
# so the record assumes a staleness budget, kept by the broker the use case names.
SLOW_CHECKOUT_HOPS = [Hop("inventory", 5, 20), Hop("payments", 600, 910)]


def async_checkout(team, by, *, broker_service: str = "order-events", **answers) -> Decision:
    """A proposed event-driven record of a checkout whose events go through ``broker_service``."""
    answers = {"staleness_s": 5, "message_loss_ok": False, **answers}
    use_case = checkout_use_case(
        team, by, hops=SLOW_CHECKOUT_HOPS, broker_service=broker_service, **answers
    )
    decision = decision_create_from_use_case(use_case=use_case, by=by)
    assert decision.chosen_pattern == "event-driven", decision.chosen_pattern
    return decision


def accept(decision: Decision, by) -> Decision:
    decision_transition(decision=decision, to=DecisionStatus.ACCEPTED, by=by)
    decision.refresh_from_db()
    return decision


class Receiver:
    """A webhook receiver on 127.0.0.1 that keeps every request's headers and body."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = status
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def events(self) -> list[str]:
        return [json.loads(body)["event"] for _, body in self.requests]


@contextmanager
def receiver(status: int = 200) -> Iterator[Receiver]:
    r = Receiver(status)
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


@contextmanager
def slow_link(backend_port: int, delay_s: float) -> Iterator[int]:
    """A TCP proxy on 127.0.0.1 in front of ``backend_port`` that holds every chunk for
    ``delay_s`` in each direction; yields its port.

    A broker on loopback delivers in about 2 ms, so the probe's self-check (send lag
    against 5 % of the measured p50) turns a run not valid at the first scheduler hiccup
    on a busy machine; a link of 100 ms leaves the generator room, as the slow HTTP
    services of the other living tests do.
    """
    with loopback_proxy(backend_port, delay_s=delay_s) as port:
        yield port
