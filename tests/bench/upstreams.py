"""``python -m tests.bench.upstreams --port-base P``: the benchmark's simulators in one process.

Simulator ``i`` (in ``providers.KINDS`` order) listens on ``P + i``; a control server on ``P + 9``
answers ``GET /env`` (the workloads' ids and dates), ``GET /counts`` (API requests per kind),
``POST /reset``, ``POST /release`` (cancels the book workload's leftovers) and ``POST`` then
``GET /capture`` (the API requests made in between, as they came). Latency is
switched on after the data is in. Loopback only; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from aiohttp import web

from tablegraph.providers import KINDS
from tablegraph.simulators.common import serve
from tablegraph.simulators.vardvik.parsing import VARDVIK_STATE
from tests.bench.env import Env, start_env

CONTROL_OFFSET = 9
#: The guest of the book workload's creates (``runner.bodies``).
LOAD_EMAIL = "load@x.test"


def control_app(env: Env) -> web.Application:
    async def describe(_r: web.Request) -> web.Response:
        assert env.book_target is not None
        return web.json_response(
            {
                "urls": {k: u.url for k, u in env.upstreams.items()},
                "dashboard": [[rid, day.isoformat()] for rid, day in env.dashboard],
                "dashboard_zones": env.dashboard_zones,
                "restaurants": env.restaurants,
                "book_target": [env.book_target[0], env.book_target[1].isoformat()],
            }
        )

    async def counts(_r: web.Request) -> web.Response:
        return web.json_response(dict(env.counts()))

    async def reset(_r: web.Request) -> web.Response:
        env.reset_counts()
        return web.json_response({})

    async def release(_r: web.Request) -> web.Response:
        """Cancel what the book workload left: wrk stops between a create and its cancel,
        and the bookings left behind fill the target slot for the next system measured."""
        state = env.upstreams["vardvik"].app[VARDVIK_STATE]
        left = [
            r
            for r in state.reservations.values()
            if r.status != "cancelled" and state.guests[r.guest_id].email == LOAD_EMAIL
        ]
        for r in left:
            r.status, r.updated_at = "cancelled", state.now()
        return web.json_response({"cancelled": len(left)})

    async def capture(request: web.Request) -> web.Response:
        """``POST``: capture API requests from now on; ``GET``: stop, and those captured."""
        if request.method == "POST":
            env.capture["requests"].clear()
            env.capture["on"] = True
            return web.json_response({})
        env.capture["on"] = False
        return web.json_response(env.capture["requests"])

    app = web.Application()
    app.router.add_get("/env", describe)
    app.router.add_post("/capture", capture)
    app.router.add_get("/capture", capture)
    app.router.add_get("/counts", counts)
    app.router.add_post("/reset", reset)
    app.router.add_post("/release", release)
    return app


async def main(port_base: int, latency_ms: float, jitter_ms: float, bookings: int) -> None:
    env = await start_env(bookings=bookings, port=lambda kind: port_base + KINDS.index(kind))
    env.set_latency(latency_ms, jitter_ms)
    runner, url = await serve(control_app(env), port=port_base + CONTROL_OFFSET)
    print(f"ready {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await env.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-base", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--bookings", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.port_base, args.latency_ms, args.jitter_ms, args.bookings))
