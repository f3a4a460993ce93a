"""Provider simulators: faithful aiohttp implementations of each provider's HTTP API.

Each module ``tablegraph.simulators.<kind>`` exposes::

    create_app(seed: int = 0, *, clock: Clock | None = None,
               faults: Iterable[Fault] = (), ...) -> web.Application
    demo_upstreams(base_url: str) -> list[UpstreamConfig]   # gateway config for its seed
    stored_bookings(app) -> list[StoredBooking]              # what it holds, neutrally
    DEMO_OPTIONS (optional): create_app options for the demo

Every app serves ``/_sim/chaos`` (run-time fault injection, ``simulators.faults``).

Adapters never import simulators; only the CLI (demo, simulate) and tests do.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from tablegraph.providers import KINDS


def simulator_module(kind: str) -> ModuleType:
    if kind not in KINDS:
        raise KeyError(kind)
    try:
        return importlib.import_module(f"tablegraph.simulators.{kind}")
    except ModuleNotFoundError as exc:
        if exc.name == f"tablegraph.simulators.{kind}":
            raise KeyError(kind) from None
        raise


def available_simulators() -> list[str]:
    out = []
    for kind in KINDS:
        try:
            simulator_module(kind)
        except KeyError:
            continue
        out.append(kind)
    return out
