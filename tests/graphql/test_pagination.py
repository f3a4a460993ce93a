"""Connections page by cursor: ``edges { cursor node }``, ``pageInfo``, ``after`` — walking a
list page by page gives every item once, in order, whichever of ``nodes`` and ``edges`` is
asked."""

from __future__ import annotations

from .conftest import Api

PAGE = """
query($first: Int, $after: String) {
  restaurants(first: $first, after: $after) {
    totalCount
    nodes { id }
    edges { cursor node { id name } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def test_walking_the_pages_gives_every_item_once(api: Api) -> None:
    whole = (await api.data(PAGE, {"first": 100}))["restaurants"]
    assert whole["totalCount"] >= 3, "the seed has several restaurants"
    everyone = [n["id"] for n in whole["nodes"]]
    assert [e["node"]["id"] for e in whole["edges"]] == everyone
    assert whole["pageInfo"] == {"hasNextPage": False, "endCursor": whole["edges"][-1]["cursor"]}

    seen: list[str] = []
    after = None
    while True:
        page = (await api.data(PAGE, {"first": 2, "after": after}))["restaurants"]
        assert [e["node"]["id"] for e in page["edges"]] == [n["id"] for n in page["nodes"]]
        seen += [n["id"] for n in page["nodes"]]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        assert page["pageInfo"]["hasNextPage"] == (len(seen) < len(everyone))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == everyone


async def test_a_cursor_names_its_item(api: Api) -> None:
    whole = (await api.data(PAGE, {"first": 100}))["restaurants"]
    second = whole["edges"][1]
    after_second = (await api.data(PAGE, {"first": 1, "after": second["cursor"]}))["restaurants"]
    assert after_second["nodes"] == [whole["nodes"][2]]
    assert after_second["edges"][0]["cursor"] == whole["edges"][2]["cursor"]
