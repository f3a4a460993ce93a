"""Client-credentials tokens: cached, single-flight, renewed on expiry without caller errors."""

from __future__ import annotations

import asyncio

from tests.providers.libro_support import BISTRO, libro_env


async def test_one_token_call_for_100_concurrent_requests(start_server) -> None:
    async with libro_env(start_server, max_concurrency=100) as env:
        results = await asyncio.gather(*(env.provider.list_reviews(BISTRO) for _ in range(100)))
        assert all(len(r) == 8 for r in results)
        assert env.state.token_calls == ["client_credentials"]
        assert env.count("POST /oauth/token") == 1
        assert env.count("GET /restricted/restaurant/reviews") == 100


async def test_token_refreshed_before_expiry_by_clock(start_server) -> None:
    # The adapter reads the same clock: 60 s before expires_in it renews proactively.
    async with libro_env(start_server) as env:
        await env.provider.list_reviews(BISTRO)
        env.clock.advance(7200 - 59)
        await env.provider.list_reviews(BISTRO)
        assert env.state.token_calls == ["client_credentials", "client_credentials"]
        assert env.count("GET /restricted/restaurant/reviews") == 2  # no 401 round trip


async def test_token_expiring_mid_run_is_renewed_once_without_errors(start_server) -> None:
    async with libro_env(start_server) as env:
        # An adapter whose own clock does not know: the simulator's 401 drives the refresh.
        class Frozen:
            def __init__(self, clock):  # type: ignore[no-untyped-def]
                self.at = clock.now()

            def now(self):  # type: ignore[no-untyped-def]
                return self.at

        provider = env.new_provider(now=Frozen(env.clock).now, max_concurrency=100)
        try:
            await provider.list_reviews(BISTRO)
            env.clock.advance(7201)  # every token the simulator issued is now expired
            results = await asyncio.gather(*(provider.list_reviews(BISTRO) for _ in range(100)))
            assert [len(r) for r in results] == [8] * 100
            assert env.state.token_calls == ["client_credentials"] * 2
            # each of the 100 saw one 401 at most and was replayed once with the new token
            assert env.count("GET /restricted/restaurant/reviews") <= 1 + 100 + 100
        finally:
            await provider.close()


async def test_403_for_an_expired_token_also_refreshes_once(start_server) -> None:
    # DOC _errors.md: "403 Forbidden -- The token has expired or is invalid."
    async with libro_env(start_server, sim={"expired_status": 403}) as env:

        class Frozen:
            def __init__(self, clock):  # type: ignore[no-untyped-def]
                self.at = clock.now()

            def now(self):  # type: ignore[no-untyped-def]
                return self.at

        provider = env.new_provider(now=Frozen(env.clock).now)
        try:
            await provider.list_reviews(BISTRO)
            env.clock.advance(7201)
            reviews = await provider.list_reviews(BISTRO)
            assert len(reviews) == 8
            assert env.state.token_calls == ["client_credentials"] * 2
        finally:
            await provider.close()
