"""The benchmark suite (issue #16): ``python -m tests.bench [--quick | --peer]``.

Starts the simulators in their own process (``upstreams``, fixed latency), then, in interleaved
rounds, each system in its own process(es) under ``wrk`` (loopback, time-bounded) for every
workload and concurrency: tablegraph (``gateway``), tablegraph with ``naive=True``, tablegraph
with ``share_reads_in_flight=False`` and ``answer_unchanged_queries=False``
(``tablegraph-unshared``: what a query costs when it executes on reads of its own),
with ``share_identical_queries=True`` (``tablegraph-dedupe``), and the
peer, GraphQL Mesh Compose + Hive Gateway (``peer``: installed with ``npm ci`` into a
temporary folder, composed over the Vardvik simulator's ``/openapi.json``;
it runs the ``dashboard_one`` workload), also with its deduplication of identical queries in
flight on (``peer-dedupe``). Each system runs at every ``--workers`` count (tablegraph as
``serve --workers N``, Hive Gateway with ``--fork N``); rounds go system by system (peer,
tablegraph, peer, tablegraph) so background load hits both.

Measures upstream requests per operation (one warm operation, counted at the simulators),
latency percentiles and throughput (wrk), CPU ms per query (utime + stime of the gateway's
whole process tree until the queries wrk left in flight are done, over every query answered:
``_answered`` for tablegraph, ``_served`` for the peer), upstream requests per query under
load, and peak RSS (``VmHWM``, the largest process and the sum). Writes
``results.md``, ``results.json`` and ``latency.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp

from tablegraph import ids
from tablegraph.providers import KINDS
from tablegraph.simulators import simulator_module
from tablegraph.timeutil import local_day_bounds
from tests.auth_support import AUTH_HEADERS, TEST_KEY
from tests.bench import peer
from tests.bench.minimum import MINIMUM
from tests.bench.upstreams import CONTROL_OFFSET, LOAD_EMAIL
from tests.bench.workloads import (
    BOOK_CANCEL,
    BOOK_CREATE,
    DASHBOARD,
    DASHBOARD_ONE,
    REFERENCE,
    SEARCH,
)

HERE = Path(__file__).parent
PY = sys.executable
#: Simulators on ``--port-base`` + i, their control server + 9, the gateway measured + 80.
PORT_BASE = 18100
GATEWAY_OFFSET = 80
#: tablegraph systems: the flags of ``tests.bench.gateway``.
SYSTEMS: dict[str, list[str]] = {
    "tablegraph": [],
    # reads in flight not shared between queries: what each query costs on its own
    "tablegraph-unshared": ["--unshared"],
    # identical queries in flight answered by one execution, as peer-dedupe does
    "tablegraph-dedupe": ["--share-queries"],
    "tablegraph-naive": ["--naive"],
}
PEER = "peer"
#: The peer with its deduplication of identical queries in flight turned on.
PEER_DEDUPE = "peer-dedupe"
PEERS = {PEER: False, PEER_DEDUPE: True}
#: The workloads the peer serves (``peer.DASHBOARD_ONE``, ``peer.DASHBOARD``).
PEER_WORKLOADS = ("dashboard_one", "dashboard")
#: No gateway: the upstream requests a workload cannot do without, sent straight to the
#: simulators at the same concurrency — the *measured* critical-path floor (the configured
#: latency plus what the simulators spend answering). dashboard_one's one list by wrk itself;
#: the four-provider dashboard's reads, all at once per query as the gateway sends them
#: (captured from a tablegraph gateway's query), by a small asyncio client (``replay``).
DIRECT = "upstream-direct"
DIRECT_WORKLOADS = ("dashboard_one", "dashboard")


def _get(url: str, data: bytes | None = None) -> Any:
    headers = {"content-type": "application/json", **AUTH_HEADERS}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process and everything below it (Hive Gateway's forked workers do not
    always exit with their parent), SIGKILL what is left after 10 s."""
    below = _tree(proc.pid)[1:] if proc.poll() is None else []
    proc.terminate()
    for pid in below:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    for pid in below:
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def bodies(env: dict[str, Any], folder: Path) -> dict[str, list[Path]]:
    """One JSON body file per workload (book: the create and the cancel templates)."""
    variables: dict[str, Any] = {}
    for i, (rid, day) in enumerate(env["dashboard"]):
        variables[f"r{i}"], variables[f"d{i}"] = rid, day
    rid, start = env["book_target"]
    guest = {"firstName": "Bench", "lastName": "Load", "email": LOAD_EMAIL}
    vardvik = KINDS.index("vardvik")
    one_rid, one_day = env["dashboard"][vardvik]
    docs = {
        "dashboard": [{"query": DASHBOARD, "variables": variables}],
        "dashboard_one": [{"query": DASHBOARD_ONE, "variables": {"r": one_rid, "d": one_day}}],
        "search": [
            {
                "query": SEARCH,
                "variables": {"ids": env["restaurants"][:20], "date": env["dashboard"][0][1]},
            }
        ],
        "book": [
            {
                "query": BOOK_CREATE,
                "variables": {
                    "input": {
                        "restaurantId": rid,
                        "start": start,
                        "partySize": 2,
                        "guest": guest,
                        "idempotencyKey": "KEY",
                    }
                },
            },
            {
                "query": BOOK_CANCEL,
                "variables": {"input": {"bookingId": "BOOKING_ID", "idempotencyKey": "KEY"}},
            },
        ],
        "reference": [{"query": REFERENCE, "variables": {}}],
    }
    rid, _, loc = ids.decode(one_rid, "Restaurant").native_id.partition("/")
    peer_vars = {"rid": rid, "loc": loc, "date": one_day}
    docs["peer:dashboard_one"] = [{"query": peer.DASHBOARD_ONE, "variables": peer_vars}]
    docs["peer:dashboard"] = [{"query": peer.DASHBOARD, "variables": _peer_dashboard(env)}]
    out: dict[str, list[Path]] = {}
    for name, items in docs.items():
        out[name] = []
        for i, doc in enumerate(items):
            path = folder / f"{name.replace(':', '-')}{i}.json"
            path.write_text(json.dumps(doc))
            out[name].append(path)
    return out


