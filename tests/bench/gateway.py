"""``python -m tests.bench.gateway --port-base P --port G [--naive] [--workers N]``: the
tablegraph gateway over the benchmark's simulators (``upstreams``), as ``tablegraph serve``
runs it.

With ``--workers N`` (N > 1) it runs as ``serve --workers N`` does (``tablegraph.workers``):
N processes listening on one port with ``SO_REUSEPORT``, sharing one SQLite store, under a
parent that passes SIGTERM on.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import replace
from types import FrameType

from tablegraph.cli import _run_gateway, run_loop
from tablegraph.metrics import MULTIPROC_DIR
from tablegraph.providers import KINDS
from tablegraph.settings import GatewaySettings, Limits, StoreConfig
from tablegraph.simulators import simulator_module
from tablegraph.simulators.harness import harness_of
from tests.auth_support import all_scopes_auth


def settings(
    port_base: int, naive: bool, store_dir: str | None = None, *, shared: bool = True
) -> GatewaySettings:
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
    store = StoreConfig(kind="sqlite", data_dir=store_dir) if store_dir else StoreConfig()
    return GatewaySettings(
        upstreams=tuple(upstreams),
        naive=naive,
        share_reads_in_flight=shared,
        # ``tablegraph-unshared``: every query executes on its own reads.
        answer_unchanged_queries=shared,
        auth=all_scopes_auth(),
        limits=limits,
        store=store,
    )


def _supervise(argv: list[str], workers: int) -> int:
    """N workers on one port (each ``--reuse-port``, one shared store); SIGTERM stops all."""
    store = tempfile.mkdtemp(prefix="tablegraph-bench-store-")
    command = [sys.executable, "-m", "tests.bench.gateway", *argv, "--reuse-port"]
    # One metrics directory, as serve --workers gives its workers: /metrics answers for all
    # (the runner counts the queries answered there), and each request syncs it, as there.
    env = {**os.environ, MULTIPROC_DIR: tempfile.mkdtemp(prefix="tablegraph-bench-metrics-")}
    children = [subprocess.Popen([*command, "--store-dir", store], env=env) for _ in range(workers)]

    def stop(_signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return max(child.wait() for child in children)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-base", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--naive", action="store_true")
    parser.add_argument(
        "--unshared",
        action="store_true",
        help="share_reads_in_flight = false, answer_unchanged_queries = false",
    )
    parser.add_argument(
        "--share-queries", action="store_true", help="share_identical_queries = true"
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--reuse-port", action="store_true")
    parser.add_argument("--store-dir")
    args = parser.parse_args()
    if args.workers > 1:
        forwarded = ["--port-base", str(args.port_base), "--port", str(args.port)]
        forwarded += ["--naive"] if args.naive else []
        forwarded += ["--unshared"] if args.unshared else []
        forwarded += ["--share-queries"] if args.share_queries else []
        raise SystemExit(_supervise(forwarded, args.workers))
    gateway_settings = replace(
        settings(args.port_base, args.naive, args.store_dir, shared=not args.unshared),
        share_identical_queries=args.share_queries,
    )
    run_loop(_run_gateway(gateway_settings, "127.0.0.1", args.port, reuse_port=args.reuse_port))
