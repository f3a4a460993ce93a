"""The ``tablegraph`` command: demo, serve, export-schema, simulate, capabilities, keys."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from aiohttp import web

from tablegraph.settings import (
    DEFAULT_DATA_DIR,
    ConfigError,
    GatewaySettings,
    Security,
    StoreConfig,
    UpstreamConfig,
)

if TYPE_CHECKING:
    from tablegraph.auth.config import AuthSettings

SAMPLE_QUERY = """{
  restaurants(first: 5) { nodes { id name timezone provider } }
}"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tablegraph", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="every simulator with demo data, plus the gateway")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--seed", type=int, default=1)
    _latency_arguments(demo)
    demo.add_argument(
        "--data-dir",
        default=f"{DEFAULT_DATA_DIR}/demo",
        help="where the demo gateway keeps its SQLite store",
    )
    serve = sub.add_parser("serve", help="the gateway against the upstreams in a TOML file")
    serve.add_argument("--config", required=True)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes on one port (SO_REUSEPORT); more than one needs a shared "
        "store: [store] kind = 'sqlite' (one host) or 'redis'",
    )
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    sub.add_parser("export-schema", help="print the GraphQL SDL")
    sub.add_parser("capabilities", help="print the per-provider capability table (Markdown)")
    docs = sub.add_parser(
        "documents", help="build a trusted-documents manifest (JSON) from .graphql files"
    )
    docs.add_argument("paths", nargs="+", help=".graphql files or directories of them")
    docs.add_argument("--output", help="write the manifest here instead of standard output")
    keys = sub.add_parser("keys", help="API keys for [[clients]]")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_new = keys_sub.add_parser("new", help="print a fresh key and the line to paste")
    keys_new.add_argument("client", help="the client id the key is for")
    sim = sub.add_parser("simulate", help="one provider simulator on its own")
    sim.add_argument("kind")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, required=True)
    sim.add_argument("--seed", type=int, default=1)
    _latency_arguments(sim)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "export-schema":
        from tablegraph.graphql.schema import build_schema

        sys.stdout.write(build_schema().as_str() + "\n")
        return 0
    if args.command == "keys":
        from tablegraph.auth.keys import hash_key, new_key

        key = new_key()
        sys.stdout.write(
            f"API key for client {args.client!r} (shown once; give it to the client):\n"
            f"  {key}\n\n"
            "Paste into that client's [[clients]] entry in the gateway's config:\n"
            f'  key_hashes = ["{hash_key(key)}"]\n'
        )
        return 0
    if args.command == "capabilities":
        from tablegraph.docs import capability_table

        sys.stdout.write(capability_table() + "\n")
        return 0
    if args.command == "documents":
        return _documents(args.paths, args.output)
    try:
        if args.command == "demo":
            asyncio.run(_run_demo(args.host, args.port, args.seed, args.data_dir, _latency(args)))
        elif args.command == "serve":
            from tablegraph.settings import load_settings

            settings = load_settings(args.config, os.environ)
            host = args.host or settings.host
            port = args.port if args.port is not None else settings.port
            from tablegraph.logs import configure

            configure(settings)  # JSON lines on stderr, credentials and guest data redacted
            if args.workers > 1:
                from tablegraph.workers import supervise

                return supervise(args.config, settings, host, port, args.workers)
            asyncio.run(_run_gateway(settings, host, port, reuse_port=args.reuse_port))
        elif args.command == "simulate":
            asyncio.run(_run_simulator(args.kind, args.host, args.port, args.seed, _latency(args)))
    except ConfigError as exc:
        print(f"tablegraph: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def _documents(paths: list[str], output: str | None) -> int:
    import json
    from pathlib import Path

    from tablegraph.graphql.persisted import build_manifest

    try:
        manifest = build_manifest([Path(p) for p in paths])
    except ConfigError as exc:
        print(f"tablegraph: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(f"{len(manifest)} trusted document(s)", file=sys.stderr)
    return 0


def _latency_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay every simulator answer (benchmarks)"
    )
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="plus uniform(0, jitter)")


def _latency(args: argparse.Namespace) -> tuple[float, float]:
    if args.latency_ms < 0 or args.jitter_ms < 0:
        raise ConfigError("--latency-ms and --jitter-ms must not be negative")
    return float(args.latency_ms), float(args.jitter_ms)


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _start_gateway(
    settings: GatewaySettings, host: str, port: int, *, reuse_port: bool = False
) -> tuple[web.AppRunner, str]:
    """The gateway listening on ``host:port``; returns the runner and its base URL."""
    from tablegraph.app import create_app
    from tablegraph.gateway import Gateway
    from tablegraph.http.server import serve_app

    # The grace period is the runner's shutdown timeout: cleanup() stops the listening
    # socket first, then waits that long for requests in flight before cancelling them.
    return await serve_app(
        create_app(Gateway(settings)),
        settings.http,
        host,
        port,
        shutdown_timeout=settings.shutdown_grace_seconds,
        reuse_port=reuse_port,
    )


