"""HTTP caching and compression of answers: reference reads over GET are cacheable with a
freshness from the gateway's cache and an ETag; bookings, guests and anything else are not."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from graphql import parse

from tablegraph.app import create_app
from tablegraph.gateway import Gateway
from tablegraph.graphql.schema import build_schema
from tablegraph.http.caching import reads_only_reference
from tablegraph.http.compression import choose_coding
from tablegraph.http.server import serve_app
from tablegraph.settings import GatewaySettings, HttpSettings
from tablegraph.simulators.vardvik import demo_upstreams

from ..auth_support import AUTH_HEADERS, TEST_KEY, all_scopes_auth
from ..test_core_units import FakeTimer
from .conftest import Api, Sim
from .helpers import BERLIN_MITTE, quiet_weekday

REFERENCE = (
    "{ restaurants { totalCount nodes { id name timezone address policy { minPartySize } "
    "openingHours { weekly { dayOfWeek opens closes } specialDays { date closed } } } } }"
)
ONE_RESTAURANT = "query($id: ID!) { restaurant(id: $id) { name ...P } } "
ONE_RESTAURANT += "fragment P on Restaurant { policy { maxPartySize } capabilities }"
BOOKINGS = (
    "query($r: ID!, $d: Date!) { bookings(restaurantId: $r, date: $d) { totalCount "
    "nodes { id guest { firstName } } } }"
)


@pytest.fixture
async def clocked(sim: Sim) -> AsyncIterator[tuple[Api, FakeTimer]]:
    clock = FakeTimer()
    settings = GatewaySettings(
        upstreams=tuple(demo_upstreams(sim.url)),
        http=HttpSettings(compress_min_bytes=200),
        auth=all_scopes_auth(),
    )
    gateway = Gateway(settings, timer=clock)
    app = create_app(gateway)
    runner, url = await serve_app(app, settings.http)
    api = Api(httpx.AsyncClient(base_url=url, timeout=30, headers=AUTH_HEADERS), gateway, app)
    yield api, clock
    await api.http.aclose()
    await runner.cleanup()


async def test_a_reference_query_over_get_is_cacheable_with_an_etag(
    clocked: tuple[Api, FakeTimer], sim: Sim
) -> None:
    api, clock = clocked
    first = await api.http.get("/graphql", params={"query": REFERENCE})
    assert first.status_code == 200, first.text
    assert first.headers["Cache-Control"] == "private, max-age=300"  # just loaded: the whole TTL
    tag = first.headers["ETag"]
    assert tag.startswith('W/"')
    vary = {v.strip() for v in first.headers["Vary"].split(",")}
    assert {"Accept", "Accept-Encoding", "Origin"} <= vary

    clock.now += 100  # the cached lists are 100 s old now
    second = await api.http.get("/graphql", params={"query": REFERENCE})
    assert second.headers["Cache-Control"] == "private, max-age=200"
    assert second.headers["ETag"] == tag  # same data, same tag (timings are not in it)

    calls = sim.count()
    revalidated = await api.http.get(
        "/graphql", params={"query": REFERENCE}, headers={"If-None-Match": tag}
    )
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["ETag"] == tag
    assert sim.count() == calls  # answered from the gateway's cache
    other = await api.http.get(
        "/graphql", params={"query": REFERENCE}, headers={"If-None-Match": 'W/"nope", "x"'}
    )
    assert other.status_code == 200


async def test_a_cacheable_answer_is_private_to_the_client_that_asked(
    clocked: tuple[Api, FakeTimer],
) -> None:
    # A client sees only its restaurants, and a key in X-Api-Key is no credential to a shared
    # cache: it must not store one client's answer for the next.
    api, _ = clocked
    url = str(api.http.base_url)
    async with httpx.AsyncClient(base_url=url, timeout=30, headers={"X-Api-Key": TEST_KEY}) as h:
        response = await h.get("/graphql", params={"query": REFERENCE})
    assert response.status_code == 200, response.text
    directives = {d.strip() for d in response.headers["Cache-Control"].split(",")}
    assert "private" in directives and "public" not in directives
    assert not any(d.startswith("s-maxage") for d in directives)


async def test_one_restaurant_with_a_fragment_is_cacheable(clocked: tuple[Api, FakeTimer]) -> None:
    api, _ = clocked
    response = await api.http.get(
        "/graphql",
        params={"query": ONE_RESTAURANT, "variables": f'{{"id": "{BERLIN_MITTE}"}}'},
    )
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"].startswith("private, max-age=")


@pytest.mark.parametrize(
    "query, variables",
    [
        (BOOKINGS, {"r": BERLIN_MITTE, "d": "DAY"}),
        ("query($r: ID!) { guests(restaurantId: $r) { totalCount } }", {"r": BERLIN_MITTE}),
        (
            "query($id: ID!, $d: Date!) { restaurant(id: $id) { name availability(date: $d, "
            "partySize: 2) { start } } }",
            {"id": BERLIN_MITTE, "d": "DAY"},
        ),
        ("{ upstreams { name status } }", {}),
        (
            "{ restaurants { nodes { name ...B } } } "
            "fragment B on Restaurant { ratingSummary { count } }",
            {},
        ),
        ('{ restaurant(id: "not-an-id") { name } }', {}),  # an answer with errors
    ],
)
async def test_anything_else_over_get_is_private_no_store(
    clocked: tuple[Api, FakeTimer], query: str, variables: dict[str, str]
) -> None:
    api, _ = clocked
    day = quiet_weekday().isoformat()
    filled = {k: (day if v == "DAY" else v) for k, v in variables.items()}
    response = await api.http.get(
        "/graphql", params={"query": query, "variables": json.dumps(filled)}
    )
    assert response.headers["Cache-Control"] == "private, no-store", response.text
    assert "ETag" not in response.headers


async def test_posts_and_refusals_are_not_stored(clocked: tuple[Api, FakeTimer]) -> None:
    api, _ = clocked
    posted = await api.http.post("/graphql", json={"query": REFERENCE})
    assert posted.headers["Cache-Control"] == "private, no-store"
    refused = await api.http.get(
        "/graphql",
        params={"query": "{ nope }"},
        headers={"Accept": "application/graphql-response+json"},  # refusals as 4xx
    )
    assert refused.status_code == 400
    assert refused.headers["Cache-Control"] == "private, no-store"


def test_reference_fields_are_checked_through_fragments_and_types() -> None:
    schema = build_schema()._schema
    ok = "{ restaurants { nodes { ...R } } } fragment R on Restaurant { policy { maxPartySize } }"
    assert reads_only_reference(parse(ok), schema)
    for query in (
        '{ ...Q } fragment Q on Query { booking(id: "x") { id } }',
        "{ restaurants { nodes { bookings { totalCount } } } }",
        '{ node(id: "x") { id } }',
        "{ __schema { types { name } } }",
        'mutation { cancelBooking(input: {bookingId: "x"}) { __typename } }',
    ):
        assert not reads_only_reference(parse(query), schema), query


# ---- compression -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accept, coding",
    [
        ("gzip", "gzip"),
        ("gzip, deflate", "gzip"),
        ("deflate, gzip;q=0.5", "gzip"),
        ("br;q=1.0, gzip;q=0.8", "br"),
        ("*", "br"),
        ("gzip;q=0", None),
        ("identity", None),
        ("", None),
    ],
)
def test_the_coding_follows_the_accept_encoding_q_values(accept: str, coding: str | None) -> None:
    assert choose_coding(accept) == coding


async def test_answers_are_compressed_as_the_client_accepts(clocked: tuple[Api, FakeTimer]) -> None:
    api, _ = clocked
    for accept, coding in (("gzip", "gzip"), ("br, gzip", "br"), ("identity", None)):
        response = await api.http.post(
            "/graphql", json={"query": REFERENCE}, headers={"Accept-Encoding": accept}
        )
        assert response.status_code == 200
        assert response.headers.get("Content-Encoding") == coding, accept
        assert response.json()["data"]["restaurants"]["totalCount"] >= 1  # decoded by httpx
    raw = await api.http.post(
        "/graphql", json={"query": REFERENCE}, headers={"Accept-Encoding": "gzip"}
    )
    async with api.http.stream(
        "POST", "/graphql", json={"query": REFERENCE}, headers={"Accept-Encoding": "gzip"}
    ) as streamed:
        packed = b"".join([part async for part in streamed.aiter_raw()])
    assert gzip.decompress(packed).startswith(b'{"data"')
    assert len(packed) < len(raw.content)
    small = await api.http.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers  # under compress_min_bytes
