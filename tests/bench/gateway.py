"""``python -m tests.bench.gateway --port-base P --port G [--naive]``: one tablegraph gateway
process over the benchmark's simulators (``upstreams``), as ``tablegraph serve`` runs it."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace

from tablegraph.cli import _run_gateway
from tablegraph.providers import KINDS
from tablegraph.settings import GatewaySettings
from tablegraph.simulators import simulator_module
from tablegraph.simulators.harness import harness_of


def settings(port_base: int, naive: bool) -> GatewaySettings:
    upstreams = []
    for i, kind in enumerate(KINDS):
        url = f"http://127.0.0.1:{port_base + i}"
        unlimited = harness_of(kind).unlimited_upstream
        upstreams += [
            replace(c, options={**c.options, **unlimited})
            for c in simulator_module(kind).demo_upstreams(url)
        ]
    return GatewaySettings(upstreams=tuple(upstreams), naive=naive)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-base", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--naive", action="store_true")
    args = parser.parse_args()
    asyncio.run(_run_gateway(settings(args.port_base, args.naive), "127.0.0.1", args.port))
