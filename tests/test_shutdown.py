"""``tablegraph serve`` stops gracefully on SIGTERM: the request in flight completes, new
connections are refused, and the process exits 0 (the real command, in its own process)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import httpx

from tablegraph.auth.keys import hash_key
from tablegraph.auth.scopes import ALL_SCOPES
from tablegraph.simulators.common import REQUEST_COUNTS, serve
from tablegraph.simulators.faults import FAULTS, Fault
from tablegraph.simulators.vardvik import create_app, demo_upstreams

from .auth_support import AUTH_HEADERS, TEST_KEY

ROOT = Path(__file__).resolve().parents[1]
SCOPES = json.dumps(sorted(s.value for s in ALL_SCOPES))
SLOW = "{ restaurants(first: 5) { nodes { id name } } }"


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


async def test_sigterm_finishes_the_request_in_flight_refuses_new_ones_and_exits_0(
    tmp_path: Path,
) -> None:
    sim = create_app(1, rate_limit_per_minute=100_000)
    runner, url = await serve(sim)
    upstream = demo_upstreams(url)[0]
    config = tmp_path / "gateway.toml"
    config.write_text(
        "[gateway]\nshutdown_grace_seconds = 20\n"
        f'[[clients]]\nid = "test-client"\nscopes = {SCOPES}\n'
        f'key_hashes = ["{hash_key(TEST_KEY)}"]\n'
        f'[store]\nkind = "sqlite"\ndata_dir = "{tmp_path / "data"}"\n'
        f'[[upstreams]]\nname = "{upstream.name}"\nkind = "vardvik"\n'
        f'base_url = "{upstream.base_url}"\n'
        'credentials = { api_key = "TG_SHUTDOWN_KEY" }\n'
        'options = { restaurant_ids = ["rst_1"] }\n'
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "TG_SHUTDOWN_KEY": upstream.credentials["api_key"].reveal(),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tablegraph.cli",
        "serve",
        "--config",
        str(config),
        "--port",
        "0",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(60):
            line = (await process.stdout.readline()).decode()
        assert "tablegraph gateway on http://127.0.0.1:" in line, line
        base = line.split(" on ")[1].strip().removesuffix("/graphql")
        port = int(base.rsplit(":", 1)[1])
        sim[FAULTS].add(Fault("latency", latency_ms=1500, method="GET"))
        async with httpx.AsyncClient(base_url=base, timeout=60, headers=AUTH_HEADERS) as client:
            seen = int(sim[REQUEST_COUNTS]["*"])
            slow = asyncio.create_task(client.post("/graphql", json={"query": SLOW}))
            async with asyncio.timeout(30):
                while int(sim[REQUEST_COUNTS]["*"]) == seen:  # the request reached upstream
                    await asyncio.sleep(0.02)
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                while not _refused(port):  # the listener closes first
                    await asyncio.sleep(0.02)
            assert not slow.done(), "the slow request was still in flight at SIGTERM"
            response = await slow
        assert response.status_code == 200
        body = response.json()
        assert "errors" not in body and body["data"]["restaurants"]["nodes"], body
        async with asyncio.timeout(30):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await runner.cleanup()
