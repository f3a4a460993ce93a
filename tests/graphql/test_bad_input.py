"""Bad input gets a clean GraphQL error with a stable code and the right HTTP status."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tablegraph import ids
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import serve

from .conftest import Api, Sim, start_gateway
from .helpers import AVAILABILITY, BERLIN_MITTE, CREATE, guest, quiet_weekday

RESTAURANT = "query($id: ID!) { restaurant(id: $id) { name } }"


def _clean(text: str) -> None:
    assert "Traceback" not in text
    assert 'File "' not in text
    assert "demo-key" not in text  # the upstream credential
    assert "Bearer" not in text


#: GraphQL over HTTP: a refused document answers 200 in application/json, 4xx in this one.
STRICT = {"Accept": "application/graphql-response+json"}


async def _error(api: Api, query: str, variables: dict, status: int = 200, **kw: object) -> dict:
    response = await api.post(query, variables, **kw)
    _clean(response.text)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errors"], body
    return body["errors"][0]


@pytest.mark.parametrize(
    "bad_id",
    ["not-a-global-id", "%%%", ids.encode("Booking", "vardvik-berlin", "res_1"), "x" * 600],
)
async def test_malformed_or_foreign_ids(api: Api, bad_id: str) -> None:
    error = await _error(api, RESTAURANT, {"id": bad_id})
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["path"] == ["restaurant"]


@pytest.mark.parametrize("native", ["a\x02b", "res_1\n", "\x00"])
async def test_booking_id_with_a_control_character(api: Api, sim: Sim, native: str) -> None:
    # Found by the fuzzer: the native id went into the upstream URL and httpx refused it
    # (InvalidURL), which surfaced as an internal error and an ERROR log.
    before = sim.count()
    error = await _error(
        api,
        "query($id: ID!) { booking(id: $id) { id } }",
        {"id": ids.encode("Booking", "vardvik-berlin", native)},
    )
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert sim.count() == before  # refused before any upstream call


@pytest.mark.parametrize(
    "native, upstream", [("rst_1/loc_99", "vardvik-berlin"), ("rst_1/loc_1", "nowhere")]
)
async def test_unknown_restaurant(api: Api, native: str, upstream: str) -> None:
    error = await _error(api, RESTAURANT, {"id": ids.encode("Restaurant", upstream, native)})
    assert error["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("party", [0, -1, 10_000])
async def test_absurd_party_sizes(api: Api, party: int) -> None:
    day = quiet_weekday().isoformat()
    error = await _error(api, AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": party})
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["extensions"]["field"] == ["partySize"]


async def test_party_size_2_to_the_31_is_a_coercion_error(api: Api) -> None:
    day = quiet_weekday().isoformat()
    variables = {"ids": [BERLIN_MITTE], "date": day, "party": 2**31}
    error = await _error(api, AVAILABILITY, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await _error(api, AVAILABILITY, variables, status=400, headers=STRICT)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("day", ["1900-01-01", "2999-12-31"])
async def test_dates_far_outside_any_booking_window(api: Api, day: str) -> None:
    error = await _error(api, AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": 2})
    assert error["extensions"]["code"] == "INVALID_INPUT"


async def test_a_date_that_does_not_exist(api: Api) -> None:
    variables = {"ids": [BERLIN_MITTE], "date": "2026-02-30", "party": 2}
    error = await _error(api, AVAILABILITY, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await _error(api, AVAILABILITY, variables, status=400, headers=STRICT)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_create_with_bad_input_gets_user_errors(api: Api, sim: Sim) -> None:
    count = sim.state.reservation_count()
    cases = [
        ({"partySize": 0}, "INVALID_INPUT", ["input", "partySize"]),
        ({"partySize": 10_000}, "INVALID_INPUT", ["input", "partySize"]),
        ({"partySize": 40}, "OUTSIDE_POLICY", ["input", "partySize"]),
        ({"start": "1900-01-01T19:00:00+01:00"}, "INVALID_INPUT", ["input", "start"]),
        ({"start": "2026-01-01T19:00:00"}, "INVALID_INPUT", ["input", "start"]),
        ({"restaurantId": "bogus"}, "INVALID_INPUT", ["input", "restaurantId"]),
        (
            {"guest": {"firstName": " ", "lastName": "X"}},
            "INVALID_INPUT",
            ["input", "guest", "first_name"],
        ),
    ]
    for change, code, field in cases:
        payload = {
            "restaurantId": BERLIN_MITTE,
            "start": f"{quiet_weekday().isoformat()}T19:00:00+01:00",
            "partySize": 2,
            "guest": guest(),
            **change,
        }
        response = await api.post(CREATE, {"input": payload})
        _clean(response.text)
        result = response.json()["data"]["createBooking"]
        assert [e["code"] for e in result["userErrors"]] == [code], (change, result)
        assert result["userErrors"][0]["field"][:2] == field[:2]
        assert result["booking"] is None
    assert sim.state.reservation_count() == count


async def test_malformed_json_body(api: Api) -> None:
    response = await api.http.post(
        "/graphql",
        content=b'{"query": "{ upstreams { name } ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_wrong_content_type(api: Api) -> None:
    response = await api.http.post(
        "/graphql", content=b"{ upstreams { name } }", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_two_megabyte_query(api: Api) -> None:
    query = "{ upstreams { name } }" + " " * (2 * 1024 * 1024)
    response = await api.http.post("/graphql", json={"query": query})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


async def test_query_over_the_document_limit(api: Api) -> None:
    query = "{ upstreams { name } }" + "#" * 200_000
    response = await api.http.post("/graphql", json={"query": query})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"


async def test_deeply_nested_query(api: Api) -> None:
    inner = "id"
    for _ in range(10):
        inner = f'restaurant {{ bookings(date: "2026-12-01") {{ nodes {{ {inner} }} }} }}'
    query = f'{{ booking(id: "x") {{ {inner} }} }}'
    for headers, status in (({}, 200), (STRICT, 400)):
        response = await api.http.post("/graphql", json={"query": query}, headers=headers)
        _clean(response.text)
        assert response.status_code == status
        assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
        assert "data" not in response.json()


@pytest.mark.parametrize("headers, status", [({}, 200), (STRICT, 400)])
async def test_syntax_error_and_unknown_field(api: Api, headers: dict, status: int) -> None:
    response = await api.http.post(
        "/graphql", json={"query": "{ upstreams { name "}, headers=headers
    )
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "data" not in response.json()
    response = await api.http.post("/graphql", json={"query": "{ secrets }"}, headers=headers)
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_non_object_body_and_missing_query(api: Api) -> None:
    for body in (b"[1, 2]", b'"query"', b"{}", json.dumps({"query": 5}).encode()):
        response = await api.http.post(
            "/graphql", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_list_arguments_are_capped(api: Api) -> None:
    day = quiet_weekday().isoformat()
    error = await _error(api, AVAILABILITY, {"ids": [BERLIN_MITTE] * 21, "date": day, "party": 2})
    assert error["extensions"]["code"] == "INVALID_INPUT"
    error = await _error(api, "{ restaurants(first: 5000) { totalCount } }", {})
    assert error["extensions"]["code"] == "INVALID_INPUT"


@pytest.mark.parametrize("suffix", ["", "?x=1", "#f", " "])
async def test_libro_booking_ids_that_would_name_another_resource(
    sims: list[Sim], suffix: str
) -> None:
    # Found by the fuzzer: booking(id: base64("Booking:libro-montreal:.")) fetched Libro's
    # ".../bookings/." (its booking list) and answered with some other booking; a real id plus
    # "?x=1" answered with that booking under an id that is not its own.
    libro = simulator_module("libro")
    runner, url = await serve(libro.create_app(1))
    gw_runner, api = await start_gateway(libro.demo_upstreams(url))
    try:
        natives = [".", "x/../../restaurants"] if not suffix else []
        if suffix:
            listing = await api.data("{ restaurants { nodes { id } } }")
            rid = listing["restaurants"]["nodes"][0]["id"]
            day = (date.today() + timedelta(days=2)).isoformat()
            page = await api.data(
                "query($r: ID!, $d: Date!) { bookings(restaurantId: $r, date: $d) "
                "{ nodes { id } } }",
                {"r": rid, "d": day},
            )
            natives = [ids.decode(page["bookings"]["nodes"][0]["id"]).native_id + suffix]
        for native in natives:
            error = await _error(
                api,
                "query($id: ID!) { booking(id: $id) { id } }",
                {"id": ids.encode("Booking", "libro-montreal", native)},
            )
            assert error["extensions"]["code"] == "INVALID_INPUT", native
    finally:
        await api.http.aclose()
        await gw_runner.cleanup()
        await runner.cleanup()


@pytest.mark.parametrize("operation", ["A", "Nope"])
async def test_operation_name_that_names_no_operation(api: Api, operation: str) -> None:
    # Found by the fuzzer: {"query": "query Fuzz { ... }", "operationName": "A"} made
    # Strawberry raise CannotGetOperationTypeError: HTTP 500 and "Error handling request".
    for headers, status in (({}, 200), (STRICT, 400)):
        response = await api.http.post(
            "/graphql",
            json={"query": "query Fuzz { upstreams { name } }", "operationName": operation},
            headers=headers,
        )
        _clean(response.text)
        assert response.status_code == status, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "\\ud800"}',
        b'{"query": "{ upstreams { name } } # \\udfff"}',
        (
            b'{"query": "query($s: String) { restaurants(search: $s) { totalCount } }",'
            b' "variables": {"s": "x\\ud800y"}}'
        ),
    ],
)
async def test_unpaired_surrogate_escapes_are_a_bad_request(api: Api, body: bytes) -> None:
    # Found by the fuzzer: {"query": "\ud800"} (a JSON escape of half a UTF-16 pair) crashed
    # the query size check with UnicodeEncodeError: HTTP 500 and "Error handling request".
    response = await api.http.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    _clean(response.text)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_unpaired_surrogate_in_get_variables(api: Api) -> None:
    response = await api.http.get(
        "/graphql",
        params={
            "query": "query($s: String) { restaurants(search: $s) { totalCount } }",
            "variables": '{"s": "\\ud800"}',
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
async def test_instants_that_overflow_in_utc(api: Api, sim: Sim, moment: str) -> None:
    # Found by the fuzzer: bookings(from: "9999-12-31T23:59:59-12:00") and createBooking with
    # that start raised OverflowError in astimezone(UTC): an internal error and an ERROR log.
    error = await _error(
        api,
        "query($r: ID!, $f: DateTime) { bookings(restaurantId: $r, from: $f) { totalCount } }",
        {"r": BERLIN_MITTE, "f": moment},
    )
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["extensions"]["field"] == ["from"]
    count = sim.state.reservation_count()
    payload = {"restaurantId": BERLIN_MITTE, "start": moment, "partySize": 2, "guest": guest()}
    response = await api.post(CREATE, {"input": payload})
    _clean(response.text)
    result = response.json()["data"]["createBooking"]
    assert [e["code"] for e in result["userErrors"]] == ["INVALID_INPUT"]
    assert sim.state.reservation_count() == count


async def test_availability_after_a_time_with_an_offset(api: Api) -> None:
    # Found by the fuzzer: availability(after: "12:00:00+02:00") compared an aware time with
    # the slots' local times: TypeError, an internal error and an ERROR log.
    error = await _error(
        api,
        "query($ids: [ID!]!, $date: Date!, $after: Time) { availability(restaurantIds: $ids,"
        " date: $date, partySize: 2, after: $after) { slots { start } } }",
        {"ids": [BERLIN_MITTE], "date": quiet_weekday().isoformat(), "after": "12:00:00+02:00"},
    )
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["extensions"]["field"] == ["after"]