def _peer_dashboard(env: dict[str, Any]) -> dict[str, Any]:
    """``peer.DASHBOARD``'s variables: the dashboard's restaurants and days as each API takes
    them (the windows the adapters send: LibreBooking's and resOS's local day in UTC)."""
    day: dict[str, tuple[str, str, str]] = {}
    for kind, (gid, local), zone in zip(
        KINDS, env["dashboard"], env["dashboard_zones"], strict=True
    ):
        day[kind] = (ids.decode(gid, "Restaurant").native_id, local, zone)

    def utc_bounds(kind: str) -> tuple[datetime, datetime]:
        _, local, zone = day[kind]
        start, end = local_day_bounds(date.fromisoformat(local), zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    vardvik_rid, _, vardvik_loc = day["vardvik"][0].partition("/")
    booked, resos = utc_bounds("librebooking"), utc_bounds("resos")
    return {
        "vr": vardvik_rid,
        "vl": vardvik_loc,
        "vd": day["vardvik"][1],
        "lc": day["libro"][0],
        "ld": day["libro"][1],
        "bs": day["librebooking"][0],
        "bstart": booked[0].strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "bend": booked[1].strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "rfrom": resos[0].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "rto": resos[1].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }


def _tree(pid: int) -> list[int]:
    """``pid`` and every process below it (a supervisor's workers, Hive Gateway's forks)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(parents.get(current, []))
    return out


def _cpu_seconds(pid: int) -> float:
    """CPU time of the tree under ``pid``, its ended children included (cutime, cstime)."""
    total = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> tuple[float, float]:
    """(the largest process's peak RSS, the tree's sum of peaks), MB."""
    peaks = []
    for p in _tree(pid):
        try:
            text = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return (max(peaks, default=0.0), sum(peaks))


def _wrk(
    url: str,
    files: list[Path],
    concurrency: int,
    duration: float,
    direct_authorization: str | None = None,
) -> dict[str, Any]:
    """``wrk`` posting the GraphQL body in ``files`` to ``url``; with ``direct_authorization``,
    a plain GET of ``url`` (an upstream) with that header instead."""
    envvars = {**os.environ, "GQL_AUTH_KEY": TEST_KEY}
    if direct_authorization is not None:
        envvars["DIRECT_AUTHORIZATION"] = direct_authorization
    else:
        envvars["GQL_BODY_FILE"] = str(files[0])
    if len(files) > 1:
        envvars["GQL_CANCEL_FILE"] = str(files[1])
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "graphql.lua"),
            url,
        ],
        env=envvars,
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    result: dict[str, Any] = json.loads(line[len("WRKJSON ") :])
    return result


def _rows(answer: Any) -> int:
    """Items in the answer's lists (bookings, slots…): the same work for every system."""
    if isinstance(answer, list):
        return len(answer) + sum(_rows(x) for x in answer if isinstance(x, dict | list))
    if isinstance(answer, dict):
        return sum(_rows(v) for v in answer.values() if isinstance(v, dict | list))
    return 0


def _ops(control: str, url: str, files: list[Path], name: str, warm: int = 1) -> tuple[int, int]:
    """Upstream requests of one warm operation (book: the create and its cancel), and the
    rows of its answer."""
    rows = 0

    def once() -> None:
        nonlocal rows
        created = _get(url, files[0].read_bytes().replace(b"KEY", os.urandom(6).hex().encode()))
        if "errors" in created:
            raise RuntimeError(f"errors: {created['errors']}")
        rows = _rows(created.get("data"))
        if len(files) > 1:
            booking = ((created.get("data") or {}).get("createBooking") or {}).get("booking")
            if booking is None:
                raise RuntimeError(f"create refused: {created}")
            bid = booking["id"]
            body = files[1].read_bytes().replace(b"BOOKING_ID", bid.encode())
            _get(url, body.replace(b"KEY", os.urandom(6).hex().encode()))

    try:
        if len(files) > 1:
            _get(control + "/release", b"{}")  # the target slot free again
        for _ in range(warm):  # every worker warm (connections spread between them)
            once()
        _get(control + "/reset", b"{}")
        once()
    except (OSError, RuntimeError, KeyError) as exc:
        print(f"{name}: operation failed, no request count: {exc}", file=sys.stderr)
        return -1, 0
    return sum(_get(control + "/counts").values()), rows


def _served(control: str, calls_before: int, per_op: int, bodies: int) -> int | None:
    """Queries the gateway answered during a point, the ones wrk gave up on included: CPU per
    query is the CPU until they are done over them. Counting only wrk's completed responses
    charged the work of every query still in flight when wrk stopped (up to c of them) to
    the others — at c = 200 and 2 s latency about a fifth too much, and more for the system
    with the higher latency. From the upstream calls the simulators received (``per_op`` a
    query; the peer without deduplication); ``None`` where that does not tell (no calls per
    query, or the two-request book workload): then wrk's count and the CPU until wrk
    stopped, as before."""
    if per_op <= 0 or bodies != 1:
        return None  # the next point's drain still runs before it starts
    _drain(control)
    calls: int = sum(_get(control + "/counts").values())
    return (calls - calls_before) // per_op


def _answered(metrics: str) -> int:
    """GraphQL requests a tablegraph gateway has answered (``tablegraph_requests_total`` on
    ``/metrics``, every worker's): its own count, since with reads shared between queries
    (``Gateway.booking_list``) upstream calls no longer count queries."""
    request = urllib.request.Request(metrics, headers=AUTH_HEADERS)
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read().decode()
    return round(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("tablegraph_requests_total{")
        )
    )


