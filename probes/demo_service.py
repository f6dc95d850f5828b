"""A small demo microservice with realistic latencies, for trying probes locally.

    python -m probes.demo_service --port 8001 [--token TOKEN]

Plain aiohttp, no Django; binds 127.0.0.1 only. Endpoints:

| path | latency |
| --- | --- |
| ``/inventory/reserve`` | ~8 ms, lognormal |
| ``/payments/authorize`` | ~40 ms, 2 % slow tail of 300-600 ms |
| ``/shipping/quote`` | ~25 ms |
| ``/notifications/send`` | ~5 ms, 5 % answer 503 |
| ``/search`` | ~15 ms |
| ``/health`` | immediate |
| ``/.well-known/archway-probe.txt`` | the ``--token`` (404 without one) |

Every endpoint accepts GET and POST.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def lognormal_ms(rng: random.Random, median_ms: float, sigma: float = 0.35) -> float:
    """A latency whose median is ``median_ms`` (lognormal, like real services)."""
    return rng.lognormvariate(math.log(median_ms), sigma)


def build_app(*, token: str | None = None, seed: int | None = None) -> web.Application:
    rng = random.Random(seed)

    def endpoint(latency: Callable[[], float], fail_share: float = 0.0) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            await request.read()
            await asyncio.sleep(latency() / 1000)
            if fail_share and rng.random() < fail_share:
                return web.json_response({"error": "temporarily unavailable"}, status=503)
            return web.json_response({"ok": True, "path": request.path})

        return handle

    def payments() -> float:
        if rng.random() < 0.02:
            return rng.uniform(300, 600)
        return lognormal_ms(rng, 40, 0.25)

    async def health(request: web.Request) -> web.StreamResponse:
        return web.json_response({"status": "ok"})

    async def ownership(request: web.Request) -> web.StreamResponse:
        if not token:
            return web.Response(status=404, text="no token configured\n")
        return web.Response(text=token + "\n")

    routes = {
        "/inventory/reserve": endpoint(lambda: lognormal_ms(rng, 8)),
        "/payments/authorize": endpoint(payments),
        "/shipping/quote": endpoint(lambda: lognormal_ms(rng, 25)),
        "/notifications/send": endpoint(lambda: lognormal_ms(rng, 5), fail_share=0.05),
        "/search": endpoint(lambda: lognormal_ms(rng, 15, 0.5)),
        "/health": health,
        "/.well-known/archway-probe.txt": ownership,
    }
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("GET", path, handler)
        app.router.add_route("POST", path, handler)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Archway demo service (127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--token", default=None, help="ownership token to serve")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency
        pass
    web.run_app(
        build_app(token=args.token, seed=args.seed),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=lambda msg: print(f"Archway demo service on http://127.0.0.1:{args.port}"),
    )


if __name__ == "__main__":
    main()
