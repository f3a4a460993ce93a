"""Each simulator serves ``GET /openapi.json``: a valid OpenAPI 3 document listing exactly the
routes the simulator serves (control routes under ``/_sim/`` and aiohttp's implicit ``HEAD``
aside)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from tablegraph.providers import KINDS
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import serve
from tablegraph.simulators.openapi import OPENAPI_PATH


def _routes(app: Any) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical
        if route.method == "HEAD" or path.startswith("/_sim/") or path == OPENAPI_PATH:
            continue
        found.add((route.method, path))
    return found


@pytest.mark.parametrize("kind", KINDS)
async def test_the_document_is_openapi_3_and_lists_every_route(kind: str) -> None:
    app = simulator_module(kind).create_app(1)
    runner, url = await serve(app)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            response = await http.get(OPENAPI_PATH)  # no credentials
    finally:
        await runner.cleanup()
    assert response.status_code == 200
    doc = response.json()
    validate(doc)
    assert doc["openapi"].startswith("3.")
    documented = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert documented == _routes(app)


async def test_vardvik_answers_match_their_declared_schemas() -> None:
    """Where Vardvik's document declares an answer field by field (GraphQL Mesh composes over
    it in the benchmark), the simulator's real answers fit it."""
    from openapi_schema_validator import OAS30Validator

    from tablegraph.simulators.vardvik import demo_upstreams

    module = simulator_module("vardvik")
    app = module.create_app(1)
    runner, url = await serve(app)
    try:
        (config,) = demo_upstreams(url)[:1]
        key = config.credentials["api_key"].reveal()
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {key}"}
        ) as http:
            doc = (await http.get(OPENAPI_PATH)).json()
            rid = config.options["restaurant_ids"][0]
            prefix = "/api/v1/restaurants/{restaurantId}"
            answers = {
                f"{prefix}/config": await http.get(f"/api/v1/restaurants/{rid}/config"),
                f"{prefix}/reservations": await http.get(f"/api/v1/restaurants/{rid}/reservations"),
            }
            listed = answers[f"{prefix}/reservations"].json()["reservations"]
            assert listed, "the seed has reservations"
            answers["/api/v1/reservations/{idOrPublicReference}"] = await http.get(
                f"/api/v1/reservations/{listed[0]['id']}"
            )
    finally:
        await runner.cleanup()
    for path, response in answers.items():
        assert response.status_code == 200, (path, response.text)
        schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert "properties" in schema["schema"], path  # declared field by field
        OAS30Validator(schema["schema"]).validate(response.json())


async def test_a_client_following_libros_document_asks_in_the_media_type_libro_answers() -> None:
    """Libro answers 406 to any ``Accept`` but its vendor type: the document says which, so a
    gateway composed over it (Mesh sends the declared type as ``Accept``) is answered."""
    from tablegraph.simulators.harness import harness_of
    from tablegraph.simulators.libro import demo_upstreams

    app = simulator_module("libro").create_app(1)
    runner, url = await serve(app)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            doc = (await http.get(OPENAPI_PATH)).json()
            headers = await harness_of("libro").login(http, demo_upstreams(url)[0])
            (declared,) = doc["paths"]["/restricted/restaurants"]["get"]["responses"]["200"][
                "content"
            ]
            asked = await http.get(
                "/restricted/restaurants", headers={**headers, "Accept": declared}
            )
            plain = await http.get(
                "/restricted/restaurants", headers={**headers, "Accept": "application/json"}
            )
    finally:
        await runner.cleanup()
    assert asked.status_code == 200 and asked.json()["data"]
    assert plain.status_code == 406  # so the declared type is what made it pass
