"""``share_identical_queries``: identical queries of one caller in flight answered by one
execution — never another caller's, never a mutation, each joiner charged its own cost — over
the benchmark's simulators with 200 ms of upstream latency (so the queries overlap)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tablegraph.app import SCHEMA, SHARED_QUERIES
from tablegraph.auth.identity import Identity
from tablegraph.graphql.shared_queries import SharedQueries
from tests.auth_support import headers_of
from tests.bench import workloads
from tests.bench.env import Env

from .bench_served import Served, serve_over

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _shared(served: Served) -> SharedQueries:
    shared: SharedQueries = served.app[SHARED_QUERIES]
    return shared


async def _serve(env: Env, *, share: bool = True, cost_per_minute: int = 50_000) -> Served:
    return await serve_over(env, share_identical_queries=share, cost_per_minute=cost_per_minute)


async def _at_once(
    env: Env, served: Served, clients: list[str], request: workloads.Request | None = None
) -> list[httpx.Response]:
    env.set_latency(200)
    try:
        return list(
            await asyncio.gather(
                *(served.post(request or workloads.dashboard_one(env), c) for c in clients)
            )
        )
    finally:
        env.set_latency(0)


async def test_identical_queries_of_one_caller_share_one_execution(env: Env) -> None:
    served = await _serve(env)
    documents = served.app[SCHEMA].documents
    try:
        hits = documents.hits
        answers = await _at_once(env, served, ["a"] * 5)
        metrics = (await served.http.get("/metrics", headers=headers_of("a"))).text
    finally:
        await served.close()
    assert _shared(served).joined == 4
    assert documents.hits == hits + 5  # each request used the known document, joiners too
    assert 'tablegraph_cache_hits_total{cache="queries"} 4.0' in metrics
    bodies = [a.json() for a in answers]
    assert all(b["data"] == bodies[0]["data"] and "errors" not in b for b in bodies)
    upstreams = [b["extensions"]["upstreams"]["vardvik-berlin"] for b in bodies]
    assert sorted(u["requests"] for u in upstreams) == [0, 0, 0, 0, 1]
    assert sum(u["cached"] and u["ageSeconds"] == 0 for u in upstreams) == 4
    assert all(b["extensions"]["cost"] == bodies[0]["extensions"]["cost"] for b in bodies)


async def test_another_callers_query_is_never_shared(env: Env) -> None:
    served = await _serve(env)
    try:
        answers = await _at_once(env, served, ["a", "b"])
    finally:
        await served.close()
    assert _shared(served).joined == 0
    assert answers[0].json()["data"] == answers[1].json()["data"]


async def test_off_unless_configured(env: Env) -> None:
    served = await _serve(env, share=False)
    try:
        await _at_once(env, served, ["a"] * 3)
    finally:
        await served.close()
    assert _shared(served).joined == 0


async def test_only_known_valid_queries_are_shareable(env: Env) -> None:
    """The operation's type is read from the document the schema has parsed and validated:
    a mutation is never shared, nor a document not seen yet."""
    served = await _serve(env)
    identity = Identity("a", frozenset())
    try:
        assert env.book_target is not None
        create = workloads.book_create(env, 7)
        made = (await served.post(create)).json()["data"]["createBooking"]["booking"]
        await served.post(workloads.book_cancel(made["id"], 7))
        shared = _shared(served)
        query = workloads.dashboard_one(env)
        assert shared.key(identity, "a", query.query, None, query.variables) is not None
        assert shared.key(identity, "a", create.query, None, create.variables) is None
        assert shared.key(identity, "a", "{ restaurants { totalCount } }", None, None) is None
    finally:
        await served.close()


async def test_each_joiner_is_charged_its_cost(env: Env) -> None:
    """A budget that holds two executions' cost: of three identical queries at once, the
    leader and one joiner are answered, the third is refused (429) like any request over it."""
    probe = await _serve(env)
    try:
        cost = (await probe.post(workloads.dashboard_one(env))).json()["extensions"]["cost"]
    finally:
        await probe.close()
    served = await _serve(env, cost_per_minute=int(3.5 * cost))  # the warm-up takes one
    try:
        answers = await _at_once(env, served, ["a"] * 3)
    finally:
        await served.close()
    assert _shared(served).joined == 2
    assert sorted(a.status_code for a in answers) == [200, 200, 429]


async def test_a_shared_answer_is_byte_for_byte_the_unshared_one(env: Env) -> None:
    """The data encoded once for every request an execution answers is spliced in as the
    same bytes an unshared answer has, and a reference answer keeps its ETag."""
    shown: dict[bool, list[httpx.Response]] = {}
    for share in (False, True):
        served = await _serve(env, share=share)
        try:
            shown[share] = await _at_once(env, served, ["a"] * 3)
            reference = {"query": workloads.reference(env).query}  # over GET: cacheable
            for _ in range(2):  # the second time a known document: shareable
                got = await served.http.get("/graphql", params=reference, headers=headers_of("a"))
            shown[share].append(got)
        finally:
            await served.close()
        assert _shared(served).joined == (2 if share else 0)
    for alone, shared in zip(shown[False], shown[True], strict=True):
        assert alone.status_code == shared.status_code == 200
        data_of = [r.content.split(b',"extensions":')[0] for r in (alone, shared)]
        assert data_of[0] == data_of[1]
        assert data_of[0].startswith(b'{"data":{') and len(data_of[0]) > 200
    assert shown[False][-1].headers["ETag"] == shown[True][-1].headers["ETag"]
