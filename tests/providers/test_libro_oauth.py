"""Authorization-code flow: connect, rotating refresh tokens, durable encrypted store."""

from __future__ import annotations

import httpx
import pytest
from aiohttp import web
from cryptography.fernet import Fernet

from tablegraph.errors import UpstreamAuthError
from tablegraph.providers.libro import libro_oauth_routes
from tablegraph.tokenstore import SqliteTokenStore
from tests.providers.libro_support import BISTRO, PLATEAU, connect_account, libro_env

KEY = Fernet.generate_key().decode()


def _live_refresh_tokens(env, user: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [g.value for g in env.state.refresh_tokens.values() if g.user == user and not g.used]


async def test_connect_refresh_rotation_and_revocation_marks_only_that_account(
    start_server,
) -> None:
    async with libro_env(start_server, client_credentials=False) as env:
        p = env.provider
        page = await connect_account(env, p, start_server, "owner-bistro", "bistro")
        assert "QC016214487921" in page
        await connect_account(env, p, start_server, "owner-plateau", "plateau")
        assert p.health_details() == {"accounts": {"bistro": "connected", "plateau": "connected"}}
        assert [r.native_id for r in await p.list_restaurants()] == [BISTRO, PLATEAU]
        assert env.state.token_calls == ["authorization_code"] * 2

        # Expiry: the account's token is renewed with its refresh token, which rotates.
        first = _live_refresh_tokens(env, "owner-bistro")
        env.clock.advance(7200)
        assert len(await p.list_reviews(BISTRO)) == 8
        assert env.state.token_calls[-1] == "refresh_token"
        rotated = _live_refresh_tokens(env, "owner-bistro")
        assert len(rotated) == 1 and rotated != first

        # The owner revokes the app at Libro: only that account needs reconnecting.
        async with httpx.AsyncClient() as sim:
            revoked = await sim.post(f"{env.url}/_sim/revoke", json={"user": "owner-bistro"})
            assert revoked.status_code == 200
        with pytest.raises(UpstreamAuthError) as err:
            await p.list_reviews(BISTRO)
        assert err.value.details == {"account": "bistro", "needsReconnect": True}
        assert len(await p.list_reviews(PLATEAU)) == 8
        assert p.health_details() == {
            "accounts": {"bistro": "needs_reconnect", "plateau": "connected"}
        }
        # No further token calls for a marked account; its restaurants fail fast.
        calls = len(env.state.token_calls)
        with pytest.raises(UpstreamAuthError):
            await p.get_availability(BISTRO, env.clock.now().date(), 2)
        assert len(env.state.token_calls) == calls
        # Reconnecting restores it.
        await connect_account(env, p, start_server, "owner-bistro", "bistro")
        assert p.health_details()["accounts"]["bistro"] == "connected"
        assert len(await p.list_reviews(BISTRO)) == 8


async def test_restart_keeps_accounts_and_the_file_holds_no_plain_token(
    start_server, tmp_path
) -> None:
    path = tmp_path / "tokens.sqlite3"
    async with libro_env(
        start_server, client_credentials=False, token_store_path=str(path), token_store_key=KEY
    ) as env:
        await connect_account(env, env.provider, start_server, "owner-plateau", "plateau")
        await env.provider.close()

        refresh = _live_refresh_tokens(env, "owner-plateau")[0]
        raw = path.read_bytes()
        assert refresh.encode() not in raw and b"refresh_token" not in raw
        assert b"QC016214487922" not in raw

        env.clock.advance(7200)  # the stored access token is stale by the time we restart
        again = env.new_provider(
            client_credentials=False, token_store_path=str(path), token_store_key=KEY
        )
        try:
            await again.start()
            assert again.health_details() == {"accounts": {"plateau": "connected"}}
            assert len(await again.list_reviews(PLATEAU)) == 8
            assert env.state.token_calls[-1] == "refresh_token"
        finally:
            await again.close()
        # The rotated refresh token was persisted: a third instance still gets in.
        env.clock.advance(7200)
        third = env.new_provider(
            client_credentials=False, token_store_path=str(path), token_store_key=KEY
        )
        try:
            assert len(await third.list_reviews(PLATEAU)) == 8
        finally:
            await third.close()
        # With another key the file is unreadable: no account.
        stranger = env.new_provider(
            client_credentials=False,
            token_store_path=str(path),
            token_store_key=Fernet.generate_key().decode(),
        )
        try:
            await stranger.start()
            assert stranger.health_details() == {"accounts": {}}
        finally:
            await stranger.close()


async def test_callback_with_unknown_state_is_refused(start_server) -> None:
    async with libro_env(start_server) as env:
        gateway = web.Application()
        gateway.add_routes(libro_oauth_routes(env.provider))
        gw = await start_server(gateway)
        async with httpx.AsyncClient() as browser:
            bad = await browser.get(
                f"{gw}/connect/libro-montreal/callback", params={"code": "x", "state": "forged"}
            )
            assert bad.status_code == 400
            denied = await browser.get(
                f"{gw}/connect/libro-montreal/callback", params={"error": "access_denied"}
            )
            assert denied.status_code == 400
        assert env.state.token_calls == []


async def test_sqlite_store_round_trip(tmp_path) -> None:
    store = SqliteTokenStore(tmp_path / "s.db", "any passphrase works")
    await store.save("up", "a", {"refresh_token": "r1"})
    await store.save("up", "a", {"refresh_token": "r2"})
    # Long enough that sealed bytes do not spell it by chance (two bytes, b"r3", once did).
    await store.save("other", "b", {"refresh_token": "rt-other-secret-3"})
    assert await store.load("up") == {"a": {"refresh_token": "r2"}}
    await store.delete("up", "a")
    assert await store.load("up") == {}
    assert await store.load("other") == {"b": {"refresh_token": "rt-other-secret-3"}}
    assert b"rt-other-secret" not in (tmp_path / "s.db").read_bytes()


async def test_a_connection_started_on_one_gateway_completes_on_another(start_server) -> None:
    """The ``state`` is signed, not remembered: any gateway process can take the callback."""
    from urllib.parse import parse_qsl, urlsplit

    async with libro_env(start_server, client_credentials=False) as env:
        other = env.new_provider(client_credentials=False)
        try:
            gateways = []
            for provider in (env.provider, other):
                app = web.Application()
                app.add_routes(libro_oauth_routes(provider))
                gateways.append(await start_server(app))
            async with httpx.AsyncClient() as browser:
                start = await browser.get(f"{gateways[0]}/connect/libro-montreal")
                authorize = start.headers["Location"]
                form = dict(parse_qsl(urlsplit(authorize).query))
                assert form["redirect_uri"] == f"{gateways[0]}/connect/libro-montreal/callback"
                approved = await browser.post(
                    f"{env.url}/oauth/authorize",
                    data={**form, "login": "owner-plateau", "decision": "approve"},
                )
                callback = approved.headers["Location"].replace(gateways[0], gateways[1])
                # 11 minutes later the state has expired
                env.clock.advance(660)
                late = await browser.get(callback)
                assert late.status_code == 400
                env.clock.advance(-660)
                done = await browser.get(callback)
                assert done.status_code == 200
            assert other.health_details() == {"accounts": {PLATEAU: "connected"}}
            assert env.provider.health_details() == {"accounts": {}}
        finally:
            await other.close()
