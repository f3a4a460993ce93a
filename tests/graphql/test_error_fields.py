"""``userErrors.field`` is the input path of the field at fault, whichever adapter raised it
and in whichever shape: model names (``("guest", "email")``) or the GraphQL paths older
adapters used (``("input", "guest", "email")``, ``("partySize",)``). And a reschedule's key
compares instants, not how they were written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tablegraph import ids
from tablegraph.errors import InvalidInput
from tablegraph.graphql.fields import argument_path, input_path
from tests.conftest import StartServer

from .conftest import Api, Sim
from .helpers import AVAILABILITY, BERLIN_MITTE, CREATE, RESCHEDULE, guest, quiet_weekday
from .stacks import start_stack

UPSERT_GUEST = """
mutation($input: UpsertGuestInput!) {
  upsertGuest(input: $input) { guest { id } userErrors { code message field } }
}"""
PATCH = "PATCH /api/v1/reservations/{idOrPublicReference}"


# ---- the mapping -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "shown"),
    [
        (("guest", "email"), ["input", "guest", "email"]),
        (("input", "guest", "email"), ["input", "guest", "email"]),
        (("guest", "first_name"), ["input", "guest", "firstName"]),
        (("guest", "firstName"), ["input", "guest", "firstName"]),
        (("party_size",), ["input", "partySize"]),
        (("partySize",), ["input", "partySize"]),
        (("input", "partySize"), ["input", "partySize"]),
        (("area_id",), ["input", "areaId"]),
        (("areaId",), ["input", "areaId"]),
        (("idempotency_key",), ["input", "idempotencyKey"]),
        (("day",), ["input", "date"]),
        ((), ["input"]),
        (("input",), ["input"]),
        (None, None),
    ],
)
def test_input_paths(raised: tuple[str, ...] | None, shown: list[str] | None) -> None:
    assert input_path(raised) == shown
    assert input_path(shown) == shown  # mapping a mapped path changes nothing


def test_argument_paths() -> None:
    assert argument_path(("party_size",)) == ["partySize"]
    assert argument_path(("restaurant_ids", "3")) == ["restaurantIds", "3"]
    assert argument_path(["restaurantIds", "3"]) == ["restaurantIds", "3"]
    assert argument_path(("from",)) == ["from"]
    assert argument_path(()) is None and argument_path(None) is None


# ---- through the API -----------------------------------------------------------------------


def _create_input(n: int) -> dict[str, Any]:
    return {
        "restaurantId": BERLIN_MITTE,
        "start": f"{quiet_weekday().isoformat()}T19:00:00+01:00",
        "partySize": 2,
        "guest": guest(n),
    }


@pytest.mark.parametrize(
    ("shapes", "shown"),
    [
        ([("guest", "email"), ("input", "guest", "email")], ["input", "guest", "email"]),
        ([("party_size",), ("partySize",), ("input", "partySize")], ["input", "partySize"]),
        ([("area_id",), ("areaId",)], ["input", "areaId"]),
    ],
)
async def test_an_adapters_error_shows_one_path_whatever_shape_it_named(
    api: Api, monkeypatch: pytest.MonkeyPatch, shapes: list[tuple[str, ...]], shown: list[str]
) -> None:
    provider = api.gateway.provider("vardvik-berlin")
    fields: list[list[str]] = []
    for n, shape in enumerate(shapes):

        def refusing(shape: tuple[str, ...]) -> Callable[..., Any]:
            async def create_booking(*_args: Any) -> Any:
                raise InvalidInput("refused", upstream=provider.name, field=shape)

            return create_booking

        monkeypatch.setattr(provider, "create_booking", refusing(shape))
        out = (await api.data(CREATE, {"input": _create_input(n)}))["createBooking"]
        assert [e["code"] for e in out["userErrors"]] == ["INVALID_INPUT"], out
        fields.append(out["userErrors"][0]["field"])

    assert fields == [shown] * len(shapes)


async def test_the_gateways_own_checks_name_input_paths(api: Api) -> None:
    bad_guest = {**_create_input(1), "guest": {"firstName": " ", "lastName": "X"}}
    out = (await api.data(CREATE, {"input": bad_guest}))["createBooking"]
    assert out["userErrors"][0]["field"] == ["input", "guest", "firstName"]
    too_long = "k" * 256
    out = await api.data(CREATE, {"input": {**_create_input(2), "idempotencyKey": too_long}})
    assert out["createBooking"]["userErrors"][0]["field"] == ["input", "idempotencyKey"]


async def test_two_providers_one_path(start_server: StartServer) -> None:
    """Vardvik's and LibreBooking's adapters refuse the same missing e-mail (each in its own
    code, and Vardvik's once named ``("input", "guest", "email")``): the client sees one path."""
    shown = []
    for kind in ("vardvik", "librebooking"):
        stack, close = await start_stack(kind, start_server)
        try:
            restaurant = await stack.restaurant()
            variables = {
                "input": {
                    "restaurantId": stack.restaurant_id(restaurant),
                    "guest": {"firstName": "Ada", "lastName": "Lovelace", "phone": "+4790000001"},
                }
            }
            out = (await stack.api.data(UPSERT_GUEST, variables))["upsertGuest"]
        finally:
            await close()
        assert [e["code"] for e in out["userErrors"]] == ["INVALID_INPUT"], (kind, out)
        shown.append(out["userErrors"][0]["field"])
    assert shown == [["input", "guest", "email"]] * 2


async def test_a_reschedule_key_compares_instants_not_offsets(api: Api, sim: Sim) -> None:
    day = quiet_weekday().isoformat()
    data = await api.data(AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": 2})
    starts = [datetime.fromisoformat(s["start"]) for s in data["availability"][0]["slots"]]
    created = await api.data(
        CREATE,
        {
            "input": {
                "restaurantId": BERLIN_MITTE,
                "start": starts[0].isoformat(),
                "partySize": 2,
                "guest": guest(7),
            }
        },
    )
    booking = created["createBooking"]["booking"]
    target = starts[3]
    in_utc = target.astimezone(UTC).isoformat()
    in_new_york = target.astimezone(timezone(timedelta(hours=-5))).isoformat()
    assert in_utc != in_new_york
    patches = sim.count(PATCH)

    def move(start: str) -> dict[str, Any]:
        return {"input": {"bookingId": booking["id"], "start": start, "idempotencyKey": "mv-tz"}}

    first = (await api.data(RESCHEDULE, move(in_utc)))["rescheduleBooking"]
    replay = (await api.data(RESCHEDULE, move(in_new_york)))["rescheduleBooking"]
    other = (await api.data(RESCHEDULE, move(starts[4].isoformat())))["rescheduleBooking"]

    assert first["userErrors"] == [] and first["booking"]["id"] == booking["id"]
    assert datetime.fromisoformat(first["booking"]["start"]) == target
    assert replay == first
    assert [e["code"] for e in other["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert other["booking"] is None
    assert sim.count(PATCH) == patches + 1
    stored = sim.state.find_reservation(ids.decode(booking["id"]).native_id)
    assert stored is not None and stored.start == target
