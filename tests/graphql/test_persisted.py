"""Automatic persisted queries and trusted documents."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tablegraph.app import SCHEMA
from tablegraph.cli import main
from tablegraph.graphql.persisted import document_hash
from tablegraph.settings import Security
from tablegraph.simulators.vardvik import demo_upstreams

from .conftest import Api, Sim, start_gateway

QUERY = "query Upstreams { upstreams { name kind } }"
STRICT = {"Accept": "application/graphql-response+json"}


def persisted(sha: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


async def test_apq_round_trip(api: Api) -> None:
    sha = document_hash(QUERY)
    unknown = await api.http.post("/graphql", json={"extensions": persisted(sha)})
    assert unknown.status_code == 200
    (error,) = unknown.json()["errors"]
    # Apollo's clients look for this exact message before sending the document.
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    strict = await api.http.post("/graphql", json={"extensions": persisted(sha)}, headers=STRICT)
    assert strict.status_code == 400

    registered = await api.http.post(
        "/graphql", json={"query": QUERY, "extensions": persisted(sha)}
    )
    assert registered.json()["data"]["upstreams"][0]["kind"] == "vardvik"

    by_post = await api.http.post("/graphql", json={"extensions": persisted(sha)})
    assert by_post.json()["data"] == registered.json()["data"]
    # Hash-only GET: a URL a CDN can cache.
    by_get = await api.http.get(
        "/graphql", params={"extensions": json.dumps(persisted(sha)), "operationName": "Upstreams"}
    )
    assert by_get.status_code == 200
    assert by_get.json()["data"] == registered.json()["data"]
    by_id = await api.http.post("/graphql", json={"documentId": f"sha256:{sha}"})
    assert by_id.json()["data"] == registered.json()["data"]


async def test_a_hash_that_is_not_the_document_is_refused(api: Api) -> None:
    response = await api.http.post(
        "/graphql", json={"query": QUERY, "extensions": persisted("0" * 64)}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_an_invalid_document_is_not_registered(api: Api) -> None:
    bad = "{ nope }"
    sha = document_hash(bad)
    first = await api.http.post("/graphql", json={"query": bad, "extensions": persisted(sha)})
    assert first.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    again = await api.http.post("/graphql", json={"extensions": persisted(sha)})
    assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    "extensions", ["x", [1], {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}]
)
async def test_malformed_extensions_are_a_bad_request(api: Api, extensions: object) -> None:
    response = await api.http.post("/graphql", json={"query": QUERY, "extensions": extensions})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_apq_can_be_turned_off(sim: Sim) -> None:
    runner, api = await start_gateway(demo_upstreams(sim.url), security=Security(apq=False))
    try:
        response = await api.http.post(
            "/graphql", json={"query": QUERY, "extensions": persisted(document_hash(QUERY))}
        )
        assert response.json()["errors"][0]["extensions"]["code"] == (
            "PERSISTED_QUERY_NOT_SUPPORTED"
        )
    finally:
        await api.http.aclose()
        await runner.cleanup()


@pytest.fixture
async def trusted(sim: Sim, tmp_path: Path) -> AsyncIterator[tuple[Api, dict[str, str]]]:
    sources = tmp_path / "operations"
    sources.mkdir()
    (sources / "app.graphql").write_text(
        QUERY + "\nquery Names { restaurants(first: 2) { nodes { ...Name } } }\n"
        "fragment Name on Restaurant { name }\n"
    )
    manifest_path = tmp_path / "manifest.json"
    assert main(["documents", str(sources), "--output", str(manifest_path)]) == 0
    manifest = json.loads(manifest_path.read_text())
    security = Security(trusted_documents=str(manifest_path))
    runner, api = await start_gateway(demo_upstreams(sim.url), security=security)
    yield api, manifest
    await api.http.aclose()
    await runner.cleanup()


async def test_the_manifest_holds_each_operation_with_its_fragments(
    trusted: tuple[Api, dict[str, str]],
) -> None:
    _, manifest = trusted
    assert len(manifest) == 2
    names = next(d for d in manifest.values() if "Names" in d)
    assert "fragment Name on Restaurant" in names
    assert all(document_hash(d) == sha for sha, d in manifest.items())


async def test_trusted_mode_runs_listed_operations(trusted: tuple[Api, dict[str, str]]) -> None:
    api, manifest = trusted
    for sha, document in manifest.items():
        by_hash = await api.http.post("/graphql", json={"extensions": persisted(sha)})
        assert "errors" not in by_hash.json(), by_hash.text
        by_get = await api.http.get("/graphql", params={"documentId": f"sha256:{sha}"})
        assert by_get.json()["data"] == by_hash.json()["data"]
        by_text = await api.http.post("/graphql", json={"query": document})
        assert by_text.json()["data"] == by_hash.json()["data"]


async def test_trusted_mode_refuses_anything_else_before_parsing(
    trusted: tuple[Api, dict[str, str]],
) -> None:
    api, _ = trusted
    documents = api.app[SCHEMA].documents
    misses = documents.misses
    for query in (QUERY.replace("kind", ""), "{ upstreams { name ", "{ " * 3000):
        response = await api.http.post("/graphql", json={"query": query})
        assert response.status_code == 200
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        strict = await api.http.post("/graphql", json={"query": query}, headers=STRICT)
        assert strict.status_code == 400
    # APQ registration cannot sneak a document in either.
    sha = document_hash("{ upstreams { name } }")
    register = {"query": "{ upstreams { name } }", "extensions": persisted(sha)}
    response = await api.http.post("/graphql", json=register)
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    assert documents.misses == misses  # nothing reached the parser


async def test_the_apq_store_is_bounded_by_memory() -> None:
    from tablegraph.graphql.persisted import MemoryDocumentStore

    store = MemoryDocumentStore(max_bytes=10_000)
    big = "{ upstreams { name } }" + " " * 20_000
    await store.put(document_hash(big), big)
    assert await store.get(document_hash(big)) is None  # larger than the whole store
    texts = [f"query Q{i} {{ upstreams {{ name }} }}" for i in range(200)]
    for text in texts:
        await store.put(document_hash(text), text)
    assert await store.get(document_hash(texts[0])) is None  # the oldest were dropped
    assert await store.get(document_hash(texts[-1])) == texts[-1]