def _answered_after(metrics: str, control: str, before: int) -> int:
    """``_answered`` once the gateway has finished what wrk left in flight."""
    _drain(control)
    last, deadline = -1, time.monotonic() + 30
    while time.monotonic() < deadline:
        now = _answered(metrics)
        if now == last:
            break
        last = now
        time.sleep(0.5)
    return last - before


def _drain(control: str, limit: float = 30.0) -> None:
    """Wait until the simulators' counters stop moving: the gateway finishing queries whose
    client (wrk) has gone, so one point's backlog does not load the next."""
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        now = _get(control + "/counts")
        if now == last:
            return
        last = now
        time.sleep(1.0)


def direct_request(env: dict[str, Any], vardvik_url: str) -> tuple[str, str]:
    """The upstream request dashboard_one cannot do without — Vardvik's reservation list of
    the day (``GET /restaurants/{id}/reservations``, its API document) — and the
    Authorization header the gateway sends with it."""
    one_rid, one_day = env["dashboard"][KINDS.index("vardvik")]
    rid, _, loc = ids.decode(one_rid, "Restaurant").native_id.partition("/")
    config = simulator_module("vardvik").demo_upstreams(vardvik_url)[0]
    query = urllib.parse.urlencode({"locationId": loc, "date": one_day})
    url = f"{config.base_url}/restaurants/{rid}/reservations?{query}"
    return url, f"Bearer {config.credentials['api_key'].reveal()}"


