"""The benchmark suite (issue #16): ``python -m tests.bench [--quick]``.

Starts the simulators in their own process (``upstreams``, fixed latency), then, in interleaved
rounds, each system in its own process (``gateway``: tablegraph, and tablegraph with
``naive=True``) under ``wrk`` (loopback, time-bounded) for every workload and concurrency.
Measures upstream requests per operation (one warm operation, counted at the simulators),
latency percentiles and throughput (wrk), CPU ms per query (the gateway's utime + stime) and
peak RSS (``VmHWM``). Writes ``results.md``, ``results.json`` and ``latency.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.auth_support import AUTH_HEADERS, TEST_KEY
from tests.bench.minimum import MINIMUM
from tests.bench.upstreams import CONTROL_OFFSET
from tests.bench.workloads import BOOK_CANCEL, BOOK_CREATE, DASHBOARD, REFERENCE, SEARCH

HERE = Path(__file__).parent
PY = sys.executable
PORT_BASE = 18100
GATEWAY_PORT = 18180
SYSTEMS = {"tablegraph": [], "tablegraph-naive": ["--naive"]}


def _get(url: str, data: bytes | None = None) -> Any:
    headers = {"content-type": "application/json", **AUTH_HEADERS}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def bodies(env: dict[str, Any], folder: Path) -> dict[str, list[Path]]:
    """One JSON body file per workload (book: the create and the cancel templates)."""
    variables: dict[str, Any] = {}
    for i, (rid, day) in enumerate(env["dashboard"]):
        variables[f"r{i}"], variables[f"d{i}"] = rid, day
    rid, start = env["book_target"]
    guest = {"firstName": "Bench", "lastName": "Load", "email": "load@x.test"}
    docs = {
        "dashboard": [{"query": DASHBOARD, "variables": variables}],
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
    out: dict[str, list[Path]] = {}
    for name, items in docs.items():
        out[name] = []
        for i, doc in enumerate(items):
            path = folder / f"{name}{i}.json"
            path.write_text(json.dumps(doc))
            out[name].append(path)
    return out


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _wrk(url: str, files: list[Path], concurrency: int, duration: float) -> dict[str, Any]:
    envvars = {**os.environ, "GQL_BODY_FILE": str(files[0]), "GQL_AUTH_KEY": TEST_KEY}
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


def _ops(control: str, url: str, files: list[Path], name: str) -> int:
    """Upstream requests of one warm operation (book: the create and its cancel)."""

    def once() -> None:
        created = _get(url, files[0].read_bytes().replace(b"KEY", os.urandom(6).hex().encode()))
        if len(files) > 1:
            booking = ((created.get("data") or {}).get("createBooking") or {}).get("booking")
            if booking is None:
                raise RuntimeError(f"create refused: {created}")
            bid = booking["id"]
            body = files[1].read_bytes().replace(b"BOOKING_ID", bid.encode())
            _get(url, body.replace(b"KEY", os.urandom(6).hex().encode()))

    try:
        once()
        _get(control + "/reset", b"{}")
        once()
    except (OSError, RuntimeError, KeyError) as exc:
        print(f"{name}: operation failed, no request count: {exc}", file=sys.stderr)
        return -1
    return sum(_get(control + "/counts").values())


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


def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="tablegraph-bench-"))
    control = f"http://127.0.0.1:{PORT_BASE + CONTROL_OFFSET}"
    upstreams = subprocess.Popen(
        [
            PY,
            "-m",
            "tests.bench.upstreams",
            "--port-base",
            str(PORT_BASE),
            "--latency-ms",
            str(args.latency_ms),
            "--jitter-ms",
            str(args.jitter_ms),
            "--bookings",
            str(args.bookings),
        ],
    )
    results: list[dict[str, Any]] = []
    try:
        _wait(control + "/counts", upstreams, 600)
        files = bodies(_get(control + "/env"), tmp)
        url = f"http://127.0.0.1:{GATEWAY_PORT}/graphql"
        for round_ in range(args.rounds):
            for system, flags in SYSTEMS.items():
                gateway = subprocess.Popen(
                    [
                        PY,
                        "-m",
                        "tests.bench.gateway",
                        "--port-base",
                        str(PORT_BASE),
                        "--port",
                        str(GATEWAY_PORT),
                        *flags,
                    ],
                    stdout=subprocess.DEVNULL,
                )
                try:
                    _wait(f"http://127.0.0.1:{GATEWAY_PORT}/healthz", gateway)
                    for name in args.workloads:
                        _drain(control)
                        requests = _ops(control, url, files[name], name)
                        for c in args.concurrency:
                            _drain(control)
                            cpu0 = _cpu_seconds(gateway.pid)
                            got = _wrk(url, files[name], c, args.duration)
                            cpu = _cpu_seconds(gateway.pid) - cpu0
                            got.update(
                                system=system,
                                round=round_,
                                workload=name,
                                concurrency=c,
                                upstream_requests=requests,
                                cpu_ms_per_query=1000 * cpu / max(got["requests"], 1),
                                peak_rss_mb=_peak_rss_mb(gateway.pid),
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
    """Medians across rounds, per (workload, system, concurrency)."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in data["results"]:
        groups.setdefault((r["workload"], r["system"], r["concurrency"]), []).append(r)
    rows = []
    for (workload, system, c), rs in sorted(groups.items()):
        row: dict[str, Any] = {"workload": workload, "system": system, "concurrency": c}
        for key in ("rps", "p50_ms", "p95_ms", "p99_ms", "cpu_ms_per_query", "upstream_requests"):
            row[key] = statistics.median(r[key] for r in rs)
        row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rs)
        row["bad"] = sum(r["bad_responses"] + r["socket_errors"] for r in rs)
        rows.append(row)
    return rows


