"""Libro tokens shared by workers through the gateway's store, renewed by one at a time.

Three adapters, each with its own handle on one SQLite file or one Redis (three workers), in
front of one Libro simulator. The simulator expires every access token at once; the three
receive a request together; the token call is held until all three have been refused, so the
two that did not win the lock are renewing at the same moment as the one that did. Exactly
one token call reaches the simulator — for a connected account a second refresh would present
a rotated-away refresh token and be refused — and every request succeeds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from cryptography.fernet import Fernet

from tablegraph.providers.libro import LibroProvider
from tablegraph.simulators.common import Clock
from tablegraph.simulators.libro import create_app
from tablegraph.stores import Store
from tablegraph.stores.sqlite import SqliteStore
from tests.providers.libro_support import BISTRO, NOW, Env, StartServer, connect_account
from tests.redis_server import redis_url

__all__ = ["redis_url"]  # the fixture, for this module's tests
KEY = Fernet.generate_key().decode()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Gate:
    """Simulator middleware: while armed, the token endpoint answers only once ``refused``
    API requests have been answered 401 (each worker has found its token dead)."""

    def __init__(self, refused: int) -> None:
        self.armed, self.needed, self.seen = False, refused, 0
        self.all_refused = asyncio.Event()

    async def hold(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.armed and request.path == "/oauth/token":
            await asyncio.wait_for(self.all_refused.wait(), 20)
        response = await handler(request)
        if self.armed and response.status == 401 and request.path.startswith("/restricted"):
            self.seen += 1
            if self.seen >= self.needed:
                self.all_refused.set()
        return response


@pytest.fixture(params=["sqlite", "redis"])
async def handles(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Store]]:
    """Three handles on one shared store, as three worker processes hold."""
    made: list[Store]
    if request.param == "sqlite":
        made = [SqliteStore(tmp_path / "shared") for _ in range(3)]
    else:
        from tablegraph.stores.redis import RedisStore

        url, prefix = request.getfixturevalue("redis_url"), f"t{uuid.uuid4().hex[:8]}:"
        made = [RedisStore(url, prefix=prefix) for _ in range(3)]
    yield made
    for store in made:
        await store.close()


async def _env(start_server: StartServer, gate: Gate) -> Env:
    clock = Clock(NOW)
    app = create_app(0, clock=clock, rate_limit=None)

    @web.middleware
    async def hold(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await gate.hold(request, handler)

    app.middlewares.insert(0, hold)  # outermost: it sees the simulator's 401 answers
    url = await start_server(app)
    return Env(None, app, url, clock)  # type: ignore[arg-type]


async def _workers(env: Env, handles: list[Store], **options: object) -> list[LibroProvider]:
    workers = [env.new_provider(store=h, token_store_key=KEY, **options) for h in handles]
    for worker in workers:
        await worker.start()
    return workers


async def _expire_every_token(env: Env) -> None:
    async with httpx.AsyncClient() as sim:
        assert (await sim.post(f"{env.url}/_sim/expire-tokens")).status_code == 200


async def test_one_refresh_of_a_connected_account_for_three_workers(
    start_server: StartServer, handles: list[Store]
) -> None:
    gate = Gate(refused=3)
    env = await _env(start_server, gate)
    workers = await _workers(env, handles, client_credentials=False)
    try:
        await connect_account(env, workers[0], start_server, "owner-bistro", "bistro")
        env.clock.advance(10)  # the other workers read the accounts again (every 5 s)
        # The access token is shared too: the other workers use the one the connection got.
        assert [len(await w.list_reviews(BISTRO)) for w in workers] == [8, 8, 8]
        assert env.state.token_calls == ["authorization_code"]

        await _expire_every_token(env)
        gate.armed = True
        results = await asyncio.gather(*(w.list_reviews(BISTRO) for w in workers))
        assert [len(r) for r in results] == [8, 8, 8]
        assert gate.seen == 3  # each worker was refused once, then used the one new token
        assert env.state.token_calls == ["authorization_code", "refresh_token"]
        assert [w.health_details() for w in workers] == [{"accounts": {"bistro": "connected"}}] * 3
        # The rotated refresh token was saved: after the next expiry a worker refreshes again.
        gate.armed = False
        await _expire_every_token(env)
        assert len(await workers[2].list_reviews(BISTRO)) == 8
        assert env.state.token_calls[-1] == "refresh_token"
    finally:
        for worker in workers:
            await worker.close()


async def test_one_client_credentials_token_for_three_workers(
    start_server: StartServer, handles: list[Store]
) -> None:
    gate = Gate(refused=3)
    env = await _env(start_server, gate)
    workers = await _workers(env, handles)
    try:
        assert [len(await w.list_reviews(BISTRO)) for w in workers] == [8, 8, 8]
        assert env.state.token_calls == ["client_credentials"]  # minted once, used by all

        await _expire_every_token(env)
        gate.armed = True
        results = await asyncio.gather(*(w.list_reviews(BISTRO) for w in workers))
        assert [len(r) for r in results] == [8, 8, 8]
        assert gate.seen == 3
        assert env.state.token_calls == ["client_credentials"] * 2
        # A worker started later (a restart) takes the saved token instead of minting one.
        restarted = env.new_provider(store=handles[0], token_store_key=KEY)
        workers.append(restarted)
        assert len(await restarted.list_reviews(BISTRO)) == 8
        assert env.state.token_calls == ["client_credentials"] * 2
    finally:
        for worker in workers:
            await worker.close()


async def test_the_store_holds_no_readable_token(
    start_server: StartServer, handles: list[Store]
) -> None:
    env = await _env(start_server, Gate(refused=1))
    workers = await _workers(env, handles)  # the partner account, and a connected one
    try:
        await connect_account(env, workers[0], start_server, "owner-bistro", "bistro")
        await workers[0].list_reviews(BISTRO)
        assert env.state.token_calls == ["client_credentials", "authorization_code"]
        secrets = [t for t in env.state.tokens] + list(env.state.refresh_tokens)
        assert secrets
        for key in ("tokens:libro-montreal", "tokens:libro-montreal:partner"):
            raw = await handles[1].get(key)
            assert raw is not None and not any(s in raw for s in secrets)
    finally:
        for worker in workers:
            await worker.close()


async def test_without_a_key_tokens_stay_in_the_process(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A shared store never gets a plaintext token: without a key each worker keeps its own."""
    env = await _env(start_server, Gate(refused=1))
    store = SqliteStore(tmp_path / "shared")
    worker = env.new_provider(store=store)
    try:
        assert len(await worker.list_reviews(BISTRO)) == 8
        assert await store.get("tokens:libro-montreal:partner") is None
        assert "no token key" in caplog.text
    finally:
        await worker.close()
        await store.close()


