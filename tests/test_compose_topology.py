"""docker/compose.yaml's topology, run on this host without Docker (no engine runs here; CI
also tries ``docker compose up`` where one does: ``docker/smoke.sh``).

The very files compose mounts — ``docker/gateway.toml`` and ``docker/nginx.conf`` — with only
host names and ports rewritten to loopback: the four simulators started by the command compose
gives them, a real ``redis-server``, two ``tablegraph serve`` replicas with compose's
environment, and Debian's nginx in front. Through the load balancer: health, every upstream's
restaurants, and one create sent four times with one key (round robin puts it on both
replicas) that books once with one answer.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tablegraph.simulators import available_simulators

from .graphql.helpers import AVAILABILITY, BERLIN_MITTE, CREATE, quiet_weekday
from .processes import free_port, until_healthy
from .redis_server import redis_url  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"


def _nginx() -> str:
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed (.ci/run installs nginx-light)")
        pytest.skip("nginx not installed (apt-get install nginx-light)")
    return binary


class Processes:
    def __init__(self) -> None:
        self.started: list[asyncio.subprocess.Process] = []

    async def start(
        self, *args: str, env: dict[str, str] | None = None
    ) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            *args,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.started.append(process)
        return process

    async def stop(self) -> None:
        for process in reversed(self.started):
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.started):
            try:
                async with asyncio.timeout(30):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def _first_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(60):
        return (await process.stdout.readline()).decode()


@pytest.fixture
async def topology(tmp_path: Path, redis_url: str) -> AsyncIterator[str]:  # noqa: F811
    """Compose's services on loopback; yields the load balancer's URL."""
    nginx = _nginx()
    compose: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    processes = Processes()
    try:
        config = (DOCKER / "gateway.toml").read_text()
        sims: dict[str, asyncio.subprocess.Process] = {}
        for name, service in services.items():
            command = service.get("command", [])
            if command[:1] != ["simulate"]:
                continue
            port = command[command.index("--port") + 1]
            mine = str(free_port())
            args = [a if a != port else mine for a in command]
            args = [a if a != "0.0.0.0" else "127.0.0.1" for a in args]
            sims[name] = await processes.start(sys.executable, "-m", "tablegraph.cli", *args)
            config = config.replace(f"http://{name}:{port}", f"http://127.0.0.1:{mine}")
        banners = await asyncio.gather(*(_first_line(p) for p in sims.values()))
        assert all("http://127.0.0.1:" in line for line in banners), banners
        config = re.sub(r'redis_url = "[^"]+"', f'redis_url = "{redis_url}"', config)
        assert not re.search(r"http://(?!127\.0\.0\.1)", config), "a host left unrewritten"
        (tmp_path / "gateway.toml").write_text(config)

        env = {k: str(v) for k, v in services["gateway"]["environment"].items()}
        replicas = int(services["gateway"]["deploy"]["replicas"])
        ports = [free_port() for _ in range(replicas)]
        for port in ports:
            await processes.start(
                sys.executable, "-m", "tablegraph.cli", "serve",
                "--config", str(tmp_path / "gateway.toml"),
                "--host", "127.0.0.1", "--port", str(port),
                env=env,
            )  # fmt: skip
        await asyncio.gather(*(until_healthy(f"http://127.0.0.1:{p}") for p in ports))

        lb_port = free_port()
        text = (DOCKER / "nginx.conf").read_text()
        text = re.sub(r"^\s*resolver .*$", "", text, flags=re.M)  # Docker's DNS
        servers = "\n".join(f"    server 127.0.0.1:{p};" for p in ports)
        text = re.sub(r"^\s*server gateway:8080;$", servers, text, flags=re.M)
        text = re.sub(r"listen 8080;", f"listen 127.0.0.1:{lb_port};", text)
        paths = "\n".join(
            f"  {d}_temp_path {tmp_path}/{d};"
            for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        text = text.replace("http {", f"http {{\n  access_log off;\n{paths}", 1)
        (tmp_path / "nginx.conf").write_text(text)
        await processes.start(
            nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
            "-g", f"daemon off; pid {tmp_path}/nginx.pid; error_log stderr;",
        )  # fmt: skip
        lb = f"http://127.0.0.1:{lb_port}"
        await until_healthy(lb)
        yield lb
    finally:
        await processes.stop()


async def test_two_replicas_behind_the_load_balancer_share_one_redis(topology: str) -> None:
    async with httpx.AsyncClient(base_url=topology, timeout=60) as http:
        listed = await http.post(
            "/graphql", json={"query": "{ restaurants(first: 50) { nodes { upstream } } }"}
        )
        body = listed.json()
        assert "errors" not in body, body
        kinds = {r["upstream"].split("-")[0] for r in body["data"]["restaurants"]["nodes"]}
        assert kinds == set(available_simulators())

        day = quiet_weekday().isoformat()
        found = await http.post(
            "/graphql",
            json={
                "query": AVAILABILITY,
                "variables": {"ids": [BERLIN_MITTE], "date": day, "party": 2},
            },
        )
        slots = found.json()["data"]["availability"][0]["slots"]
        variables = {
            "input": {
                "restaurantId": BERLIN_MITTE,
                "start": slots[len(slots) // 2]["start"],
                "partySize": 2,
                "guest": {"firstName": "Lb", "lastName": "Replicas", "email": "lb@example.com"},
                "idempotencyKey": "5f0c2a8e-compose-topology",
            }
        }
        answers = []
        for _ in range(4):  # one after another: nginx's round robin alternates the replicas
            response = await http.post("/graphql", json={"query": CREATE, "variables": variables})
            answers.append(response.json()["data"]["createBooking"])
    assert answers[0]["userErrors"] == [], answers[0]
    assert all(a == answers[0] for a in answers)
