"""``tablegraph serve --workers 2``: two processes on one port share one SQLite store — the
same key sent on many connections at once books once with one answer — and SIGTERM stops
them all with exit 0; one ``/metrics`` scrape counts what both workers did. A per-process
store is refused for more than one worker."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tablegraph.auth.keys import hash_key
from tablegraph.auth.scopes import ALL_SCOPES
from tablegraph.cli import main
from tablegraph.simulators.common import REQUEST_COUNTS, serve
from tablegraph.simulators.faults import FAULTS, Fault
from tablegraph.simulators.harness import harness_of
from tablegraph.simulators.vardvik import create_app, demo_upstreams

from .auth_support import AUTH_HEADERS, TEST_KEY
from .graphql.helpers import AVAILABILITY, BERLIN_MITTE, CREATE, quiet_weekday

ROOT = Path(__file__).resolve().parents[1]
SCOPES = json.dumps(sorted(s.value for s in ALL_SCOPES))


def _config(tmp_path: Path, base_url: str, store: str) -> Path:
    config = tmp_path / "gateway.toml"
    config.write_text(
        f"{store}\n"
        f'[[clients]]\nid = "test-client"\nscopes = {SCOPES}\n'
        f'key_hashes = ["{hash_key(TEST_KEY)}"]\n'
        f'[[upstreams]]\nname = "vardvik-berlin"\nkind = "vardvik"\nbase_url = "{base_url}"\n'
        'credentials = { api_key = "TG_WORKERS_KEY" }\n'
        'options = { restaurant_ids = ["rst_1"] }\n'
    )
    return config


def test_more_than_one_worker_needs_a_shared_store(tmp_path: Path, capsys: Any) -> None:
    os.environ.setdefault("TG_WORKERS_KEY", "x")
    config = _config(tmp_path, "http://127.0.0.1:9/api/v1", '[store]\nkind = "memory"')
    assert main(["serve", "--config", str(config), "--workers", "2"]) == 2
    assert "needs a store the workers share" in capsys.readouterr().err


@asynccontextmanager
async def _two_workers(
    tmp_path: Path, base_url: str, key: str, **env: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """``serve --workers 2`` on a free port, both workers answering: (supervisor, base URL)."""
    store = f'[store]\nkind = "sqlite"\ndata_dir = "{tmp_path / "data"}"'
    config = _config(tmp_path, base_url, store)
    environ = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TG_WORKERS_KEY": key, **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tablegraph.cli", "serve", "--config", str(config),
        "--port", "0", "--workers", "2",
        env=environ, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        async with asyncio.timeout(60):
            line = (await process.stdout.readline()).decode()
        assert "(2 workers)" in line, line
        base = line.split(" on ")[1].split("/graphql")[0]
        listening = 0
        async with asyncio.timeout(60):
            while listening < 2:  # each worker prints its banner once it listens
                line = (await process.stdout.readline()).decode()
                assert line, "the supervisor's output ended before both workers listened"
                listening += line.startswith("tablegraph gateway on ")
        yield process, base
    finally:
        if process.returncode is None:  # a failed test: stop the workers too, then insist
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_two_workers_share_one_store_and_stop_on_sigterm(tmp_path: Path) -> None:
    sim = create_app(1, rate_limit_per_minute=100_000)
    runner, url = await serve(sim)
    upstream = demo_upstreams(url)[0]
    key = upstream.credentials["api_key"].reveal()
    try:
        async with _two_workers(tmp_path, upstream.base_url, key) as (process, base):
            await _book_once_on_many_connections(sim, base)
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(60):
                assert await process.wait() == 0
    finally:
        await runner.cleanup()


async def _book_once_on_many_connections(sim: Any, base: str) -> None:
    """The same idempotency key on six connections at once: one booking, one answer."""
    day = quiet_weekday()
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=AUTH_HEADERS) as client:
        found = await client.post(
            "/graphql",
            json={
                "query": AVAILABILITY,
                "variables": {"ids": [BERLIN_MITTE], "date": day.isoformat(), "party": 2},
            },
        )
    slots = found.json()["data"]["availability"][0]["slots"]
    variables = {
        "input": {
            "restaurantId": BERLIN_MITTE,
            "start": slots[len(slots) // 2]["start"],
            "partySize": 2,
            "guest": {"firstName": "Ada", "lastName": "Workers", "email": "w@example.com"},
            "idempotencyKey": "two-workers-one-key",
        }
    }
    sim[FAULTS].add(Fault("latency", latency_ms=300, method="POST"))

    async def send() -> Any:  # a connection of its own: the kernel picks the worker
        async with httpx.AsyncClient(base_url=base, timeout=60, headers=AUTH_HEADERS) as one:
            response = await one.post("/graphql", json={"query": CREATE, "variables": variables})
            return response.json()["data"]

    answers = await asyncio.gather(*(send() for _ in range(6)))
    assert answers[0]["createBooking"]["userErrors"] == [], answers[0]
    assert all(a == answers[0] for a in answers)
    create = re.compile(harness_of("vardvik").create_path.replace("[^/]+", r"\{[^}]+\}"))
    creates = sum(
        int(n)
        for k, n in sim[REQUEST_COUNTS].items()
        if k.startswith("POST ") and create.search(k[5:])
    )
    assert creates == 1


async def test_one_scrape_counts_the_requests_of_every_worker(tmp_path: Path) -> None:
    """Each request on a connection of its own (the kernel spreads them over both workers);
    whichever worker answers the one scrape reports all of them."""
    sim = create_app(1, rate_limit_per_minute=100_000)
    runner, url = await serve(sim)
    upstream = demo_upstreams(url)[0]
    key = upstream.credentials["api_key"].reveal()
    metrics_dir = tmp_path / "metrics"
    sent = 24
    try:
        async with _two_workers(
            tmp_path, upstream.base_url, key, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)
        ) as (process, base):

            async def probe() -> None:
                async with httpx.AsyncClient(base_url=base, headers=AUTH_HEADERS) as one:
                    answer = await one.post(
                        "/graphql", json={"query": "query Probe { restaurants { totalCount } }"}
                    )
                    assert "errors" not in answer.json(), answer.text

            for _ in range(sent):  # one after another: none shares a connection
                await probe()
            async with httpx.AsyncClient(base_url=base, headers=AUTH_HEADERS) as scraper:
                text = (await scraper.get("/metrics")).text
            # What each worker counted, read from its own file.
            per_worker = [
                _probes(MultiProcessCollector.merge([str(f)], accumulate=False))
                for f in sorted(metrics_dir.glob("counter_*.db"))
            ]
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(60):
                assert await process.wait() == 0
    finally:
        await runner.cleanup()
    assert _probes(text_string_to_metric_families(text)) == sent
    assert sum(per_worker) == sent
    assert len([n for n in per_worker if n > 0]) == 2, per_worker  # both workers answered
    in_flight = [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "tablegraph_requests_in_flight"
    ]
    assert in_flight == [0.0]  # summed over the live workers; the scrape is not GraphQL
    # Figures the gateway's parts keep (here: the restaurant list cache, read once per
    # request) are copied in by each worker as its requests end, the scraped one's included.
    reads = sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name in ("tablegraph_cache_hits_total", "tablegraph_cache_misses_total")
        and s.labels == {"cache": "restaurants"}
    )
    assert reads == sent


def _probes(families: Any) -> float:
    return sum(
        s.value
        for family in families
        for s in family.samples
        if s.name == "tablegraph_requests_total" and s.labels.get("operation") == "Probe"
    )