async def _run_gateway(
    settings: GatewaySettings, host: str, port: int, *, reuse_port: bool = False
) -> None:
    runner, url = await _start_gateway(settings, host, port, reuse_port=reuse_port)
    print(f"tablegraph gateway on {url}/graphql", flush=True)
    try:
        await _wait_for_stop()
        print("tablegraph gateway: stopping, finishing requests in flight", flush=True)
    finally:
        await runner.cleanup()  # closes upstream clients and the store too (app cleanup)


def demo_auth(key: str) -> AuthSettings:
    """The demo's one client: every scope, the given key; manage tokens signed with a secret
    generated once into the temp directory."""
    from tablegraph.auth.config import AuthSettings, ClientConfig, ManageTokenSettings
    from tablegraph.auth.keys import hash_key
    from tablegraph.auth.scopes import ALL_SCOPES

    secret_file = os.path.join(tempfile.gettempdir(), "tablegraph-demo", "manage-token.secret")
    return AuthSettings(
        clients=(ClientConfig("demo", ALL_SCOPES, (hash_key(key),)),),
        manage_tokens=ManageTokenSettings(secret_file=secret_file),
    )


async def start_demo(
    host: str,
    port: int,
    seed: int,
    key: str | None = None,
    data_dir: str | None = None,
    latency: tuple[float, float] = (0.0, 0.0),
) -> tuple[list[web.AppRunner], str]:
    """Every available simulator on a free loopback port, then the gateway on ``port``,
    admitting ``key`` (a fresh one if not given) with every scope."""
    from tablegraph.auth.keys import new_key
    from tablegraph.simulators import available_simulators, simulator_module

    runners: list[web.AppRunner] = []
    upstreams: list[UpstreamConfig] = []
    for kind in available_simulators():
        module = simulator_module(kind)
        runner, url = await _serve_simulator(module, host, 0, seed, latency)
        runners.append(runner)
        upstreams.extend(module.demo_upstreams(url))
        print(f"  simulator {kind:<13} {url}", flush=True)
    store = StoreConfig("sqlite", data_dir) if data_dir else StoreConfig()
    settings = GatewaySettings(
        upstreams=tuple(upstreams),
        host=host,
        port=port,
        auth=demo_auth(key or new_key()),
        security=Security(production=False),
        store=store,
    )
    runners.append((await _start_gateway(settings, host, port))[0])
    return runners, f"http://{host}:{port}/graphql"


async def _run_demo(
    host: str, port: int, seed: int, data_dir: str, latency: tuple[float, float]
) -> None:
    from tablegraph.auth.keys import new_key

    print("tablegraph demo: starting simulators…", flush=True)
    key = new_key()
    runners, url = await start_demo(host, port, seed, key, data_dir, latency)
    print(
        f"\nGraphiQL: {url}#key={key}\n"
        f"API key:  {key}   (send it as 'Authorization: Bearer {key}')\n\n"
        f"Try:\n{SAMPLE_QUERY}\n\nCtrl-C stops everything.",
        flush=True,
    )
    try:
        await _wait_for_stop()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        print("stopped.", flush=True)


async def _serve_simulator(
    module: ModuleType, host: str, port: int, seed: int, latency: tuple[float, float]
) -> tuple[web.AppRunner, str]:
    """A simulator with its seeded demo data and demo options, on ``host:port``; ``latency``
    (fixed ms, jitter ms) delays every answer when it is not zero."""
    from tablegraph.simulators.common import serve
    from tablegraph.simulators.faults import upstream_latency

    options = dict(getattr(module, "DEMO_OPTIONS", {}))
    if any(latency):
        options["faults"] = [upstream_latency(*latency)]
    return await serve(module.create_app(seed, **options), host, port)


async def _run_simulator(
    kind: str, host: str, port: int, seed: int, latency: tuple[float, float]
) -> None:
    from tablegraph.simulators import available_simulators, simulator_module

    try:
        module = simulator_module(kind)
    except KeyError:
        raise ConfigError(
            f"unknown simulator {kind!r}; available: {', '.join(available_simulators())}"
        ) from None
    runner, url = await _serve_simulator(module, host, port, seed, latency)
    print(f"{kind} simulator on {url}", flush=True)
    for upstream in module.demo_upstreams(url):
        print(f"  upstream {upstream.name}: options {dict(upstream.options)}", flush=True)
    try:
        await _wait_for_stop()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