def _direct(
    control: str,
    direct: tuple[str, str],
    reads: list[dict[str, Any]] | None,
    args: argparse.Namespace,
    round_: int,
) -> list[dict[str, Any]]:
    """The measured floor: the upstream requests alone, at every concurrency —
    dashboard_one's one (wrk), the dashboard's ``reads`` all at once (``replay``)."""
    points = []
    for name in DIRECT_WORKLOADS:
        if name not in args.workloads or (name == "dashboard" and not reads):
            continue
        for c in args.concurrency:
            _drain(control)
            if name == "dashboard":
                assert reads is not None
                got = asyncio.run(replay(reads, c, args.duration))
            else:
                got = _wrk(direct[0], [], c, args.duration, direct_authorization=direct[1])
            sent = len(reads) if name == "dashboard" and reads else 1
            got.update(
                system=DIRECT,
                workers=0,
                round=round_,
                workload=name,
                concurrency=c,
                upstream_requests=sent,
                upstream_per_query=float(sent),
                rows=0,
                cpu_ms_per_query=float("nan"),
                served=None,
                peak_rss_mb=float("nan"),
                total_rss_mb=float("nan"),
            )
            print(json.dumps(got), flush=True)
            points.append(got)
    return points


def captured_reads(control: str, url: str, body: bytes) -> list[dict[str, Any]]:
    """The upstream requests one query makes through a warm gateway at ``url``, as they came."""
    _get(control + "/capture", b"{}")
    answer = _get(url, body)
    if "errors" in answer:
        raise RuntimeError(f"errors: {answer['errors']}")
    reads: list[dict[str, Any]] = _get(control + "/capture")
    return reads


async def replay(
    reads: list[dict[str, Any]], concurrency: int, duration: float, limit: int | None = None
) -> dict[str, Any]:
    """``reads`` sent all at once per query by ``concurrency`` clients for ``duration``
    seconds (or ``limit`` queries): a query's latency is its slowest read's. The figures
    ``_wrk`` reports."""
    latencies: list[float] = []
    bad = errors = 0
    stop = time.monotonic() + duration
    left = math.inf if limit is None else limit
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(read: dict[str, Any]) -> int:
            async with session.request(read["method"], read["url"], headers=read["headers"]) as r:
                await r.read()
                return r.status

        async def client() -> None:
            nonlocal bad, errors, left
            while time.monotonic() < stop and left > 0:
                left -= 1
                started = time.perf_counter()
                try:
                    statuses = await asyncio.gather(*(one(r) for r in reads))
                except (aiohttp.ClientError, OSError):
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                bad += any(s >= 400 for s in statuses)

        began = time.monotonic()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        spent = time.monotonic() - began
    ordered = sorted(latencies) or [float("nan")]

    def at(q: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "requests": len(latencies),
        "duration_s": round(spent, 3),
        "rps": round(len(latencies) / spent, 1),
        "p50_ms": round(at(0.50), 2),
        "p95_ms": round(at(0.95), 2),
        "p99_ms": round(at(0.99), 2),
        "socket_errors": errors,
        "bad_responses": bad,
    }


