"""Two ``tablegraph serve`` processes on one Redis, as two hosts of one deployment would run:
a booking made through the first reaches a WebSocket subscriber of the second."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tablegraph.auth.keys import hash_key
from tablegraph.auth.scopes import ALL_SCOPES
from tablegraph.simulators.common import serve
from tablegraph.simulators.vardvik import create_app, demo_upstreams

from ..auth_support import AUTH_HEADERS, TEST_KEY
from ..graphql.conftest import Api
from ..graphql.helpers import BERLIN_MITTE
from .live import WsSubscriber
from .test_live import STREAM, _create, _two_starts

ROOT = Path(__file__).resolve().parents[2]
SCOPES = json.dumps(sorted(s.value for s in ALL_SCOPES))


def _config(tmp_path: Path, base_url: str, redis_url: str) -> Path:
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'[store]\nkind = "redis"\nredis_url = "{redis_url}"\n'
        f'[[clients]]\nid = "test-client"\nscopes = {SCOPES}\n'
        f'key_hashes = ["{hash_key(TEST_KEY)}"]\n'
        f'[[upstreams]]\nname = "vardvik-berlin"\nkind = "vardvik"\nbase_url = "{base_url}"\n'
        'credentials = { api_key = "TG_PROCESSES_KEY" }\n'
        'options = { restaurant_ids = ["rst_1"] }\n'
    )
    return config


@pytest.fixture
async def gateways(tmp_path: Path, redis_url: str) -> AsyncIterator[list[str]]:
    """Two gateway processes sharing one Redis (a database of their own); their base URLs."""
    sim = create_app(1, rate_limit_per_minute=100_000)
    runner, url = await serve(sim)
    upstream = demo_upstreams(url)[0]
    config = _config(tmp_path, upstream.base_url, redis_url.rsplit("/", 1)[0] + "/3")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "TG_PROCESSES_KEY": upstream.credentials["api_key"].reveal(),
    }
    processes: list[asyncio.subprocess.Process] = []
    bases: list[str] = []
    try:
        for _ in range(2):
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tablegraph.cli", "serve", "--config", str(config),
                "--port", "0",
                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            processes.append(process)
            assert process.stdout is not None
            async with asyncio.timeout(60):
                line = (await process.stdout.readline()).decode()
            assert "tablegraph gateway on " in line, line
            bases.append(line.split(" on ")[1].split("/graphql")[0])
        yield bases
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                async with asyncio.timeout(30):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        await runner.cleanup()


async def _metric(http: httpx.AsyncClient, line: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while line not in (await http.get("/metrics")).text:
        assert loop.time() < deadline, f"{line!r} never showed in /metrics"
        await asyncio.sleep(0.05)


async def test_a_booking_through_one_process_reaches_a_subscriber_of_another(
    gateways: list[str],
) -> None:
    first, second = (
        httpx.AsyncClient(base_url=base, timeout=30, headers=AUTH_HEADERS) for base in gateways
    )
    writer = Api(first, None, None)  # type: ignore[arg-type]  # only HTTP is used
    reader = Api(second, None, None)  # type: ignore[arg-type]
    sub = await WsSubscriber.connect(reader, AUTH_HEADERS)
    try:
        await sub.acked()
        await sub.subscribe({"ids": [BERLIN_MITTE]})
        await _metric(second, f'tablegraph_event_subscribers{{upstream="{STREAM[0]}"}} 1.0')
        start, _ = await _two_starts(writer)
        booking = await _create(writer, start)
        event = await sub.event()
        assert (event["kind"], event["source"]) == ("CREATED", "GATEWAY")
        assert event["booking"]["id"] == booking["id"]
        published = "tablegraph_events_published_total"
        assert f'{published}{{outcome="published"}} 1.0' in (await first.get("/metrics")).text
        assert f'{published}{{outcome="published"}} 0.0' in (await second.get("/metrics")).text
    finally:
        await sub.close()
        await first.aclose()
        await second.aclose()
