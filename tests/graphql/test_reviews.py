"""Reviews and the rating summary through GraphQL (Libro has reviews; Vardvik has none)."""

from __future__ import annotations

from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import serve

from .conftest import Api, Sim, start_gateway
from .helpers import BERLIN_MITTE

QUERY = """query($id: ID!) { restaurant(id: $id) {
  reviews(first: 100) { totalCount nodes { rating subRatings { name rating } } }
  ratingSummary { count average subRatings { name rating } } } }"""


async def test_rating_summary_matches_the_reviews(sims: list[Sim]) -> None:
    libro = simulator_module("libro")
    runner, url = await serve(libro.create_app(1))
    gw_runner, api = await start_gateway(libro.demo_upstreams(url))
    try:
        restaurants = await api.data("{ restaurants { nodes { id provider } } }")
        rid = restaurants["restaurants"]["nodes"][0]["id"]
        data = (await api.data(QUERY, {"id": rid}))["restaurant"]
        ratings = [n["rating"] for n in data["reviews"]["nodes"]]
        assert ratings and data["ratingSummary"]["count"] == len(ratings)
        assert data["ratingSummary"]["average"] == round(sum(ratings) / len(ratings), 2)
        assert {s["name"] for s in data["ratingSummary"]["subRatings"]} == {
            s["name"] for n in data["reviews"]["nodes"] for s in n["subRatings"]
        }
    finally:
        await api.http.aclose()
        await gw_runner.cleanup()
        await runner.cleanup()


async def test_reviews_of_a_provider_without_them_are_not_supported(api: Api) -> None:
    body = await api.query(QUERY, {"id": BERLIN_MITTE})
    assert body["data"]["restaurant"] == {"reviews": None, "ratingSummary": None}
    assert {e["extensions"]["code"] for e in body["errors"]} == {"NOT_SUPPORTED"}
