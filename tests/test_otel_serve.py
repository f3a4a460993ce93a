"""``tablegraph serve`` with the ``otel`` extra and the standard environment variables asking
for an exporter (here ``OTEL_TRACES_EXPORTER=console``, so no collector is needed): the
operation's span continues the client's trace, names the service, and is exported by the time
the process has stopped."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import httpx

from tablegraph.auth.keys import hash_key
from tablegraph.auth.scopes import ALL_SCOPES
from tablegraph.simulators.common import serve
from tablegraph.simulators.vardvik import create_app, demo_upstreams

from .auth_support import AUTH_HEADERS, TEST_KEY

ROOT = Path(__file__).resolve().parents[1]
TRACE, PARENT = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
#: ConsoleSpanExporter writes each span as an indented JSON object.
_SPAN = re.compile(r"^\{$.*?^\}$", re.MULTILINE | re.DOTALL)


async def test_serve_exports_the_operation_span_configured_by_the_environment(
    tmp_path: Path,
) -> None:
    sim = create_app(1, rate_limit_per_minute=100_000)
    runner, url = await serve(sim)
    upstream = demo_upstreams(url)[0]
    scopes = json.dumps(sorted(s.value for s in ALL_SCOPES))
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'[[clients]]\nid = "test-client"\nscopes = {scopes}\n'
        f'key_hashes = ["{hash_key(TEST_KEY)}"]\n'
        f'[store]\nkind = "sqlite"\ndata_dir = "{tmp_path / "data"}"\n'
        f'[[upstreams]]\nname = "{upstream.name}"\nkind = "vardvik"\n'
        f'base_url = "{upstream.base_url}"\n'
        'credentials = { api_key = "TG_OTEL_KEY" }\n'
        'options = { restaurant_ids = ["rst_1"] }\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {
        "PYTHONPATH": str(ROOT / "src"),
        "TG_OTEL_KEY": upstream.credentials["api_key"].reveal(),
        "OTEL_TRACES_EXPORTER": "console",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tablegraph.cli", "serve", "--config", str(config), "--port", "0",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        async with asyncio.timeout(60):
            line = (await process.stdout.readline()).decode()
        base = line.split(" on ")[1].strip().removesuffix("/graphql")
        async with httpx.AsyncClient(base_url=base, timeout=30, headers=AUTH_HEADERS) as client:
            answer = await client.post(
                "/graphql",
                json={"query": "query Count { restaurants { totalCount } }"},
                headers={"traceparent": f"00-{TRACE}-{PARENT}-01"},
            )
        assert "errors" not in answer.json()
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            out = (await process.stdout.read()).decode()
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await runner.cleanup()
    spans = [json.loads(found) for found in _SPAN.findall(out)]
    (operation,) = [s for s in spans if s["kind"] == "SpanKind.SERVER"]
    assert operation["name"] == "Count" and operation["parent_id"] == f"0x{PARENT}"
    assert operation["context"]["trace_id"] == f"0x{TRACE}"
    assert operation["resource"]["attributes"]["service.name"] == "tablegraph"
    calls = [s for s in spans if s["parent_id"] == operation["context"]["span_id"]]
    assert calls and all(s["kind"] == "SpanKind.CLIENT" for s in calls)
