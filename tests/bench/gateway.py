"""``python -m tests.bench.gateway --port-base P --port G [--naive]``: one tablegraph gateway
process over the benchmark's simulators (``upstreams``), as ``tablegraph serve`` runs it."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace

from tablegraph.cli import _run_gateway
from tablegraph.providers import KINDS
from tablegraph.settings import GatewaySettings, Limits
from tablegraph.simulators import simulator_module
from tablegraph.simulators.harness import harness_of
from tests.auth_support import all_scopes_auth


def settings(port_base: int, naive: bool) -> GatewaySettings:
    upstreams = []
    for i, kind in enumerate(KINDS):
        url = f"http://127.0.0.1:{port_base + i}"
        unlimited = harness_of(kind).unlimited_upstream
        upstreams += [
            replace(c, options={**c.options, **unlimited})
            for c in simulator_module(kind).demo_upstreams(url)
        ]
    # One client with every scope (authentication is in the figures); per-client limits off,
    # since the load generator is one client.
    limits = Limits(requests_per_minute=0, cost_per_minute=0, max_concurrent_per_client=0)
    return GatewaySettings(
        upstreams=tuple(upstreams), naive=naive, auth=all_scopes_auth(), limits=limits
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-base", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--naive", action="store_true")
    args = parser.parse_args()
    asyncio.run(_run_gateway(settings(args.port_base, args.naive), "127.0.0.1", args.port))
