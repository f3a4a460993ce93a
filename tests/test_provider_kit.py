"""The provider kit on its own: error tables, batching, paging, ids, options, webhook
signatures, and the upstream client's auth-replay, refused-write and breaker rules.

Upstreams are small aiohttp servers on 127.0.0.1 whose answers each test controls.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

import httpx
import pytest
from aiohttp import web

from tablegraph import deadline
from tablegraph.breaker import BreakerPolicy, CircuitBreaker, CircuitState
from tablegraph.errors import (
    BookingRejected,
    GatewayError,
    InvalidInput,
    InvalidState,
    NotFound,
    SlotUnavailable,
    UpstreamAuthError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tablegraph.providers.kit import (
    Caller,
    ErrorBody,
    ErrorTable,
    Page,
    ProviderOptions,
    Rule,
    Runtime,
    StaticAuth,
    batch_by_key,
    ids,
    in_key_order,
    offset_pages,
    webhooks,
)
from tablegraph.providers.kit.answers import MappedAnswers
from tablegraph.settings import ConfigError
from tablegraph.upstream import RetryPolicy, UpstreamClient

from .test_core_units import FakeTimer

# ---- error tables ------------------------------------------------------------------------


def _parse(response: httpx.Response) -> ErrorBody:
    body = response.json()
    return ErrorBody(code=body.get("code"), messages=tuple(body.get("errors", ())))


TABLE = ErrorTable(
    "Example",
    rules=(
        Rule(SlotUnavailable, status=409, code="slot_taken"),
        Rule(InvalidState, status=409, stable_code="NOT_CANCELLABLE", message="not cancellable"),
        Rule(InvalidInput, prefix="The start date", message="the start is not valid"),
        Rule(NotFound, status=404, message="not found at Example"),
        Rule(UpstreamAuthError, status=401, message="Example refused the key"),
    ),
    parse=_parse,
    show_provider_messages=True,
)


def _answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode())


def test_the_first_matching_rule_decides_class_code_and_message() -> None:
    taken = TABLE.error_for(_answer(409, {"code": "slot_taken"}), "up")
    assert type(taken) is SlotUnavailable and taken.code == "SLOT_UNAVAILABLE"
    other = TABLE.error_for(_answer(409, {"code": "locked"}), "up")
    assert type(other) is InvalidState and other.code == "NOT_CANCELLABLE"
    assert other.message == "not cancellable" and other.upstream == "up"
    assert other.details == {"providerStatus": 409, "providerCode": "locked"}
    prefixed = TABLE.error_for(_answer(400, {"errors": ["The start date is bad"]}), "up")
    assert type(prefixed) is InvalidInput and prefixed.message == "the start is not valid"


def test_an_unmatched_4xx_is_a_definite_refusal_with_the_providers_reason() -> None:
    refused = TABLE.error_for(_answer(400, {"errors": ["Needs one day of notice.\n"]}), "up")
    assert type(refused) is BookingRejected and refused.code == "REJECTED"
    assert refused.message == "Needs one day of notice."


def test_an_unreadable_error_body_still_maps_by_status_and_is_never_echoed() -> None:
    garbled = httpx.Response(404, content=b"<html>secret-token-123</html>")
    assert type(TABLE.error_for(garbled, "up")) is NotFound
    quiet = ErrorTable("Quiet", rules=(), parse=_parse)  # provider messages not trusted
    refused = quiet.error_for(_answer(422, {"errors": ["api_key=sk_live_1 is wrong"]}), "up")
    assert refused.message == "Quiet refused the request (422)"
    assert "sk_live_1" not in repr(refused.extensions)


# ---- batching and paging ------------------------------------------------------------------


async def test_batch_by_key_fetches_each_distinct_key_once_within_the_bound() -> None:
    running = 0
    peak = 0
    calls: list[str] = []

    async def fetch(key: str) -> str | None:
        nonlocal running, peak
        calls.append(key)
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0)
        running -= 1
        if key == "missing":
            raise NotFound("no", upstream="up")
        if key == "broken":
            raise UpstreamUnavailable("down", upstream="up")
        return key.upper()

    keys = ["a", "b", "a", "missing", "broken", "c", "d", "e"]
    got = await batch_by_key(keys, fetch, concurrency=2)
    assert got[:4] == ["A", "B", "A", None]
    assert isinstance(got[4], UpstreamUnavailable)
    assert got[5:] == ["C", "D", "E"]
    assert sorted(calls) == sorted(set(keys)) and peak <= 2


async def test_a_bug_in_a_batch_fetch_is_not_swallowed() -> None:
    async def fetch(key: str) -> str:
        raise KeyError(key)

    with pytest.raises(KeyError):
        await batch_by_key(["x"], fetch)


def test_in_key_order_fills_missing_keys_with_none() -> None:
    assert in_key_order(["b", "x", "a"], {"a": 1, "b": 2}) == [2, None, 1]


async def test_offset_pages_stop_at_a_short_page_the_total_or_the_cap() -> None:
    rows = list(range(23))
    asked: list[tuple[int, int]] = []

    async def fetch(offset: int, limit: int) -> Page[int]:
        asked.append((offset, limit))
        return Page(rows[offset : offset + limit])

    assert await offset_pages(fetch, page_size=10) == rows
    assert asked == [(0, 10), (10, 10), (20, 10)]

    async def exact(offset: int, limit: int) -> Page[int]:
        return Page(rows[offset : offset + limit][:limit], total=20)

    assert len(await offset_pages(exact, page_size=10)) == 20  # no third call past the total

    async def endless(offset: int, limit: int) -> Page[int]:
        return Page(list(range(offset, offset + limit)))

    assert len(await offset_pages(endless, page_size=10, max_rows=35)) == 35


def test_composite_ids_split_or_are_not_found() -> None:
    assert ids.split(ids.compose("rst_1", "loc_1"), 2, upstream="up") == ("rst_1", "loc_1")
    for bad in ("rst_1", "rst_1/", "/loc_1", ""):
        with pytest.raises(NotFound):
            ids.split(bad, 2, upstream="up")


# ---- options ------------------------------------------------------------------------------


class _Options(ProviderOptions):
    restaurant_ids: tuple[str, ...]
    ttl_seconds: float = 300.0


def test_typed_options_refuse_wrong_types_and_unknown_keys_naming_them() -> None:
    good = _Options.parse({"restaurant_ids": ["rst_1"]}, "up")
    assert good.restaurant_ids == ("rst_1",) and good.ttl_seconds == 300.0
    with pytest.raises(ConfigError, match=r"options\.restaurant_ids"):
        _Options.parse({"restaurant_ids": "rst_1"}, "up")
    with pytest.raises(ConfigError, match=r"options\.ttl_seconds"):
        _Options.parse({"restaurant_ids": ["a"], "ttl_seconds": "ten"}, "up")
    with pytest.raises(ConfigError, match=r"unknown option 'ttl'.*valid: restaurant_ids"):
        _Options.parse({"restaurant_ids": ["a"], "ttl": 1}, "up")


# ---- webhooks -----------------------------------------------------------------------------

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _signed(body: bytes, stamp: int, secret: str = "whsec") -> str:
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def test_timestamped_signatures_are_checked_for_key_body_and_age() -> None:
    body = b'{"id": "evt_1", "data": {}}'
    stamp = int(NOW.timestamp())
    ok = webhooks.verify_timestamped_hmac("whsec", _signed(body, stamp), body, NOW, upstream="up")
    assert ok[0] == stamp
    for header in (
        None,
        "garbage",
        _signed(body, stamp, "other"),
        _signed(body, stamp - 301),
        _signed(body + b" ", stamp),
    ):
        with pytest.raises(InvalidInput):
            webhooks.verify_timestamped_hmac("whsec", header, body, NOW, upstream="up")


def test_webhook_bodies_must_be_objects() -> None:
    assert webhooks.json_object(b'{"a": 1}', upstream="up") == {"a": 1}
    for bad in (b"[1]", b"not json", b"\xff", b"[" * 5000 + b"]" * 5000):
        with pytest.raises(InvalidInput):
            webhooks.json_object(bad, upstream="up")
    with pytest.raises(InvalidInput):
        webhooks.object_field({"data": [1, 2]}, "data", upstream="up")


# ---- the caller and the upstream client ----------------------------------------------------


class Scripted:
    """Answers from a script of (status, body, headers); counts requests and auth headers."""

    def __init__(self) -> None:
        self.script: list[tuple[int, object, Mapping[str, str]]] = []
        self.seen: list[tuple[str, str | None]] = []
        self.hang = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.headers.get("Authorization")))
        if not self.script:
            await self.hang.wait()
        status, body, headers = self.script.pop(0)
        return web.json_response(body, status=status, headers=dict(headers))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


@pytest.fixture
async def scripted(start_server: Callable[[web.Application], Awaitable[str]]):
    server = Scripted()
    server.url = await start_server(server.app())  # type: ignore[attr-defined]
    yield server
    server.hang.set()


class RotatingAuth:
    """Hands out token N; a refresh moves to token N+1."""

    def __init__(self, statuses: frozenset[int]) -> None:
        self.refresh_statuses = statuses
        self.token = 1
        self.refreshes = 0

    async def headers(self, client: UpstreamClient) -> Mapping[str, str]:
        return {"Authorization": f"Bearer t{self.token}"}

    async def refresh(self, client: UpstreamClient, stale: Mapping[str, str]) -> bool:
        self.refreshes += 1
        self.token += 1
        return True


async def test_the_auth_flow_decides_which_refusals_refresh_and_replay(scripted: Scripted) -> None:
    auth = RotatingAuth(frozenset({401, 403}))
    client = UpstreamClient("up", scripted.url, auth=auth)  # type: ignore[attr-defined]
    caller = Caller(client, TABLE)
    scripted.script = [(403, {}, {}), (200, {"ok": True}, {})]
    assert await caller.json("POST", "/bookings", json={}) == {"ok": True}
    assert scripted.seen == [("POST", "Bearer t1"), ("POST", "Bearer t2")]
    assert auth.refreshes == 1
    scripted.script = [(401, {}, {}), (401, {}, {})]  # still refused after one replay: final
    with pytest.raises(UpstreamAuthError):
        await caller.json("GET", "/x")
    assert auth.refreshes == 2
    await client.aclose()


async def test_a_static_key_is_never_refreshed(scripted: Scripted) -> None:
    client = UpstreamClient("up", scripted.url, auth=StaticAuth.bearer("k"))  # type: ignore[attr-defined]
    scripted.script = [(401, {}, {})]
    with pytest.raises(UpstreamAuthError):
        await Caller(client, TABLE).json("GET", "/x")
    assert len(scripted.seen) == 1
    await client.aclose()


async def test_a_refused_write_goes_again_only_where_the_policy_says_429_means_not_done(
    scripted: Scripted,
) -> None:
    waits: list[float] = []
    heard: list[float | None] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    policy = RetryPolicy(retry_after_unit=0.001, retry_refused_writes=True)
    client = UpstreamClient(
        "up",
        scripted.url,
        retry=policy,
        sleep=sleep,
        on_rate_limited=heard.append,  # type: ignore[attr-defined]
    )
    scripted.script = [(429, {}, {"Retry-After": "250"}), (201, {"id": "b1"}, {})]
    assert await Caller(client, TABLE).json("POST", "/bookings", json={}) == {"id": "b1"}
    assert heard == [0.25] and waits[0] >= 0.25
    await client.aclose()

    plain = UpstreamClient("up", scripted.url, sleep=sleep)  # type: ignore[attr-defined]
    scripted.script = [(429, {}, {"Retry-After": "1"})]
    with pytest.raises(UpstreamRateLimited):
        await plain.request("POST", "/bookings", json={})
    assert [m for m, _ in scripted.seen].count("POST") == 3  # two before, one now
    await plain.aclose()


async def test_the_callers_own_deadline_never_counts_against_the_upstream(
    scripted: Scripted,
) -> None:
    breaker = CircuitBreaker("up", BreakerPolicy(2, 10.0), timer=FakeTimer())
    client = UpstreamClient(
        "up",
        scripted.url,
        breaker=breaker,
        retry=RetryPolicy(attempts=1),  # type: ignore[attr-defined]
    )
    for _ in range(5):  # the scripted server hangs; each caller gives up after 20 ms
        with deadline.scope(0.02), pytest.raises(UpstreamTimeout):
            await client.request("GET", "/slow")
    assert breaker.state is CircuitState.CLOSED
    scripted.script = [(503, {}, {}), (503, {}, {})]
    for _ in range(2):
        with pytest.raises(UpstreamUnavailable):
            await client.request("GET", "/x")
    assert breaker.state is CircuitState.OPEN  # the upstream's own failures still count
    await client.aclose()


async def test_runtime_caches_are_shared_by_name_and_follow_the_runtime_clock() -> None:
    timer = FakeTimer()
    runtime = Runtime(monotonic=timer)
    first = runtime.cache("up.config", 10.0)
    assert runtime.cache("up.config", 10.0) is first
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        return loads

    assert await first.get_or_load("k", load) == 1
    assert await first.get_or_load("k", load) == 1
    timer.now += 11
    assert await first.get_or_load("k", load) == 2
    assert runtime.caches is not None and runtime.caches.invalidate("up.") == 1


def test_gateway_errors_carry_no_raw_body() -> None:
    err = TABLE.error_for(_answer(400, {"errors": ["x"], "token": "sk_live"}), "up")
    assert isinstance(err, GatewayError) and "sk_live" not in err.message


async def test_a_mapping_is_reused_only_while_the_body_is_byte_for_byte_the_same(
    scripted: Scripted,
) -> None:
    client = UpstreamClient("up", scripted.url, auth=StaticAuth.bearer("k"))  # type: ignore[attr-defined]
    caller = Caller(client, TABLE)
    answers = Runtime().answers("up.rows")
    built: list[object] = []

    def build(decoded: object) -> tuple[object, ...]:
        built.append(decoded)
        return (decoded,)

    async def get(day: str = "d1", key: str = "Europe/Oslo") -> tuple[object, ...]:
        return await caller.mapped(
            "/rows", params={"date": day}, answers=answers, key=key, build=build
        )

    scripted.script = [(200, {"rows": [1]}, {})] * 2 + [(200, {"rows": [1, 2]}, {})]
    first = await get()
    assert await get() is first  # the same bytes: the same models, nothing decoded
    assert await get() == ({"rows": [1, 2]},)  # one byte changed: decoded and mapped again
    assert len(built) == 2
    # Another day, or the same bytes read under another time zone, is another mapping.
    scripted.script = [(200, {"rows": [1, 2]}, {})] * 2
    await get(day="d2")
    await get(key="UTC")
    assert len(built) == 4 and len(scripted.seen) == 5  # every read still went upstream

    def broken(decoded: object) -> tuple[object, ...]:
        raise ValueError("a row the mapping cannot read")

    scripted.script = [(200, {"rows": [3]}, {})] * 2
    for _ in range(2):  # a failed mapping is not kept
        with pytest.raises(ValueError):
            await caller.mapped(
                "/rows", params={"date": "d3"}, answers=answers, key="", build=broken
            )

    answers.enabled = False  # the naive baseline: every answer mapped again
    scripted.script = [(200, {"rows": [1, 2]}, {})] * 2
    assert await get() is not await get()
    assert len(built) == 6
    await client.aclose()


def test_mapped_answers_are_bounded_by_size_least_recently_used_first() -> None:
    answers: MappedAnswers[str] = MappedAnswers(max_bytes=5 * 30 + 2)  # two 10-byte bodies
    body = b"0123456789"
    built: list[str] = []

    def build(name: str) -> Callable[[], str]:
        return lambda: built.append(name) or name

    for key in ("a", "b", "a", "c"):  # c pushes out b, the least recently used
        answers.mapped(key, body, build(key))
    answers.mapped("a", body, build("a"))
    answers.mapped("b", body, build("b"))
    assert built == ["a", "b", "c", "b"]
    # A body too large for the bound is mapped, and not kept (never an error).
    huge = b"x" * 100
    assert answers.mapped("h", huge, build("h")) == "h"
    assert answers.mapped("h", huge, build("h")) == "h"
    assert built[-2:] == ["h", "h"]
