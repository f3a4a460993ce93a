"""Reads started ahead for a request (``tablegraph.wanted``): taken once, by that request,
and cancelled when its execution ends without taking them."""

from __future__ import annotations

import asyncio

from tablegraph import wanted


async def test_a_read_started_ahead_is_taken_once_and_an_untaken_one_cancelled() -> None:
    release = asyncio.Event()

    async def read(value: str) -> str:
        await release.wait()
        return value

    with wanted.reading():
        wanted.ahead("page", lambda: read("first"))
        wanted.ahead("page", lambda: read("second"))  # one per key: the first stands
        wanted.ahead("other", lambda: read("other"))
        task = wanted.take("page")
        assert task is not None and wanted.take("page") is None
        release.set()
        assert await task == "first"
        left = wanted.take("other")
        assert left is not None
    assert await left == "other"  # taken inside: the request's own, whenever it awaits it
    # Nothing is read ahead outside a request.
    wanted.ahead("page", lambda: read("outside"))
    assert wanted.take("page") is None


async def test_an_untaken_read_is_cancelled_when_the_request_ends() -> None:
    started: list[asyncio.Task[None]] = []

    async def slow() -> None:
        started.append(asyncio.current_task())  # type: ignore[arg-type]
        await asyncio.sleep(60)

    with wanted.reading():
        wanted.ahead("untaken", slow)
        await asyncio.sleep(0)
    assert len(started) == 1
    await asyncio.gather(started[0], return_exceptions=True)
    assert started[0].cancelled()


async def test_guests_wanted_holds_inside_and_for_tasks_started_there() -> None:
    assert not wanted.guests_wanted()
    with wanted.guests(True):
        seen = await asyncio.create_task(_wanted())
        assert seen and wanted.guests_wanted()
    assert not wanted.guests_wanted()


async def _wanted() -> bool:
    return wanted.guests_wanted()
