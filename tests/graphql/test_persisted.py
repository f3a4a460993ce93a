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


async def test_a_registration_is_shared_between_gateways_and_survives_a_restart(
    sim: Sim, tmp_path: Path
) -> None:
    """Registered through gateway 1, run by hash alone on gateway 2 (same SQLite store), and on
    a gateway started afterwards on the same data directory."""
    from tablegraph.settings import StoreConfig

    store = StoreConfig("sqlite", str(tmp_path / "data"))
    sha = document_hash(QUERY)
    get_params = {"extensions": json.dumps(persisted(sha)), "operationName": "Upstreams"}
    first_runner, first = await start_gateway(demo_upstreams(sim.url), store=store)
    second_runner, second = await start_gateway(demo_upstreams(sim.url), store=store)
    try:
        unknown = await second.http.get("/graphql", params=get_params)
        assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
        registered = await first.http.post(
            "/graphql", json={"query": QUERY, "extensions": persisted(sha)}
        )
        assert registered.json()["data"]["upstreams"][0]["kind"] == "vardvik"
        by_get = await second.http.get("/graphql", params=get_params)
        assert by_get.status_code == 200
        assert by_get.json()["data"] == registered.json()["data"]
    finally:
        for api, runner in ((first, first_runner), (second, second_runner)):
            await api.http.aclose()
            await runner.cleanup()
    restarted_runner, restarted = await start_gateway(demo_upstreams(sim.url), store=store)
    try:
        again = await restarted.http.get("/graphql", params=get_params)
        assert again.json()["data"] == registered.json()["data"]
    finally:
        await restarted.http.aclose()
        await restarted_runner.cleanup()


class CountingStore:
    """A memory store that counts the reads it answers."""

    def __init__(self) -> None:
        from tablegraph.stores import MemoryStore

        self.inner = MemoryStore()
        self.gets = 0

    async def get(self, key: str) -> str | None:
        self.gets += 1
        return await self.inner.get(key)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        await self.inner.set(key, value, ttl)


async def test_the_shared_store_is_asked_once_per_hash_and_never_runs_a_tampered_text() -> None:
    from tablegraph.graphql.persisted import MemoryDocumentStore, SharedDocumentStore

    store = CountingStore()
    writer = SharedDocumentStore(store, MemoryDocumentStore())  # type: ignore[arg-type]
    reader = SharedDocumentStore(store, MemoryDocumentStore())  # type: ignore[arg-type]
    sha = document_hash(QUERY)
    await writer.put(sha, QUERY)
    assert await writer.get(sha) == QUERY and store.gets == 0  # its own LRU answered
    assert [await reader.get(sha) for _ in range(5)] == [QUERY] * 5
    assert store.gets == 1  # then the reader's LRU answered
    # A value in the store that is not the hash's document is not run.
    other = "{ upstreams { kind } }"
    await store.set(f"apq:{document_hash(other)}", QUERY)
    assert await reader.get(document_hash(other)) is None


async def test_a_failing_shared_store_reads_as_not_found_and_keeps_registrations_local() -> None:
    from tablegraph.graphql.persisted import MemoryDocumentStore, SharedDocumentStore

    class Down:
        async def get(self, key: str) -> str | None:
            raise ConnectionError("store unreachable")

        async def set(self, key: str, value: str, ttl: float | None = None) -> None:
            raise ConnectionError("store unreachable")

    documents = SharedDocumentStore(Down(), MemoryDocumentStore())  # type: ignore[arg-type]
    sha = document_hash(QUERY)
    assert await documents.get(sha) is None
    await documents.put(sha, QUERY)
    assert await documents.get(sha) == QUERY
