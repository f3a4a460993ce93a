"""resOS' 100 requests a minute hold across three gateway processes together (issue 13): each
``tablegraph serve`` has its own resOS adapter, all share one SQLite store; together they send
more than 100 reads in one minute, and the simulator — which counts every request in its
minute — sees at most 100 a minute and never answers 429. What did not fit is refused by the
gateways themselves (``UPSTREAM_RATE_LIMITED``) before it is sent."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tablegraph import ids
from tablegraph.auth.keys import hash_key
from tablegraph.auth.scopes import ALL_SCOPES
from tablegraph.simulators.common import Clock, serve
from tablegraph.simulators.resos import COPENHAGEN_ID, COPENHAGEN_KEY, RESOS_STATE, create_app

from .auth_support import AUTH_HEADERS, TEST_KEY
from .processes import until_healthy

ROOT = Path(__file__).resolve().parents[1]
SCOPES = json.dumps(sorted(s.value for s in ALL_SCOPES))
BUDGET = 100
WORKERS = 3
READS_EACH = 45  # 135 together, more than a minute's budget
CPH = ids.encode("Restaurant", "resos-nordics", COPENHAGEN_ID)
QUERY = "query($id: ID!, $date: Date!, $party: Int!) { availability(restaurantIds: [$id], "
QUERY += "date: $date, partySize: $party) { slots { start } } }"


def _config(tmp_path: Path, base_url: str) -> Path:
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'[store]\nkind = "sqlite"\ndata_dir = "{tmp_path / "data"}"\n'
        f'[[clients]]\nid = "test-client"\nscopes = {SCOPES}\n'
        f'key_hashes = ["{hash_key(TEST_KEY)}"]\n'
        f'[[upstreams]]\nname = "resos-nordics"\nkind = "resos"\nbase_url = "{base_url}/v1"\n'
        'credentials = { key_copenhagen = "TG_BUDGET_RESOS_KEY" }\n'
        # No reserve for one client's bursts: this test is about the total, not fairness.
        f"[upstreams.options]\nrate_limit_per_minute = {BUDGET}\nclient_reserve = 0\n"
        "[[upstreams.options.restaurants]]\n"
        f'id = "{COPENHAGEN_ID}"\nname = "Havnekøkkenet"\ntimezone = "Europe/Copenhagen"\n'
        'api_key_credential = "key_copenhagen"\n'
    )
    return config


async def _start(config: Path) -> tuple[asyncio.subprocess.Process, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TG_BUDGET_RESOS_KEY": COPENHAGEN_KEY}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tablegraph.cli", "serve", "--config", str(config),
        "--port", "0",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        async with asyncio.timeout(60):
            line = (await process.stdout.readline()).decode()
            base = line.split(" on ")[1].split("/graphql")[0]
        await until_healthy(base)
        return process, base
    except BaseException:
        process.kill()
        await process.wait()
        raise


async def _reads(base: str, first: int) -> list[Any]:
    """``READS_EACH`` availability reads, each for its own day and party (no cache hits)."""
    today = datetime.now(UTC).date()
    async with httpx.AsyncClient(
        base_url=base,
        timeout=30,
        headers={**AUTH_HEADERS, "X-Request-Timeout-Ms": "3000"},
        limits=httpx.Limits(max_connections=15),
    ) as client:

        async def read(n: int) -> Any:
            day: date = today + timedelta(days=1 + n // 3)
            variables = {"id": CPH, "date": day.isoformat(), "party": 2 + n % 3}
            answer = await client.post("/graphql", json={"query": QUERY, "variables": variables})
            return answer.json()

        return await asyncio.gather(*(read(first + i) for i in range(READS_EACH)))


async def test_three_gateway_processes_spend_one_resos_budget(tmp_path: Path) -> None:
    # The simulator's minute starts now, so start-up and the burst fall within one minute.
    clock = Clock(datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1))
    sim = create_app(0, clock=clock, rate_limit=BUDGET)
    state = sim[RESOS_STATE]
    runner, url = await serve(sim)
    config = _config(tmp_path, url)
    started = await asyncio.gather(
        *(_start(config) for _ in range(WORKERS)), return_exceptions=True
    )
    processes = [s[0] for s in started if isinstance(s, tuple)]
    try:
        assert len(processes) == WORKERS, started
        bases = [s[1] for s in started if isinstance(s, tuple)]
        answers = [
            a
            for batch in await asyncio.gather(
                *(_reads(base, i * READS_EACH) for i, base in enumerate(bases))
            )
            for a in batch
        ]
    finally:
        for process in processes:
            process.kill()
            await process.wait()
        await runner.cleanup()

    assert state.status_counts.get(429, 0) == 0  # resOS never had to refuse one
    per_minute = Counter(minute for minute, *_ in state.log)
    assert max(per_minute.values()) <= BUDGET, per_minute
    assert sum(per_minute.values()) >= BUDGET  # the budget was spent, not left idle
    answered = [a for a in answers if "errors" not in a]
    refused = [a for a in answers if "errors" in a]
    codes = {e["extensions"]["code"] for a in refused for e in a["errors"]}
    assert codes == {"UPSTREAM_RATE_LIMITED"}, codes
    assert all(isinstance(a["data"]["availability"][0]["slots"], list) for a in answered)
    assert sum(1 for a in answered if a["data"]["availability"][0]["slots"]) > BUDGET // 2
    # Start-up and banner probes and an opening-hours read per process drew on it too.
    assert len(answered) <= sum(per_minute.values()) and len(answered) >= BUDGET - 3 * WORKERS
