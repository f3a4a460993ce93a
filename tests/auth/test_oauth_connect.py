"""Connecting a Libro account through the gateway: only an admin starts it, the state is
single-use and bound to the browser that started it, the callback URL never comes from the
Host header, and a connected account is replaced only with replace=true."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tablegraph.app import create_app
from tablegraph.auth.config import AuthSettings
from tablegraph.auth.scopes import ALL_SCOPES, Scope
from tablegraph.gateway import Gateway
from tablegraph.settings import GatewaySettings, StoreConfig
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import serve

from .conftest import client, key_of

ADMIN = {"Authorization": f"Bearer {key_of('ops')}"}


class Env:
    def __init__(self, gateway_url: str, libro_url: str, gateway: Gateway) -> None:
        self.url, self.libro, self.gateway = gateway_url, libro_url, gateway

    def browser(self, admin: bool = True) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=30, headers=ADMIN if admin else {})

    async def start(self, browser: httpx.AsyncClient, account: str, **extra: str) -> httpx.Response:
        return await browser.get(
            f"{self.url}/connect/libro-montreal", params={"account": account, **extra}
        )

    async def approve(self, browser: httpx.AsyncClient, authorize: str, login: str) -> str:
        """The owner approves at Libro; returns the callback URL Libro redirects to."""
        form = dict(parse_qsl(urlsplit(authorize).query))
        approved = await browser.post(
            f"{self.libro}/oauth/authorize", data={**form, "login": login, "decision": "approve"}
        )
        assert approved.status_code == 302
        return approved.headers["Location"]

    def accounts(self) -> dict[str, str]:
        details = self.gateway.providers["libro-montreal"].health_details()
        return dict(details["accounts"])


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    libro = simulator_module("libro")
    sim_runner, libro_url = await serve(libro.create_app(1))
    auth = AuthSettings(
        clients=(client("ops", ALL_SCOPES), client("reader", {Scope.RESTAURANTS_READ}))
    )
    gateway = Gateway(GatewaySettings(upstreams=tuple(libro.demo_upstreams(libro_url)), auth=auth))
    runner, url = await serve(create_app(gateway))
    yield Env(url, libro_url, gateway)
    await runner.cleanup()
    await sim_runner.cleanup()


async def test_only_an_admin_starts_a_connection(env: Env) -> None:
    async with env.browser(admin=False) as anonymous:
        refused = await env.start(anonymous, "bistro")
        assert refused.status_code == 401 and "WWW-Authenticate" in refused.headers
        reader = await anonymous.get(
            f"{env.url}/connect/libro-montreal",
            headers={"Authorization": f"Bearer {key_of('reader')}"},
        )
        assert reader.status_code == 403


async def test_state_is_single_use_and_bound_to_the_browser(env: Env) -> None:
    async with env.browser() as owner, env.browser(admin=False) as attacker:
        started = await env.start(owner, "bistro")
        assert started.status_code == 302
        cookie = started.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        callback = await env.approve(owner, started.headers["Location"], "owner-bistro")

        # The callback carried to another browser (no binding cookie, or a cookie of its own).
        stolen = await attacker.get(callback)
        assert stolen.status_code == 400 and env.accounts() == {}
        async with env.browser() as other_admin:  # a binding of its own, for its own state
            mine = await env.start(other_admin, "other")
        attacker.cookies.set("tg_connect", mine.cookies["tg_connect"])
        assert (await attacker.get(callback)).status_code == 400

        done = await owner.get(callback)
        assert done.status_code == 200, done.text
        assert env.accounts() == {"bistro": "connected"}
        reused = await owner.get(callback)
        assert reused.status_code == 400


async def test_a_forged_host_header_does_not_move_the_callback(env: Env) -> None:
    async with env.browser() as owner:
        started = await owner.get(
            f"{env.url}/connect/libro-montreal", headers={"Host": "evil.example"}
        )
        assert started.status_code == 302
        redirect_uri = dict(parse_qsl(urlsplit(started.headers["Location"]).query))["redirect_uri"]
        assert redirect_uri == f"{env.url}/connect/libro-montreal/callback"


async def test_public_base_url_decides_the_callback(env: Env) -> None:
    libro = simulator_module("libro")
    auth = AuthSettings(
        clients=(client("ops", ALL_SCOPES),), public_base_url="https://gw.example.com"
    )
    gateway = Gateway(GatewaySettings(upstreams=tuple(libro.demo_upstreams(env.libro)), auth=auth))
    runner, url = await serve(create_app(gateway))
    try:
        async with env.browser() as owner:
            started = await owner.get(
                f"{url}/connect/libro-montreal", headers={"Host": "evil.example"}
            )
            query = dict(parse_qsl(urlsplit(started.headers["Location"]).query))
            assert query["redirect_uri"] == "https://gw.example.com/connect/libro-montreal/callback"
            assert "Secure" in started.headers["Set-Cookie"]
    finally:
        await runner.cleanup()


async def test_a_connected_account_is_replaced_only_with_replace_true(env: Env) -> None:
    async with env.browser() as owner:
        first = await env.start(owner, "bistro")
        assert (
            await owner.get(await env.approve(owner, first.headers["Location"], "owner-bistro"))
        ).status_code == 200
        assert env.accounts() == {"bistro": "connected"}
        provider = env.gateway.providers["libro-montreal"]
        before = provider._conn.accounts["bistro"].refresh_token  # type: ignore[attr-defined]

        again = await env.start(owner, "bistro")
        refused = await owner.get(
            await env.approve(owner, again.headers["Location"], "owner-bistro")
        )
        assert refused.status_code == 409, refused.text
        assert provider._conn.accounts["bistro"].refresh_token == before  # type: ignore[attr-defined]

        # replace=true on the callback itself is ignored: only the start decides.
        again = await env.start(owner, "bistro")
        callback = await env.approve(owner, again.headers["Location"], "owner-bistro")
        assert (await owner.get(callback + "&replace=true")).status_code == 409

        replacing = await env.start(owner, "bistro", replace="true")
        done = await owner.get(
            await env.approve(owner, replacing.headers["Location"], "owner-bistro")
        )
        assert done.status_code == 200
        assert provider._conn.accounts["bistro"].refresh_token != before  # type: ignore[attr-defined]


async def test_an_admin_hands_a_browser_a_single_use_start_link(env: Env) -> None:
    async with env.browser() as admin, env.browser(admin=False) as browser:
        assert (await browser.post(f"{env.url}/connect/libro-montreal")).status_code == 401
        link = await admin.post(f"{env.url}/connect/libro-montreal", params={"account": "bistro"})
        assert link.status_code == 200
        url = link.json()["url"]
        assert url.startswith(f"{env.url}/connect/libro-montreal?") and "ticket=" in url
        # The browser has no credentials; the ticket is its permission to start, once.
        started = await browser.get(url)
        assert started.status_code == 302, started.text
        assert (await browser.get(url)).status_code == 401
        callback = await env.approve(browser, started.headers["Location"], "owner-bistro")
        assert (await browser.get(callback)).status_code == 200
        assert env.accounts() == {"bistro": "connected"}
        forged = await browser.get(f"{env.url}/connect/libro-montreal", params={"ticket": "x"})
        assert forged.status_code == 401


@pytest.fixture
async def two_gateways(tmp_path: Path) -> AsyncIterator[tuple[Env, Env]]:
    """Two gateways (two workers) sharing one SQLite store, in front of one Libro simulator."""
    libro = simulator_module("libro")
    sim_runner, libro_url = await serve(libro.create_app(1))
    auth = AuthSettings(clients=(client("ops", ALL_SCOPES),))
    store = StoreConfig("sqlite", str(tmp_path / "data"))
    runners, envs = [], []
    for _ in range(2):
        settings = GatewaySettings(
            upstreams=tuple(libro.demo_upstreams(libro_url)), auth=auth, store=store
        )
        gateway = Gateway(settings)
        runner, url = await serve(create_app(gateway))
        runners.append(runner)
        envs.append(Env(url, libro_url, gateway))
    yield envs[0], envs[1]
    for runner in runners:
        await runner.cleanup()
    await sim_runner.cleanup()


async def test_a_state_issued_by_one_worker_completes_once_on_another(
    two_gateways: tuple[Env, Env],
) -> None:
    first, second = two_gateways
    async with first.browser() as owner:
        started = await first.start(owner, "bistro")
        assert started.status_code == 302
        callback = await first.approve(owner, started.headers["Location"], "owner-bistro")
        on_second = callback.replace(first.url, second.url)
        assert on_second != callback
        done = await owner.get(on_second)
        assert done.status_code == 200, done.text
        assert second.accounts() == {"bistro": "connected"}
        # Used up for every worker sharing the store.
        for url in (on_second, callback):
            reused = await owner.get(url)
            assert reused.status_code == 400 and "already used" in reused.text


async def test_a_callback_racing_on_two_workers_proceeds_once(
    two_gateways: tuple[Env, Env],
) -> None:
    first, second = two_gateways
    async with first.browser() as owner:
        started = await first.start(owner, "bistro")
        callback = await first.approve(owner, started.headers["Location"], "owner-bistro")
        answers = await asyncio.gather(
            owner.get(callback), owner.get(callback.replace(first.url, second.url))
        )
    assert sorted(a.status_code for a in answers) == [200, 400]
    refused = next(a for a in answers if a.status_code == 400)
    assert "already used" in refused.text  # the guard refused it; Libro never saw the code


async def test_a_start_link_from_one_worker_opens_once_on_another(
    two_gateways: tuple[Env, Env],
) -> None:
    first, second = two_gateways
    async with first.browser() as admin, first.browser(admin=False) as browser:
        link = await admin.post(f"{first.url}/connect/libro-montreal", params={"account": "b"})
        url = link.json()["url"].replace(first.url, second.url)
        assert url.startswith(f"{second.url}/connect/libro-montreal?")
        started = await browser.get(url)
        assert started.status_code == 302, started.text
        assert (await browser.get(url)).status_code == 401
        again = await browser.get(url.replace(second.url, first.url))
        assert again.status_code == 401