def _dashboard_reads(
    control: str, base: int, body: bytes, urls: dict[str, str]
) -> list[dict[str, Any]]:
    """The upstream reads of one four-provider dashboard through a warm tablegraph gateway
    (started for it): what ``DIRECT`` sends for that workload."""
    gateway, health = _start("tablegraph-unshared", 1, None, base)
    url = f"http://127.0.0.1:{base + GATEWAY_OFFSET}/graphql"
    try:
        _wait(health, gateway)
        for _ in range(3):  # past the first queries' token, directory and session reads
            _get(url, body)
        reads = captured_reads(control, url, body)
    finally:
        _stop(gateway)
    return signed_in(reads, urls)


#: LibreBooking's session headers (its API document's ``X-Booked-SessionToken``/``UserId``).
_SESSION = ("x-booked-sessiontoken", "x-booked-userid")


def signed_in(reads: list[dict[str, Any]], urls: dict[str, str]) -> list[dict[str, Any]]:
    """``reads`` with a LibreBooking session of their own: the gateway that made them signed
    its session out when it stopped (the other credentials outlive it)."""
    fresh = peer.credentials(urls)
    session = {
        "X-Booked-SessionToken": fresh["LIBREBOOKING_SESSION"],
        "X-Booked-UserId": fresh["LIBREBOOKING_USER"],
    }
    out = []
    for read in reads:
        headers = read["headers"]
        if any(k.lower() in _SESSION for k in headers):
            headers = {k: v for k, v in headers.items() if k.lower() not in _SESSION} | session
        out.append({**read, "headers": headers})
    return out


def _start(
    system: str, workers: int, peer_at: tuple[Path, Path] | None, base: int
) -> tuple[Any, str]:
    """The system's process (tree) and its health URL."""
    port = base + GATEWAY_OFFSET
    cwd = None
    if system in PEERS:
        assert peer_at is not None
        command = peer.command(*peer_at, port, workers)
        cwd = peer.folder_for(peer_at[0], PEERS[system])
        health = peer.HEALTH
    else:
        command = [PY, "-m", "tests.bench.gateway", "--port-base", str(base)]
        command += ["--port", str(port), "--workers", str(workers), *SYSTEMS[system]]
        health = "/healthz"
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}{health}"


