"""Helpers for tests that start servers of their own on loopback: a free port, and waiting
until a started server answers ``/healthz`` (bounded: a server that never comes up fails the
test instead of hanging it)."""

from __future__ import annotations

import asyncio
import socket

import httpx


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