def markdown(data: dict[str, Any]) -> str:
    m, a = data["machine"], data["args"]
    floor = a["latency_ms"]
    lines = [
        f"Machine: {m['cpus']} × {m['cpu']}, Python {m['python']}, load average at the end "
        f"{m['load_average_at_end']} (shared with other work). Upstream latency "
        f"{a['latency_ms']} ms + U(0, {a['jitter_ms']}) ms; {a['rounds']} round(s) of "
        f"{a['duration']} s per point, systems interleaved; wrk -t1, loopback.",
        "",
        "Critical-path floor: one upstream round trip per request (the latency above) — "
        "every workload request needs at least one upstream call it cannot overlap.",
        "",
        "| workload | system | c | upstream req/op (min) | req/s | p50 ms | p95 ms | p99 ms "
        "| p50/floor | CPU ms/query | peak RSS MB | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summarize(data):
        minimum = sum(MINIMUM[r["workload"]].values())
        lines.append(
            f"| {r['workload']} | {r['system']} | {r['concurrency']} | "
            f"{r['upstream_requests']:.0f} ({minimum}) | {r['rps']:.1f} | {r['p50_ms']:.1f} | "
            f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['p50_ms'] / floor:.2f} | "
            f"{r['cpu_ms_per_query']:.1f} | {r['peak_rss_mb']:.0f} | {r['bad']} |"
        )
    return "\n".join(lines) + "\n"


def plot(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summarize(data)
    workloads = sorted({r["workload"] for r in rows})
    fig, axes = plt.subplots(1, len(workloads), figsize=(4 * len(workloads), 3.5), squeeze=False)
    for ax, w in zip(axes[0], workloads, strict=True):
        for system in sorted({r["system"] for r in rows}):
            pts = [r for r in rows if r["workload"] == w and r["system"] == system]
            ax.plot([p["concurrency"] for p in pts], [p["p50_ms"] for p in pts], "o-", label=system)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(w)
        ax.set_xlabel("concurrency")
        ax.set_ylabel("p50 ms")
    axes[0][0].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10, 50, 200]
    )
    parser.add_argument("--workloads", type=lambda s: s.split(","), default=list(MINIMUM))
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--jitter-ms", type=float, default=2.0)
    parser.add_argument("--bookings", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="2 s points, c=1,10, one round")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.concurrency = 2.0, 1, [1, 10]
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
