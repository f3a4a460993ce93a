"""``answer_unchanged_queries``: a query asked again is answered with its last answer only
after every upstream read it was built from has been sent again and answered the same — over
the benchmark's simulators, whose request counts show that no read is skipped or doubled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta

import httpx
import pytest
from graphql import get_operation_ast, parse

from tablegraph import ids
from tablegraph.app import REVALIDATED, SCHEMA
from tablegraph.gateway import Gateway
from tablegraph.graphql.revalidated import RevalidatedQueries
from tablegraph.graphql.schema import build_schema
from tablegraph.inputs import Inputs
from tablegraph.model import GuestData, NewBooking
from tablegraph.provenance import Provenance
from tablegraph.settings import GatewaySettings
from tablegraph.upstream import RetryPolicy
from tests.auth_support import headers_of
from tests.bench import workloads
from tests.bench.env import Env

from .bench_served import Served, serve_over

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _again(served: Served) -> RevalidatedQueries:
    kept: RevalidatedQueries = served.app[REVALIDATED]
    return kept


async def _serve(env: Env, *, on: bool = True, cost_per_minute: int = 50_000) -> Served:
    return await serve_over(env, answer_unchanged_queries=on, cost_per_minute=cost_per_minute)


@asynccontextmanager
async def _kept_then_slow(env: Env) -> AsyncIterator[tuple[Served, workloads.Request]]:
    """Served, with dashboard_one answered once (so kept), then 200 ms of upstream latency
    (revalidations stay in flight) until the block ends."""
    served = await _serve(env)
    request = workloads.dashboard_one(env)
    try:
        await served.answer(request)
        env.set_latency(200)
        yield served, request
    finally:
        env.set_latency(0)
        await served.close()


async def _read_in_flight(served: Served) -> None:
    """Until a revalidation's upstream read is in flight."""
    reads = served.gateway.reads_again
    assert reads is not None
    while reads.loading == 0:
        await asyncio.sleep(0.005)


def _vardvik_reads(env: Env) -> int:
    return env.counts()["vardvik"]


async def _book_elsewhere(env: Env, n: int) -> None:
    """A booking made at the upstream by someone else (another gateway, no shared store): no
    invalidation reaches the gateway under test."""
    rid, day = env.dashboard[list(env.upstreams).index("vardvik")]
    _type, upstream, native = ids.decode(rid)
    other = Gateway(GatewaySettings(upstreams=env.configs))
    await other.start()
    try:
        provider = other.provider(upstream)
        slots = await provider.get_availability(native, day, 2)
        await provider.create_booking(
            NewBooking(native, slots[0].start, 2, GuestData("Else", f"Where{n}", "e@w.x"), f"e{n}")
        )
    finally:
        await other.close()


async def test_an_unchanged_query_is_answered_again_after_every_read(env: Env) -> None:
    served = await _serve(env)
    request = workloads.dashboard_one(env)
    documents = served.app[SCHEMA].documents
    try:
        first = await served.answer(request)
        hits = documents.hits
        again = await served.answer(request)
        document_hits = documents.hits - hits  # the document was used without an execution
        reads = _vardvik_reads(env)
        await _book_elsewhere(env, 1)
        env.reset_counts()
        changed = await served.answer(request)
        reads_changed = _vardvik_reads(env)
        after = await served.answer(request)
        metrics = (await served.http.get("/metrics", headers=headers_of("a"))).text
    finally:
        await served.close()
    assert again["data"] == first["data"]
    assert reads == 2  # one read each: the answer given again was read again first
    upstream = again["extensions"]["upstreams"]["vardvik-berlin"]
    assert upstream["requests"] == 1 and upstream["status"] == "OK"
    assert again["extensions"]["cost"] == first["extensions"]["cost"]
    assert document_hits == 1
    # a booking made elsewhere changes the upstream's answer: executed, with the read already
    # made for the check (not a second one), and listed at once
    listed = len(first["data"]["bookings"]["nodes"])
    assert len(changed["data"]["bookings"]["nodes"]) == listed + 1
    assert reads_changed == 1
    assert after["data"] == changed["data"]
    assert (_again(served).hits, _again(served).misses) == (2, 1)
    assert 'tablegraph_cache_hits_total{cache="unchanged-queries"} 2.0' in metrics
    # every request after the first used the kept document, executed or answered again
    assert f'tablegraph_cache_hits_total{{cache="documents"}} {documents.hits}.0' in metrics
    assert documents.hits >= 3


