"""Provider HTTP routes are mounted on the gateway (Libro's OAuth connect flow)."""

from __future__ import annotations

from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import serve

from .conftest import Sim, start_gateway


async def test_libro_connect_redirects_to_the_authorize_page(sims: list[Sim]) -> None:
    libro = simulator_module("libro")
    app = libro.create_app(1)
    runner, url = await serve(app)
    gw_runner, api = await start_gateway(libro.demo_upstreams(url))
    try:
        response = await api.http.get("/connect/libro-montreal", follow_redirects=False)
        assert response.status_code == 302
        location = response.headers["location"]
        assert location.startswith(url)
        assert "response_type=code" in location and "state=" in location
        assert "client_secret" not in location
    finally:
        await api.http.aclose()
        await gw_runner.cleanup()
        await runner.cleanup()
