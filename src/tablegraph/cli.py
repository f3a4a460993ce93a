"""The ``tablegraph`` command: demo, serve, export-schema, simulate, capabilities, keys."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Coroutine, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

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
    from tablegraph.gateway import Gateway

SAMPLE_QUERY = """{
  restaurants(first: 5) { nodes { id name timezone provider } }
}"""


def _log_options(parser: argparse.ArgumentParser, default_format: str = "text") -> None:
    from tablegraph.logs import FORMATS, LEVELS

    parser.add_argument("--log-level", choices=LEVELS, default="info")
    parser.add_argument(
        "--log-format",
        choices=FORMATS,
        default=default_format,
        help="text for a terminal, json for a log shipper",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tablegraph", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="every simulator with demo data, plus the gateway")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--seed", type=int, default=1)
    _latency_arguments(demo)
    _log_options(demo)
    demo.add_argument(
        "--data-dir",
        default=f"{DEFAULT_DATA_DIR}/demo",
        help="where the demo gateway keeps its SQLite store",
    )
    serve = sub.add_parser("serve", help="the gateway against the upstreams in a TOML file")
    serve.add_argument("--config", required=True)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    _log_options(serve, default_format="json")
    init = sub.add_parser("init", help="write a commented configuration with example upstreams")
    init.add_argument("file", nargs="?", default="gateway.toml", help="'-' prints it")
    init.add_argument(
        "--base-url",
        action="append",
        default=[],
        metavar="KIND=URL",
        help="point the example upstream of KIND at URL (repeatable)",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    check = sub.add_parser("check", help="validate a configuration, then probe every upstream")
    check.add_argument("--config", required=True)
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
    _log_options(sim)
    args = parser.parse_args(argv)
    from tablegraph import logs

    logs.configure_console(getattr(args, "log_level", "info"), getattr(args, "log_format", "text"))
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
        if args.command == "init":
            return _init(args.file, args.base_url, force=args.force)
        if args.command == "check":
            from tablegraph.configcheck import run_check

            out: list[str] = []
            try:
                code = run_check(args.config, os.environ, out)
            finally:
                print("\n".join(out), flush=True)
            return code
        if args.command == "demo":
            run_loop(_run_demo(args.host, args.port, args.seed, args.data_dir, _latency(args)))
        elif args.command == "serve":
            from tablegraph.configmodel import load_config

            settings = load_config(args.config, os.environ)
            host = args.host or settings.host
            port = args.port if args.port is not None else settings.port
            # JSON lines by default (credentials and guest data redacted); --log-format text
            logs.configure_console(args.log_level, args.log_format, settings=settings)
            if args.workers > 1:
                from tablegraph.workers import supervise

                return supervise(args.config, settings, host, port, args.workers)
            from tablegraph import otel

            if otel.configure(os.environ):  # each worker makes and exports its own spans
                logging.getLogger("tablegraph.otel").info(
                    "OpenTelemetry spans on (exporter from the OTEL_* environment variables)"
                )
            run_loop(_run_gateway(settings, host, port, reuse_port=args.reuse_port))
        elif args.command == "simulate":
            asyncio.run(_run_simulator(args.kind, args.host, args.port, args.seed, _latency(args)))
    except ConfigError as exc:
        print(f"tablegraph: configuration error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be written, a socket that cannot be bound
        print(
            f"tablegraph: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr
        )
        return 2
    except PortInUse as exc:
        print(f"tablegraph: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def _init(path: str, base_urls: Sequence[str], *, force: bool) -> int:
    from pathlib import Path

    from tablegraph.configinit import init_text

    urls: dict[str, str] = {}
    for item in base_urls:
        kind, sep, url = item.partition("=")
        if not sep or not url:
            raise ConfigError(f"--base-url {item!r}: write KIND=URL")
        urls[kind] = url
    text = init_text(path if path != "-" else "gateway.toml", urls)
    if path == "-":
        sys.stdout.write(text)
        return 0
    target = Path(path)
    if target.exists() and not force:
        print(f"tablegraph: {path} exists; --force overwrites it", file=sys.stderr)
        return 2
    target.write_text(text, encoding="utf-8")
    print(f"wrote {path}: set the environment variables it names, then run:", flush=True)
    print(f"  tablegraph check --config {path}", flush=True)
    return 0


class PortInUse(Exception):
    """The port asked for is taken; the message suggests ``--port``."""

    def __init__(
        self, host: str, port: int, reason: str = "is already in use (another tablegraph?)"
    ) -> None:
        super().__init__(
            f"{host}:{port} {reason}; choose a free port with --port, e.g. --port {port + 1}"
        )


async def _serve(
    app: web.Application, host: str, port: int, settings: GatewaySettings | None = None
) -> tuple[web.AppRunner, str]:
    """The gateway (``http.server.serve_app``, with ``settings``' connection limits) or a
    simulator on ``host:port``; a taken port is ``PortInUse`` (no traceback)."""
    from tablegraph.http.server import serve_app
    from tablegraph.simulators.common import serve

    try:
        if settings is not None:
            return await serve_app(app, settings.http, host, port)
        return await serve(app, host, port)
    except OSError as exc:
        raise _port_error(exc, host, port) from None


def _port_error(exc: OSError, host: str, port: int) -> Exception:
    """What to raise when listening on ``host:port`` failed: ``PortInUse`` with a hint for a
    taken or forbidden port, else the error itself."""
    if exc.errno == errno.EADDRINUSE:
        return PortInUse(host, port)
    if exc.errno == errno.EACCES:
        return PortInUse(host, port, "may not be opened by this user (a port below 1024?)")
    return exc


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


#: Allocations between young collections (CPython's default: 700).
GC_THRESHOLD = 20_000


def settle_memory() -> None:
    """Once the gateway is up: what it holds for its lifetime (modules, the schema, clients)
    leaves the garbage collector's view (``gc.freeze``), and young collections run less
    often. A request allocates many short-lived objects; without this, each full collection
    walks everything again, and more often the more requests are in flight (issue #16)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run(main)`` on uvloop where it is installed (a dependency on Linux and macOS):
    its event loop costs less CPU per request than asyncio's (``tests/bench/HISTORY.md``);
    plain asyncio elsewhere."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def _latency_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay every simulator answer (benchmarks)"
    )
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="plus uniform(0, jitter)")