def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="tablegraph-bench-"))
    base = args.port_base
    control = f"http://127.0.0.1:{base + CONTROL_OFFSET}"
    peer_folder = peer.install() if PEERS.keys() & set(args.systems) else None
    upstreams = subprocess.Popen(
        [
            PY,
            "-m",
            "tests.bench.upstreams",
            "--port-base",
            str(base),
            "--latency-ms",
            str(args.latency_ms),
            "--jitter-ms",
            str(args.jitter_ms),
            "--bookings",
            str(args.bookings),
        ],
    )
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        _wait(control + "/counts", upstreams, 600)
        env = _get(control + "/env")
        files = bodies(env, tmp)
        vardvik = f"http://127.0.0.1:{base + KINDS.index('vardvik')}"
        peer_at = None
        if peer_folder is not None:
            peer_at = (peer_folder, peer.compose(peer_folder, env["urls"]))
        url = f"http://127.0.0.1:{base + GATEWAY_OFFSET}/graphql"
        metrics = f"http://127.0.0.1:{base + GATEWAY_OFFSET}/metrics"
        direct = direct_request(env, vardvik)
        reads = None
        if DIRECT in args.systems and "dashboard" in args.workloads:
            body = files["dashboard"][0].read_bytes()
            reads = _dashboard_reads(control, base, body, env["urls"])
        for round_ in range(args.rounds):
            for workers in args.workers:
                for system in args.systems:
                    if time.monotonic() - started > args.budget:
                        print("time budget spent: stopping early", file=sys.stderr)
                        break
                    if system == DIRECT:  # no gateway, so once per round
                        if workers == args.workers[0] and set(DIRECT_WORKLOADS) & set(
                            args.workloads
                        ):
                            results += _direct(control, direct, reads, args, round_)
                        continue
                    names = [
                        n for n in args.workloads if system not in PEERS or n in PEER_WORKLOADS
                    ]
                    if not names:
                        continue
                    gateway, health = _start(system, workers, peer_at, base)
                    try:
                        _wait(health, gateway)
                        for name in names:
                            bodies_of = files[f"peer:{name}" if system in PEERS else name]
                            _drain(control)
                            requests, rows = _ops(control, url, bodies_of, name, 4 * workers)
                            for c in args.concurrency:
                                _drain(control)
                                cpu0 = _cpu_seconds(gateway.pid)
                                sim0 = _cpu_seconds(upstreams.pid)
                                calls0 = sum(_get(control + "/counts").values())
                                ours = system in SYSTEMS and len(bodies_of) == 1
                                answered0 = _answered(metrics) if ours else 0
                                got = _wrk(url, bodies_of, c, args.duration)
                                sim = _cpu_seconds(upstreams.pid) - sim0
                                cpu = _cpu_seconds(gateway.pid) - cpu0
                                if ours:
                                    served: int | None = _answered_after(
                                        metrics, control, answered0
                                    )
                                elif system == PEER:
                                    served = _served(control, calls0, requests, len(bodies_of))
                                else:  # whole queries shared: neither count tells
                                    served = None
                                if served is not None:  # the CPU of the queries wrk left too
                                    cpu = _cpu_seconds(gateway.pid) - cpu0
                                calls = sum(_get(control + "/counts").values()) - calls0
                                peak, total = _peak_rss_mb(gateway.pid)
                                got.update(
                                    system=system,
                                    workers=workers,
                                    round=round_,
                                    workload=name,
                                    concurrency=c,
                                    upstream_requests=requests,
                                    # under load: fewer where concurrent reads are shared
                                    upstream_per_query=calls / max(served or got["requests"], 1),
                                    rows=rows,
                                    cpu_ms_per_query=1000 * cpu / max(served or got["requests"], 1),
                                    served=served,
                                    # the simulators' share: are they the bottleneck?
                                    upstream_cpu_util=sim / max(got["duration_s"], 0.001),
                                    peak_rss_mb=peak,
                                    total_rss_mb=total,
                                )
                                print(json.dumps(got), flush=True)
                                results.append(got)
                    finally:
                        _stop(gateway)
    finally:
        _stop(upstreams)
        shutil.rmtree(tmp, ignore_errors=True)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    return {"machine": machine(), "args": settings, "results": results}


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "cpu": next(
            (
                x.split(":", 1)[1].strip()
                for x in Path("/proc/cpuinfo").read_text().splitlines()
                if x.startswith("model name")
            ),
            platform.processor(),
        ),
        "python": platform.python_version(),
        "load_average_at_end": [round(x, 2) for x in load],
    }


