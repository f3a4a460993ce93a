"""``tablegraph serve --workers N``: N gateway processes on one port, under a supervisor.

Pre-fork with ``SO_REUSEPORT``: the supervisor reserves the port (a bound, non-listening
socket with ``SO_REUSEPORT``, so ``--port 0`` picks one port for all), then starts N
``tablegraph serve --reuse-port`` processes that each listen on it; the kernel spreads new
connections between them. A worker that dies is started again; SIGTERM or SIGINT is passed to
every worker, each finishes its requests in flight (``shutdown_grace_seconds``), and the
supervisor exits 0 when they all did.

Metrics: the supervisor gives every worker one ``PROMETHEUS_MULTIPROC_DIR`` (the operator's,
emptied of old files, or a new temporary directory removed at the end), tells
prometheus-client when a worker has exited (``mark_process_dead``, so its live gauges go), and
whichever worker is scraped reports the sum over all of them (``tablegraph.metrics``).

Workers share what they remember through the store, so more than one worker needs a store
they can share: ``sqlite`` (one host; every read-modify-write holds the file's write lock) or
``redis``. ``memory`` is refused at start-up with a message saying so.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from prometheus_client.multiprocess import mark_process_dead

from tablegraph.metrics import MULTIPROC_DIR
from tablegraph.settings import ConfigError, GatewaySettings

log = logging.getLogger(__name__)
#: A worker dying faster than this again and again is a broken setup, not bad luck.
MAX_RESTARTS_PER_MINUTE = 10


def supervise(config: str, settings: GatewaySettings, host: str, port: int, workers: int) -> int:
    if settings.store.kind == "memory":
        raise ConfigError(
            "--workers > 1 needs a store the workers share: [store] kind = 'sqlite' (one host) "
            "or 'redis'; 'memory' is one process's"
        )
    reserve = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    reserve.bind((host, port))
    port = reserve.getsockname()[1]
    command = [
        sys.executable, "-m", "tablegraph.cli", "serve", "--config", config,
        "--host", host, "--port", str(port), "--reuse-port",
    ]  # fmt: skip
    metrics_dir, made = _metrics_dir()
    env = {**os.environ, MULTIPROC_DIR: str(metrics_dir)}
    children = [subprocess.Popen(command, env=env) for _ in range(workers)]
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"tablegraph gateway on http://{host}:{port}/graphql ({workers} workers)", flush=True)
    restarts: list[float] = []
    try:
        while not all(child.poll() is not None for child in children) or not stopping:
            for index, child in enumerate(children):
                code = child.poll()
                if code is None or stopping:
                    continue
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < 60] + [now]
                if len(restarts) > MAX_RESTARTS_PER_MINUTE:
                    log.error("workers keep dying; stopping")
                    stop(signal.SIGTERM, None)
                    break
                log.warning("worker %s exited with %s; starting another", child.pid, code)
                mark_process_dead(child.pid, str(metrics_dir))  # type: ignore[no-untyped-call]
                children[index] = subprocess.Popen(command, env=env)
            time.sleep(0.2)
    finally:
        reserve.close()
        for child in children:
            if child.poll() is not None:
                mark_process_dead(child.pid, str(metrics_dir))  # type: ignore[no-untyped-call]
        if made:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0 if all(child.returncode == 0 for child in children) else 1


def _metrics_dir() -> tuple[Path, bool]:
    """The workers' metrics directory, empty; True when made here (removed at the end)."""
    given = os.environ.get(MULTIPROC_DIR)
    if not given:
        return Path(tempfile.mkdtemp(prefix="tablegraph-metrics-")), True
    path = Path(given)
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):  # a previous run's counts would be added to this one's
        old.unlink()
    return path, False