async def test_a_configured_token_file_stays_the_token_store(
    start_server: StartServer, tmp_path: Path
) -> None:
    """``token_store_path`` keeps the tokens in their own encrypted file, not the store."""
    env = await _env(start_server, Gate(refused=1))
    store, path = SqliteStore(tmp_path / "shared"), tmp_path / "tokens.sqlite3"
    worker = env.new_provider(store=store, token_store_key=KEY, token_store_path=str(path))
    try:
        assert len(await worker.list_reviews(BISTRO)) == 8
        assert await store.get("tokens:libro-montreal:partner") is None
        again = env.new_provider(token_store_key=KEY, token_store_path=str(path))
        try:  # the file alone gives a restarted worker the token
            assert len(await again.list_reviews(BISTRO)) == 8
        finally:
            await again.close()
        assert env.state.token_calls == ["client_credentials"]
    finally:
        await worker.close()
        await store.close()


async def test_the_demo_seals_libros_tokens_in_its_store(tmp_path: Path) -> None:
    from tablegraph.cli import launch_demo

    key, data_dir = "tgk_demo-0123456789abcdef", tmp_path / "demo"
    runners, _, gateway, upstreams = await launch_demo("127.0.0.1", 0, 1, key, str(data_dir))
    try:
        port = runners[-1].addresses[0][1]
        query = {"query": "{ restaurants(first: 50) { nodes { name } } }"}
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as http:
            answer = await http.post(f"http://127.0.0.1:{port}/graphql", json=query, timeout=30)
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
        raw = await gateway.store.get("tokens:libro-montreal:partner")
        assert raw is not None and "access_token" not in raw  # sealed
        assert (data_dir / "token.key").exists()
        # The banner prints the simulators' credentials: not the generated key.
        assert all("token_store_key" not in u.credentials for u in upstreams)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
