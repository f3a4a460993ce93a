"""``Restaurant.tables { id name seats minSeats area }`` for every provider that knows them;
null with one ``NOT_SUPPORTED`` error naming the upstream where the provider has no list; the
list is reference data (cached: a second read costs no upstream request)."""

from __future__ import annotations

from tablegraph.model import Capability

from .stacks import Stack

TABLES = """
query($id: ID!) {
  restaurant(id: $id) { name tables { id name seats minSeats area } }
}"""


async def test_restaurant_tables(stack: Stack) -> None:
    restaurant = await stack.restaurant()
    variables = {"id": stack.restaurant_id(restaurant)}
    body = await stack.api.query(TABLES, variables)
    listed = body["data"]["restaurant"]["tables"]
    if Capability.TABLES not in restaurant.capabilities:
        assert listed is None
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "NOT_SUPPORTED"
        assert error["extensions"]["upstream"] == stack.upstream
        assert error["path"] == ["restaurant", "tables"]
        return
    assert "errors" not in body, body["errors"]
    upstream = await stack.provider.list_tables(restaurant.native_id)
    assert [t["id"] for t in listed] == [t.native_id for t in upstream]
    assert all(t["name"] and (t["seats"] is None or t["seats"] >= 1) for t in listed)
    assert any(t["area"] for t in listed), "the seeded tables stand in named areas"
    before = stack.requests()
    assert (await stack.api.query(TABLES, variables))["data"]["restaurant"]["tables"] == listed
    assert stack.requests() == before  # served from the reference cache
