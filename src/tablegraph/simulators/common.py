"""What every simulator shares: a controllable clock, request counting, fault injection
(``faults``), loopback serving."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from tablegraph.simulators.faults import Fault, FaultProfile, inject_faults, install

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Clock:
    """Wall clock for a simulator; tests move it with ``advance`` instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta()
        if start is not None:
            self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def monotonic(self) -> float:
        return time.monotonic() + self._offset.total_seconds()

    def advance(self, seconds: float) -> None:
        self._offset += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        self._offset = moment - datetime.now(UTC)


@dataclass(frozen=True)
class StoredBooking:
    """A booking as a simulator holds it, in neutral terms: what each simulator's
    ``stored_bookings(app)`` lists, so tests and the soak can reconcile against upstream state."""

    id: str  # the provider's own booking id (the adapter's native id ends with it)
    restaurant_id: str
    start: datetime  # aware
    party_size: int
    guest_email: str | None
    status: str  # the provider's own status word


REQUEST_COUNTS = web.AppKey("request_counts", Counter)
CLOCK = web.AppKey("clock", Clock)


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every request by ``"METHOD /route/template"`` (and a grand total under ``"*"``)."""
    counts = request.app[REQUEST_COUNTS]
    route = request.match_info.route.resource
    template = route.canonical if route is not None else request.path
    counts[f"{request.method} {template}"] += 1
    counts["*"] += 1
    try:
        return await handler(request)
    except ConnectionResetError:
        # The client went away mid-request (a gateway deadline cut it off): there is no one to
        # answer, and nothing went wrong here worth a traceback in the log.
        raise web.HTTPRequestTimeout() from None


def new_app(
    clock: Clock | None,
    *middlewares: Callable[..., object],
    profile: FaultProfile | None = None,
    faults: Iterable[Fault] = (),
) -> web.Application:
    """An app with request counting, a clock and fault injection installed (``profile`` says
    how the provider's faults look; ``faults`` are on from the start), then ``middlewares``."""
    app = web.Application(
        middlewares=[count_requests, inject_faults, *middlewares]  # type: ignore[list-item]
    )
    app[REQUEST_COUNTS] = Counter()
    app[CLOCK] = clock or Clock()
    install(app, profile, faults)
    return app


async def serve(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    """Start ``app`` on loopback; returns the runner and its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None and server.sockets  # type: ignore[attr-defined]
    bound = server.sockets[0].getsockname()  # type: ignore[attr-defined]
    return runner, f"http://{host}:{bound[1]}"