def summarize(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Medians across rounds, per (workload, workers, system, concurrency)."""
    groups: dict[tuple[str, int, str, int], list[dict[str, Any]]] = {}
    for r in data["results"]:
        key = (r["workload"], r.get("workers", 1), r["system"], r["concurrency"])
        groups.setdefault(key, []).append(r)
    rows = []
    for (workload, workers, system, c), rs in sorted(groups.items()):
        row: dict[str, Any] = {
            "workload": workload,
            "workers": workers,
            "system": system,
            "concurrency": c,
        }
        for figure in (
            "rps",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "cpu_ms_per_query",
            "upstream_requests",
        ):
            row[figure] = statistics.median(r[figure] for r in rs)
        # older results files have no under-load count
        row["upstream_per_query"] = statistics.median(
            r.get("upstream_per_query", float("nan")) for r in rs
        )
        row["rows"] = max(r.get("rows", 0) for r in rs)
        row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rs)
        row["bad"] = sum(r["bad_responses"] + r["socket_errors"] for r in rs)
        rows.append(row)
    return rows


def ratios(
    data: dict[str, Any], system: str = "tablegraph", against: str = PEER
) -> list[dict[str, Any]]:
    """``system`` against ``against`` where both ran (same workload, workers, concurrency)."""
    rows = summarize(data)
    peers = {
        (r["workload"], r["workers"], r["concurrency"]): r for r in rows if r["system"] == against
    }
    out = []
    for r in rows:
        p = peers.get((r["workload"], r["workers"], r["concurrency"]))
        if r["system"] != system or p is None:
            continue
        out.append(
            {
                "workload": r["workload"],
                "workers": r["workers"],
                "concurrency": r["concurrency"],
                "rps": r["rps"] / p["rps"] if p["rps"] else float("nan"),
                "p50": r["p50_ms"] / p["p50_ms"] if p["p50_ms"] else float("nan"),
                "cpu": r["cpu_ms_per_query"] / p["cpu_ms_per_query"]
                if p["cpu_ms_per_query"]
                else float("nan"),
                "rss": r["peak_rss_mb"] / p["peak_rss_mb"] if p["peak_rss_mb"] else float("nan"),
            }
        )
    return out


def floors(rows: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """The measured floor (``DIRECT``'s medians) per (workload, concurrency)."""
    return {(r["workload"], r["concurrency"]): r for r in rows if r["system"] == DIRECT}


def _per(value: float, floor: dict[str, Any] | None, key: str) -> str:
    return f"{value / floor[key]:.2f}" if floor and floor[key] else "—"


def _figure(value: float, digits: int = 1) -> str:
    return "—" if math.isnan(value) else f"{value:.{digits}f}"


def markdown(data: dict[str, Any]) -> str:
    m, a = data["machine"], data["args"]
    nominal = a["latency_ms"]
    rows = summarize(data)
    measured = floors(rows)
    lines = [
        f"Machine: {m['cpus']} × {m['cpu']}, Python {m['python']}, load average at the end "
        f"{m['load_average_at_end']} (shared with other work: figures are noisy). Upstream "
        f"latency {a['latency_ms']} ms + U(0, {a['jitter_ms']}) ms; {a['rounds']} round(s) of "
        f"{a['duration']} s per point, systems interleaved; wrk -t1, loopback.",
        "",
        "Critical-path floor: one upstream round trip per request — every workload request "
        "needs at least one upstream call it cannot overlap. *Nominal*: the configured "
        "latency above. *Measured*: the p50 (p99) of the upstream requests sent to the "
        f"upstreams directly at the same concurrency (`{DIRECT}`: the latency plus the "
        "simulators' own time to answer, which no gateway can avoid) — *dashboard_one*'s one "
        "by wrk; the four-provider *dashboard*'s reads, captured from one query of a warm "
        "tablegraph gateway, all at once per query by a small asyncio client (a query's "
        "latency is its slowest read's). "
        "`peer` is GraphQL Mesh Compose + Hive Gateway over the four simulators' OpenAPI "
        "documents; its upstream requests include the reads of the restaurants' names (Vardvik's "
        "configuration, Libro's restaurant list, LibreBooking's schedule: Mesh has no "
        "restaurant cache) and, on *dashboard*, Libro's people page, which the peer's client "
        "joins to the bookings itself (`tests/bench/peer.py`); `peer-dedupe` is the same "
        "with Hive Gateway's deduplication of "
        "identical queries in flight turned on (off by default). *Under load*: upstream "
        "requests per query answered during the point (tablegraph shares a booking list read "
        "in flight between queries; `peer-dedupe` shares whole queries). CPU is the "
        "gateway's whole process tree, until the queries wrk left in flight are done, over "
        "every query answered (tablegraph: its own count; the peer: from its upstream calls; "
        "`peer-dedupe`: wrk's responses, the CPU until wrk stopped); RSS the largest process.",
        "",
        "| workload | workers | system | c | upstream req/op (min) | under load | rows | req/s "
        "| p50 ms | p95 ms | p99 ms | p50/floor nominal | p50/floor measured "
        "| p99/floor measured | CPU ms/query | peak RSS MB | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        minimum = sum(MINIMUM[r["workload"]].values())
        floor = measured.get((r["workload"], r["concurrency"]))
        lines.append(
            f"| {r['workload']} | {r['workers'] or '—'} | {r['system']} | {r['concurrency']} | "
            f"{r['upstream_requests']:.0f} ({minimum}) | {r['upstream_per_query']:.2f} | "
            f"{'—' if r['system'] == DIRECT else r['rows']} | {r['rps']:.1f} | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['p50_ms'] / nominal:.2f} | {_per(r['p50_ms'], floor, 'p50_ms')} | "
            f"{_per(r['p99_ms'], floor, 'p99_ms')} | {_figure(r['cpu_ms_per_query'])} | "
            f"{_figure(r['peak_rss_mb'], 0)} | {r['bad']} |"
        )
    pairs = [
        ("tablegraph", PEER),
        ("tablegraph-unshared", PEER),
        ("tablegraph", PEER_DEDUPE),
        ("tablegraph-dedupe", PEER_DEDUPE),
    ]
    for ours, against in pairs:
        found = ratios(data, ours, against)
        if not found:
            continue
        lines += [
            "",
            f"{ours} / {against} (targets: throughput ≥ 1.2, CPU per query ≤ 0.8):",
            "",
            "| workload | workers | c | req/s | p50 | CPU/query | peak RSS |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {x['workload']} | {x['workers']} | {x['concurrency']} | {x['rps']:.2f} | "
            f"{x['p50']:.2f} | {x['cpu']:.2f} | {x['rss']:.2f} |"
            for x in found
        ]
    return "\n".join(lines) + "\n"


def plot(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summarize(data)
    panels = sorted({(r["workload"], r["workers"]) for r in rows if r["system"] != DIRECT})
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.5), squeeze=False)
    for ax, (w, n) in zip(axes[0], panels, strict=True):
        for system in sorted({r["system"] for r in rows}):
            pts = [
                r
                for r in rows
                if (r["workload"], r["system"]) == (w, system)
                and (r["workers"] == n or system == DIRECT)  # the floor in every panel
            ]
            if pts:
                xs, ys = [p["concurrency"] for p in pts], [p["p50_ms"] for p in pts]
                ax.plot(xs, ys, "o--" if system == DIRECT else "o-", label=system)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{w}, {n} worker(s)")
        ax.set_xlabel("concurrency")
        ax.set_ylabel("p50 ms")
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _list(kind: type) -> Any:
    return lambda text: [kind(x) for x in text.split(",") if x]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=_list(int), default=[1, 10, 50, 200])
    parser.add_argument("--workloads", type=_list(str), default=list(MINIMUM))
    parser.add_argument(
        "--systems",
        type=_list(str),
        default=[DIRECT, "tablegraph", "tablegraph-naive"],
        help=f"of {[DIRECT, *SYSTEMS, *PEERS]}",
    )
    parser.add_argument("--workers", type=_list(int), default=[1])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--jitter-ms", type=float, default=2.0)
    parser.add_argument("--bookings", type=int, default=50)
    parser.add_argument("--port-base", type=int, default=PORT_BASE, help="loopback ports from")
    parser.add_argument(
        "--budget", type=float, default=1800.0, help="seconds; no new system starts after"
    )
    parser.add_argument("--quick", action="store_true", help="2 s points, c=1,10, one round")
    parser.add_argument(
        "--peer",
        action="store_true",
        help="the side-by-side run: tablegraph and Mesh/Hive on dashboard_one and dashboard, "
        "1 and 2 workers, c=1,10,50, two rounds of 5 s points",
    )
    given = sys.argv[1:] if argv is None else argv
    if "--peer" in given:  # defaults of the side-by-side run; flags given still win
        parser.set_defaults(
            systems=[
                DIRECT,
                PEER,
                PEER_DEDUPE,
                "tablegraph",
                "tablegraph-dedupe",
                "tablegraph-unshared",
            ],
            workloads=list(PEER_WORKLOADS),
            workers=[1, 2],
            duration=5.0,
            rounds=2,
            concurrency=[1, 10, 50],
        )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.concurrency = 2.0, 1, [1, 10]
    unknown = set(args.systems) - {DIRECT, *SYSTEMS, *PEERS}
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}")
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    data = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(data, indent=1, default=str))
    (args.out / "results.md").write_text(markdown(data))
    try:
        plot(data, args.out / "latency.png")
    except ImportError:
        print("matplotlib missing (pip install -e '.[bench]'): no plot", file=sys.stderr)
    print(markdown(data))
    return 0
