"""Browsers: CORS for allowlisted origins (exact and wildcard subdomains), nothing for others,
and simple cross-site requests refused as before."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tablegraph.http.cors import CorsPolicy, parse_origin_pattern
from tablegraph.settings import ConfigError, CorsSettings, Limits, parse_settings
from tablegraph.simulators.vardvik import demo_upstreams

from .conftest import Api, Sim, start_gateway

ALLOWED = ("https://app.example.com", "https://*.tablegraph.test", "http://localhost:3000")
QUERY = {"query": "{ upstreams { name } }"}


@pytest.fixture
async def cors_api(sim: Sim) -> AsyncIterator[Api]:
    runner, api = await start_gateway(
        demo_upstreams(sim.url), cors=CorsSettings(allow_origins=ALLOWED)
    )
    yield api
    await api.http.aclose()
    await runner.cleanup()


def _preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": (
            "authorization, content-type, x-request-timeout-ms, traceparent"
        ),
    }


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com",
        "https://eu.tablegraph.test",
        "https://a.b.tablegraph.test",
        "http://localhost:3000",
    ],
)
async def test_a_preflight_from_an_allowed_origin_gets_the_cors_headers(
    cors_api: Api, origin: str
) -> None:
    response = await cors_api.http.options("/graphql", headers=_preflight(origin))
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST"}
    allowed = {h.lower() for h in response.headers["Access-Control-Allow-Headers"].split(", ")}
    assert allowed >= {"authorization", "content-type", "x-request-timeout-ms", "traceparent"}
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in response.headers
    # The actual request then carries the origin back, and the headers a page may read.
    actual = await cors_api.http.post("/graphql", json=QUERY, headers={"Origin": origin})
    assert actual.status_code == 200
    assert actual.headers["Access-Control-Allow-Origin"] == origin
    assert "Retry-After" in actual.headers["Access-Control-Expose-Headers"]
    assert "Origin" in actual.headers["Vary"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://tablegraph.test",  # the wildcard is for subdomains only
        "http://eu.tablegraph.test",  # another scheme
        "https://eu.tablegraph.test:8443",  # another port
        "https://eviltablegraph.test",
        "https://app.example.com.evil.example",
        "http://localhost:3001",
        "null",
    ],
)
async def test_other_origins_get_no_cors_headers(cors_api: Api, origin: str) -> None:
    preflight = await cors_api.http.options("/graphql", headers=_preflight(origin))
    assert preflight.status_code == 403
    assert not [h for h in preflight.headers if h.lower().startswith("access-control-")]
    actual = await cors_api.http.post("/graphql", json=QUERY, headers={"Origin": origin})
    assert actual.status_code == 200  # not a browser: it may call; a page cannot read it
    assert not [h for h in actual.headers if h.lower().startswith("access-control-")]


async def test_a_preflight_needs_no_credentials_and_a_401_is_readable_by_an_allowed_page(
    cors_api: Api,
) -> None:
    origin = "https://app.example.com"
    async with httpx.AsyncClient(base_url=cors_api.http.base_url, timeout=30) as browser:
        # A browser sends no Authorization with a preflight: it is answered all the same.
        preflight = await browser.options("/graphql", headers=_preflight(origin))
        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == origin
        # The actual request without (or with a wrong) key: 401 the page can read, challenge
        # included; a foreign origin's 401 gets no CORS headers.
        for headers in ({}, {"Authorization": "Bearer tgk_wrong"}):
            refused = await browser.post(
                "/graphql", json=QUERY, headers={"Origin": origin, **headers}
            )
            assert refused.status_code == 401
            assert refused.headers["Access-Control-Allow-Origin"] == origin
            exposed = refused.headers["Access-Control-Expose-Headers"]
            assert "WWW-Authenticate" in {h.strip() for h in exposed.split(",")}
            assert refused.headers["WWW-Authenticate"].startswith("Bearer")
            assert "Origin" in refused.headers["Vary"]
        foreign = await browser.post(
            "/graphql", json=QUERY, headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 401
        assert not [h for h in foreign.headers if h.lower().startswith("access-control-")]


async def test_a_429_is_readable_by_an_allowed_page(sim: Sim) -> None:
    runner, api = await start_gateway(
        demo_upstreams(sim.url),
        cors=CorsSettings(allow_origins=ALLOWED),
        limits=Limits(requests_per_minute=1),
    )
    origin = "http://localhost:3000"
    try:
        assert (await api.http.post("/graphql", json=QUERY)).status_code == 200
        limited = await api.http.post("/graphql", json=QUERY, headers={"Origin": origin})
        assert limited.status_code == 429
        assert limited.headers["Access-Control-Allow-Origin"] == origin
        assert "Retry-After" in limited.headers["Access-Control-Expose-Headers"]
    finally:
        await api.http.aclose()
        await runner.cleanup()


async def test_a_preflight_for_another_method_is_refused(cors_api: Api) -> None:
    response = await cors_api.http.options(
        "/graphql", headers=_preflight("https://app.example.com", "DELETE")
    )
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_no_allowlist_means_no_cross_origin_access(api: Api) -> None:
    response = await api.http.options("/graphql", headers=_preflight("https://app.example.com"))
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    "content_type, body",
    [
        (
            "text/plain",
            b'{"query": "mutation { cancelBooking(input: {bookingId: \\"x\\"}) { __typename } }"}',
        ),
        ("application/x-www-form-urlencoded", b"query=mutation+%7B+x+%7D"),
        ("multipart/form-data; boundary=x", b"--x\r\n\r\nq\r\n--x--\r\n"),
    ],
)
async def test_simple_cross_site_posts_stay_refused(
    cors_api: Api, content_type: str, body: bytes
) -> None:
    # A form or a fetch without a preflight can only send these content types: 415, and the
    # answer is unreadable to the page anyway (no CORS headers for a foreign origin).
    response = await cors_api.http.post(
        "/graphql",
        content=body,
        headers={"Content-Type": content_type, "Origin": "https://evil.example"},
    )
    assert response.status_code == 415
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_a_simple_cross_site_get_cannot_run_a_mutation(cors_api: Api) -> None:
    mutation = 'mutation { cancelBooking(input: {bookingId: "x"}) { userErrors { code } } }'
    response = await cors_api.http.get(
        "/graphql", params={"query": mutation}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 405
    assert "Access-Control-Allow-Origin" not in response.headers


def test_origin_patterns_in_the_config_are_checked() -> None:
    assert parse_origin_pattern("https://*.Example.com").wildcard
    for bad in ("https://*.com", "example.com", "https://app.example.com/path", "ftp://x.y", "*"):
        with pytest.raises(ValueError):
            parse_origin_pattern(bad)
    upstream = {"name": "v", "kind": "vardvik", "base_url": "http://127.0.0.1:1"}
    base = {"upstreams": [{**upstream, "options": {"restaurant_ids": ["rst_1"]}}]}
    settings = parse_settings({**base, "cors": {"allow_origins": ["https://*.example.com"]}}, {})
    assert settings.cors.allow_origins == ("https://*.example.com",)
    with pytest.raises(ConfigError, match="allow_origins"):
        parse_settings({**base, "cors": {"allow_origins": ["https://*.com"]}}, {})
    with pytest.raises(ConfigError, match="unknown key"):
        parse_settings({**base, "cors": {"allow_origin": []}}, {})
    with pytest.raises(ConfigError, match="unknown key"):
        parse_settings({**base, "http": {"header_timeout": 3}}, {})
    policy = CorsPolicy(CorsSettings(allow_origins=("https://*.example.com",)))
    assert policy.allows("https://a.example.com") and not policy.allows("https://example.com")