def _latency(args: argparse.Namespace) -> tuple[float, float]:
    if args.latency_ms < 0 or args.jitter_ms < 0:
        raise ConfigError("--latency-ms and --jitter-ms must not be negative")
    return float(args.latency_ms), float(args.jitter_ms)


def _stop_event() -> asyncio.Event:
    """Set by SIGINT or SIGTERM (installed at once: a signal during the banner stops cleanly)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def _wait_for_stop() -> None:
    await _stop_event().wait()


async def _print_states(gateway: Gateway, title: str, after: str = "") -> None:
    print(title, flush=True)
    for line in await upstream_states(gateway):
        print(line, flush=True)
    if after:
        print(after, flush=True)


async def _start_gateway(
    settings: GatewaySettings, host: str, port: int, *, reuse_port: bool = False
) -> tuple[web.AppRunner, Gateway]:
    """The gateway listening on ``host:port``; a taken port is ``PortInUse``."""
    from tablegraph.app import create_app
    from tablegraph.gateway import Gateway
    from tablegraph.http.server import serve_app

    gateway = Gateway(settings)
    try:
        # The grace period is the runner's shutdown timeout: cleanup() stops the listening
        # socket first, then waits that long for requests in flight before cancelling them.
        runner, _url = await serve_app(
            create_app(gateway),
            settings.http,
            host,
            port,
            shutdown_timeout=settings.shutdown_grace_seconds,
            reuse_port=reuse_port,
        )
    except OSError as exc:
        await gateway.close()
        raise _port_error(exc, host, port) from None
    return runner, gateway


async def upstream_states(gateway: Gateway) -> list[str]:
    """One line per upstream: its kind, base URL and whether it answers now."""
    names = list(gateway.providers)
    checks = await asyncio.gather(*(gateway.check(n) for n in names))
    lines = []
    for name, (ok, code, latency) in zip(names, checks, strict=True):
        config = gateway.providers[name].config
        state = f"ok ({latency:.0f} ms)" if ok else f"NOT READY: {code}"
        lines.append(f"  {name:<18} {config.kind:<13} {config.base_url}  {state}")
    return lines


async def _run_gateway(
    settings: GatewaySettings, host: str, port: int, *, reuse_port: bool = False
) -> None:
    runner, gateway = await _start_gateway(settings, host, port, reuse_port=reuse_port)
    settle_memory()
    stop = _stop_event()
    try:
        url = f"http://{host}:{runner.addresses[0][1]}/graphql"
        graphiql = "" if settings.security.graphiql_enabled else " (off: [security] graphiql)"
        print(f"tablegraph gateway on {url}\n\nGraphiQL: {url}{graphiql}\n", flush=True)
        # The upstreams are probed while the gateway already serves (and can be stopped).
        banner = asyncio.create_task(
            _print_states(gateway, "upstreams:", "\nCtrl-C stops the gateway.")
        )
        await stop.wait()
        banner.cancel()
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
    runners, url, _gateway, _upstreams = await launch_demo(host, port, seed, key, data_dir, latency)
    return runners, url


async def launch_demo(
    host: str,
    port: int,
    seed: int,
    key: str | None = None,
    data_dir: str | None = None,
    latency: tuple[float, float] = (0.0, 0.0),
) -> tuple[list[web.AppRunner], str, Gateway, list[UpstreamConfig]]:
    """``start_demo``, also giving the gateway and the simulators' upstreams (the banner)."""
    from tablegraph.auth.keys import new_key
    from tablegraph.simulators import available_simulators, simulator_module

    runners: list[web.AppRunner] = []
    upstreams: list[UpstreamConfig] = []
    if data_dir:
        _forget_previous_demo(data_dir)
    try:
        for kind in available_simulators():
            module = simulator_module(kind)
            runner, url = await _serve_simulator(module, host, 0, seed, latency)
            runners.append(runner)
            upstreams.extend(module.demo_upstreams(url))
        settings = GatewaySettings(
            upstreams=tuple(_with_token_key(upstreams, data_dir)),
            host=host,
            port=port,
            auth=demo_auth(key or new_key()),
            security=Security(production=False),
            store=StoreConfig("sqlite", data_dir) if data_dir else StoreConfig(),
        )
        runner, gateway = await _start_gateway(settings, host, port)
    except BaseException:
        for started in reversed(runners):
            await started.cleanup()
        raise
    runners.append(runner)
    return runners, f"http://{host}:{port}/graphql", gateway, upstreams