async def test_a_failing_read_fails_the_query_instead_of_giving_the_kept_answer(
    env: Env,
) -> None:
    served = await _serve(env)
    request = workloads.dashboard_one(env)
    chaos = env.upstreams["vardvik"].url + "/_sim/chaos"
    try:
        await served.answer(request)
        async with httpx.AsyncClient() as sim:
            await sim.post(chaos, json={"kind": "error", "status": 503})
            env.reset_counts()
            failed = await served.answer(request)
            await sim.delete(chaos)
        reads = _vardvik_reads(env)
        recovered = await served.answer(request)
    finally:
        await served.close()
    assert [e["extensions"]["code"] for e in failed["errors"]] == ["UPSTREAM_UNAVAILABLE"]
    assert failed["data"]["bookings"] is None
    assert failed["extensions"]["upstreams"]["vardvik-berlin"]["status"] == "ERROR"
    # the check's failure is the execution's: its attempts are not made a second time
    assert reads == RetryPolicy().attempts
    assert (_again(served).hits, _again(served).misses) == (1, 1)  # the recovery's read matched
    assert "errors" not in recovered and recovered["data"]["bookings"]


async def test_an_answer_is_only_given_again_to_the_same_caller(env: Env) -> None:
    served = await _serve(env)
    request = workloads.dashboard_one(env)
    try:
        await served.answer(request, "a")
        await served.answer(request, "b")  # another caller: executes (and is kept for b)
        hits_after_b = _again(served).hits
        await served.answer(request, "b")
    finally:
        await served.close()
    assert hits_after_b == 0
    assert _again(served).hits == 1


async def test_the_cost_is_charged_as_if_executed(env: Env) -> None:
    served = await _serve(env)
    cost = (await served.answer(workloads.dashboard_one(env)))["extensions"]["cost"]
    await served.close()
    served = await _serve(env, cost_per_minute=3 * cost)  # the warm-up takes one
    request = workloads.dashboard_one(env)
    try:
        answers = [await served.post(request) for _ in range(3)]
    finally:
        await served.close()
    # executed, given again (charged), then over the budget
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert _again(served).hits == 1


async def test_fields_that_read_more_than_upstream_answers_are_never_given_again(
    env: Env,
) -> None:
    served = await _serve(env)
    rid = workloads.dashboard_one(env).variables["r"]
    day = (date.today() + timedelta(days=3)).isoformat()
    slots = workloads.Request(
        "query S($r: ID!, $d: Date!) { restaurant(id: $r) { name "
        "...F } } fragment F on Restaurant { availability(date: $d, partySize: 2) { start } }",
        {"r": rid, "d": day},
    )
    upstreams = workloads.Request("{ upstreams { name requestsSent } }", {})
    try:
        for request in (slots, slots, upstreams, upstreams):
            body = await served.answer(request)
            assert "errors" not in body, body
    finally:
        await served.close()
    assert (_again(served).hits, _again(served).misses, len(_again(served))) == (0, 0, 0)


async def test_off_every_query_executes(env: Env) -> None:
    served = await _serve(env, on=False)
    try:
        for _ in range(3):
            await served.answer(workloads.dashboard_one(env))
    finally:
        await served.close()
    assert _again(served).hits == 0 and len(_again(served)) == 0


