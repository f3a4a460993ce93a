"""A gateway in its own process, for tests that kill it: ``python -m
tests.graphql.gateway_process SPEC`` where SPEC is a pickle of ``{"upstreams": [...],
"store": StoreConfig, "hold_creates": path | None}``.

Prints ``PORT <n>`` once it listens. With ``hold_creates``, every create the adapter makes
upstream is let through, then the answer is held: the path is written (the test's signal
that the booking exists upstream) and the process waits forever — so the test can SIGKILL it
between the upstream write and the gateway recording the outcome.
"""

from __future__ import annotations

import asyncio
import pickle
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from tablegraph.app import create_app
from tablegraph.gateway import Gateway
from tablegraph.model import Booking, NewBooking
from tablegraph.settings import GatewaySettings
from tests.auth_support import all_scopes_auth


def _hold(provider: Any, signal: Path) -> None:
    real = provider.create_booking

    async def create_booking(request: NewBooking) -> Booking:
        await real(request)
        signal.write_text(request.idempotency_key)
        await asyncio.Event().wait()  # never: the test kills this process here
        raise AssertionError("unreachable")

    provider.create_booking = create_booking


async def main(spec_path: str) -> None:
    spec: dict[str, Any] = pickle.loads(Path(spec_path).read_bytes())
    settings = GatewaySettings(
        upstreams=tuple(spec["upstreams"]), store=spec["store"], auth=all_scopes_auth()
    )
    gateway = Gateway(settings)
    if spec.get("hold_creates"):
        for provider in gateway.providers.values():
            _hold(provider, Path(spec["hold_creates"]))
    runner = web.AppRunner(create_app(gateway))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"PORT {port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
