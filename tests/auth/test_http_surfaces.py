"""Credentials at the HTTP layer and the operator's surfaces."""

from __future__ import annotations

from tablegraph.auth.config import AuthSettings
from tablegraph.auth.scopes import ALL_SCOPES, Scope

from .conftest import StartGw, client, key_of

READER = frozenset({Scope.RESTAURANTS_READ})


async def _gateway(start_gw: StartGw, anonymous: frozenset[Scope] | None = None):  # type: ignore[no-untyped-def]
    return await start_gw(
        AuthSettings(
            clients=(client("ops", ALL_SCOPES), client("reader", READER)),
            anonymous_scopes=anonymous,
        )
    )


async def test_missing_or_unknown_credentials_get_401(start_gw: StartGw) -> None:
    gw = await _gateway(start_gw)
    query = {"query": "{ restaurants { totalCount } }"}
    missing = await gw.http().post("/graphql", json=query)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="tablegraph"'
    assert missing.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # X-Client-Id is no identity.
    assert (
        await gw.http().post("/graphql", json=query, headers={"X-Client-Id": "ops"})
    ).status_code == 401
    for headers in (
        {"Authorization": "Bearer tgk_wrong"},
        {"Authorization": f"Basic {key_of('ops')}"},
        {"X-Api-Key": "tgk_wrong"},
    ):
        refused = await gw.http().post("/graphql", json=query, headers=headers)
        assert refused.status_code == 401, headers
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    # The key works as a bearer token and as X-Api-Key; GET queries need it too.
    for headers in (
        {"Authorization": f"Bearer {key_of('reader')}"},
        {"X-Api-Key": key_of("reader")},
    ):
        ok = await gw.http().post("/graphql", json=query, headers=headers)
        assert ok.status_code == 200 and ok.json()["data"]["restaurants"]["totalCount"] > 0
    assert (await gw.http().get("/graphql", params=query)).status_code == 401


async def test_anonymous_only_where_configured(start_gw: StartGw) -> None:
    gw = await _gateway(start_gw, anonymous=frozenset({Scope.RESTAURANTS_READ}))
    body = await gw.body(None, "{ restaurants { totalCount } }")
    assert body["data"]["restaurants"]["totalCount"] > 0
    refused = await gw.body(None, "{ upstreams { details } }")
    assert refused["errors"][0]["extensions"] == {"code": "FORBIDDEN", "scope": "admin"}
    # A wrong key is told, not silently downgraded to anonymous.
    wrong = await gw.http().post(
        "/graphql", json={"query": "{ restaurants { totalCount } }"}, headers={"X-Api-Key": "x"}
    )
    assert wrong.status_code == 401


async def test_operator_surfaces_need_admin(start_gw: StartGw) -> None:
    gw = await _gateway(start_gw)
    health = await gw.http().get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}

    assert (await gw.http().get("/metrics")).status_code == 401
    forbidden = await gw.http("reader").get("/metrics")
    assert forbidden.status_code == 403
    assert forbidden.json()["errors"][0]["extensions"] == {"code": "FORBIDDEN", "scope": "admin"}
    metrics = await gw.http("ops").get("/metrics")
    assert metrics.status_code == 200 and "tablegraph_upstream_requests_total" in metrics.text

    public = await gw.http().get("/readyz")
    assert public.status_code == 200 and public.json() == {"status": "ready"}
    assert (await gw.http("reader").get("/readyz")).json() == {"status": "ready"}
    detailed = (await gw.http("ops").get("/readyz")).json()
    assert detailed["upstreams"]["vardvik-berlin"]["ok"] is True

    body = await gw.body("reader", "{ upstreams { name details } }")
    assert [u["details"] for u in body["data"]["upstreams"]] == [None, None]
    assert len(body["errors"]) == 1
    body = await gw.body("ops", "{ upstreams { name details } }")
    assert "errors" not in body


async def test_no_server_banner_and_a_locked_down_graphiql_page(start_gw: StartGw) -> None:
    gw = await _gateway(start_gw)
    page = await gw.http().get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200  # the page itself is public; its queries carry the key
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self' 'nonce-" in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    for response in (page, await gw.http().get("/healthz"), await gw.http().post("/graphql")):
        assert response.headers.get("Server") == "tablegraph"