@pytest.mark.parametrize(
    ("document", "repeatable"),
    [
        ("query Q($r: ID!) { restaurant(id: $r) { name bookings { nodes { id } } } }", True),
        (
            "{ restaurants { nodes { ...R } } } fragment R on Restaurant { name tables { id } }",
            True,
        ),
        ('{ reviews(restaurantId: "x") { nodes { rating } } __typename }', True),
        (
            '{ bookings(restaurantId: "x") { nodes { restaurant { ... on Restaurant '
            '{ availability(date: "2026-12-02", partySize: 2) { start } } } } } }',
            False,
        ),
        (
            "{ restaurants { nodes { ...A } } } fragment A on Restaurant { availability("
            'date: "2026-12-02", partySize: 2) { start } }',
            False,
        ),
        ("{ upstreams { name } }", False),
        ('{ node(id: "x") { id } }', False),
        ('{ booking(id: "x") { id } }', False),
        ('{ guests(restaurantId: "x") { nodes { id } } }', False),
        ("{ __schema { types { name } } }", False),
        ("{ restaurants { nodes { name } } upstreams { name } }", False),
    ],
)
async def test_only_fields_that_read_nothing_but_upstream_answers_are_eligible(
    document: str, repeatable: bool
) -> None:
    schema = build_schema()
    again = RevalidatedQueries(schema._schema, enabled=True)
    parsed = parse(document)
    operation = get_operation_ast(parsed)
    assert operation is not None
    assert again.repeatable(parsed, operation) is repeatable
    assert again.repeatable(parsed, operation) is repeatable  # remembered


async def test_an_expired_cache_entry_or_another_day_executes_again(env: Env) -> None:
    served = await _serve(env)
    request = workloads.dashboard_one(env)
    try:
        await served.answer(request)  # kept
        served.gateway.restaurant_lists.invalidate()  # as when its TTL runs out
        await served.answer(request)  # executes (and fills the cache: not kept)
        await served.answer(request)  # executes, kept
        executed = (_again(served).hits, _again(served).misses)
        tomorrow = date.today() + timedelta(days=1)
        _again(served).today = lambda: tomorrow
        await served.answer(request)  # another day: executes, kept
        await served.answer(request)
    finally:
        await served.close()
    assert executed == (0, 0)  # nothing was revalidated: nothing could be given again
    assert (_again(served).hits, _again(served).misses) == (1, 0)


async def test_concurrent_revalidations_share_one_read_until_a_booking_changes(
    env: Env,
) -> None:
    async with _kept_then_slow(env) as (served, request):
        env.reset_counts()
        polls = [asyncio.create_task(served.answer(request, "a")) for _ in range(5)]
        answers = await asyncio.gather(*polls)
        shared = _vardvik_reads(env)
        env.reset_counts()
        first = asyncio.create_task(served.answer(request, "a"))
        await _read_in_flight(served)
        rid = request.variables["r"]
        served.gateway.invalidate_availability("vardvik-berlin", ids.decode(rid).native_id)
        later = await served.answer(request, "a")  # begun after the change: reads anew
        await first
        after_change = _vardvik_reads(env)
    assert all("errors" not in a for a in answers)
    assert shared == 1
    assert _again(served).hits == 7
    assert after_change == 2 and "errors" not in later


async def test_what_is_kept_is_bounded_by_size_and_needs_a_clean_repeatable_execution() -> None:
    again = RevalidatedQueries(build_schema()._schema, enabled=True, max_bytes=64 * 1024)
    record = Provenance()
    record.touched("up")
    small = b'{"a": 1}'
    for n in range(3):
        again.keep(("q", n), Inputs(), {"a": 1}, small, 1, record)
    assert len(again) == 3
    again.keep(("big",), Inputs(), {}, b"x" * 20_000, 1, record)  # six times: past the budget
    assert again.recorded(("big",)) is None and len(again) == 3
    read = Inputs()
    read.cannot_repeat("filled a cache")
    again.keep(("q", 0), read, {"a": 1}, small, 1, record)  # unrepeatable: the old one goes
    assert again.recorded(("q", 0)) is None
    record.failed("up", "UPSTREAM_UNAVAILABLE")
    again.keep(("q", 5), Inputs(), {"a": 1}, small, 1, record)  # a failed upstream: not kept
    assert again.recorded(("q", 5)) is None and again.recorded(("q", 1)) is not None


async def test_a_cache_entry_dropped_while_the_reads_are_out_executes_the_query(
    env: Env,
) -> None:
    async with _kept_then_slow(env) as (served, request):
        poll = asyncio.create_task(served.answer(request))
        await _read_in_flight(served)
        served.gateway.restaurant_lists.invalidate()  # say, a profile changed meanwhile
        answer = await poll
    assert "errors" not in answer
    assert (_again(served).hits, _again(served).misses) == (0, 1)
