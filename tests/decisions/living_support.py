"""Shared by the living-decision tests: a use case whose recommendation turns on one hop,
an accepted ADR drafted from it, and a webhook receiver on 127.0.0.1."""

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

# Payments at about 100 ms keep the synchronous chain within p99 400 ms and REST on top;
# slow payments push every design that waits for them past the budget, and with eventual
# consistency allowed, publishing the order as an event (the caller reads its own copy)
# becomes the design that meets every requirement.
CHECKOUT_HOPS = [Hop("inventory", 5, 20), Hop("payments", 100, 150)]


def checkout_use_case(team, by=None):
    return make_use_case(
        team,
        name="Checkout",
        hops=CHECKOUT_HOPS,
        by=by,
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


def accepted_checkout(team, by) -> Decision:
    decision = decision_create_from_use_case(use_case=checkout_use_case(team, by), by=by)
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