def _forget_previous_demo(data_dir: str) -> None:
    """Start the demo's store empty. Its simulators are seeded afresh on every run and reuse
    their ids, so what an earlier run remembered would describe bookings that no longer exist:
    an idempotency replay answering with a booking the new simulator never made, events of new
    bookings taken for repeats of old ones, Libro accounts connected to a simulator that is
    gone. The data directory itself stays (``token.key`` and the manage-token secret)."""
    from tablegraph.stores.sqlite import FILE_NAME

    base = os.path.join(os.path.expanduser(data_dir), FILE_NAME)
    for path in (base, f"{base}-wal", f"{base}-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _with_token_key(
    upstreams: Sequence[UpstreamConfig], data_dir: str | None
) -> list[UpstreamConfig]:
    """The demo's upstreams whose adapters keep OAuth tokens (a ``token_store_key``
    credential), given a key generated once into the data directory: their tokens are then
    sealed in the demo's store, as in production, instead of staying in memory."""
    from dataclasses import replace

    from tablegraph.auth.manage import secret_from_file
    from tablegraph.providers import provider_class

    if not data_dir:
        return list(upstreams)
    key = secret_from_file(os.path.join(os.path.expanduser(data_dir), "token.key"))
    return [
        replace(u, credentials={**u.credentials, "token_store_key": key})
        if "token_store_key" in provider_class(u.kind).credential_names
        else u
        for u in upstreams
    ]


async def _run_demo(
    host: str, port: int, seed: int, data_dir: str, latency: tuple[float, float]
) -> None:
    from tablegraph.auth.keys import new_key

    print("tablegraph demo: starting simulators…", flush=True)
    key = new_key()
    runners, url, gateway, upstreams = await launch_demo(host, port, seed, key, data_dir, latency)
    stop = _stop_event()
    try:
        print(
            f"\nGraphiQL: {url}#key={key}\n"
            f"API key:  {key}   (send it as 'Authorization: Bearer {key}')\n",
            flush=True,
        )
        print("upstreams (simulators with seeded data):", flush=True)
        for line in await upstream_states(gateway):
            print(line, flush=True)
        print("\ndemo credentials (what each simulator accepts):", flush=True)
        for upstream in upstreams:
            creds = ", ".join(f"{k}={v.reveal()}" for k, v in upstream.credentials.items())
            print(f"  {upstream.name:<18} {creds}", flush=True)
        print(f"\nTry:\n{SAMPLE_QUERY}\n\nCtrl-C stops everything.", flush=True)
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        print("stopped.", flush=True)


async def _serve_simulator(
    module: ModuleType, host: str, port: int, seed: int, latency: tuple[float, float]
) -> tuple[web.AppRunner, str]:
    """A simulator with its seeded demo data and demo options, on ``host:port``; ``latency``
    (fixed ms, jitter ms) delays every answer when it is not zero."""
    from tablegraph.simulators.faults import upstream_latency

    options = dict(getattr(module, "DEMO_OPTIONS", {}))
    if any(latency):
        options["faults"] = [upstream_latency(*latency)]
    return await _serve(module.create_app(seed, **options), host, port)


def simulator_banner(kind: str, url: str, upstreams: Sequence[UpstreamConfig]) -> str:
    """What ``simulate`` prints: the URL, the credentials, and the configuration that points
    the gateway at this simulator (TOML, with the credentials' environment variables)."""
    from tablegraph.snippet import config_toml, env_exports

    lines = [f"{kind} simulator on {url}", "", "credentials it accepts (demo values):"]
    for upstream in upstreams:
        for key, secret in upstream.credentials.items():
            lines.append(f"  {upstream.name} {key} = {secret.reveal()}")
    lines += [
        "",
        "environment for the gateway:",
        *(f"  {line}" for line in env_exports(upstreams)),
        "",
        "gateway.toml (tablegraph serve --config gateway.toml):",
        "",
        config_toml(upstreams),
    ]
    return "\n".join(lines)


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
    print(simulator_banner(kind, url, module.demo_upstreams(url)), flush=True)
    try:
        await _wait_for_stop()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
