"""Helpers for tests that start servers of their own on loopback: a free port, waiting until
a started server answers ``/healthz`` (bounded: a server that never comes up fails the test
instead of hanging it), and the demo run as a person runs it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

SRC = str(Path(__file__).resolve().parents[1] / "src")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until_healthy(base_url: str, timeout: float = 60.0) -> None:
    """Return once ``GET base_url/healthz`` answers 200; ``TimeoutError`` after ``timeout``."""
    async with asyncio.timeout(timeout), httpx.AsyncClient(base_url=base_url) as probe:
        while True:  # bounded by the timeout: the server is starting
            try:
                if (await probe.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_demo(data_dir: Path) -> AsyncIterator[tuple[str, str]]:
    """``tablegraph demo`` as a person starts it, on a free port, with its store in
    ``data_dir`` (never the user's own demo directory); yields the printed GraphiQL URL and
    API key, and stops it with Ctrl-C (SIGINT) afterwards."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "tablegraph.cli", "demo", "--port", str(free_port())),
        *("--data-dir", str(data_dir)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdout is not None
    printed = ""
    try:
        while "Ctrl-C" not in printed:
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
            assert line, printed
            printed += line.decode()
        url = re.search(r"GraphiQL: (\S+)", printed)
        key = re.search(r"API key:\s+(tgk_\S+)", printed)
        assert url and key, printed
        yield url.group(1), key.group(1)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), timeout=30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
