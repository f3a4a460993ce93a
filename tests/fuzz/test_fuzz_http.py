"""The raw HTTP layer of /graphql: bodies that are not objects, variables that are not objects,
garbage operation names and documents, GET and POST, odd media types."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import FUZZ_SETTINGS
from .harness import FuzzEnv
from .operations import operations
from .properties import Checker
from .strategies import HOSTILE

DOCUMENTS = [op.document for op in operations()] + [
    "{ upstreams { name } }",
    "query A { upstreams { name } } query B { restaurants { totalCount } }",
    'mutation { cancelBooking(input: {bookingId: "x"}) { userErrors { code } } }',
    "subscription { upstreams { name } }",
    "{ __schema { types { name } } }",
    "{ upstreams { name } ",
    "{ nope }",
    "query($x: Int) { restaurants(first: $x) { totalCount } }",
    "{ restaurants(first: 99999999999) { totalCount } }",
    "{ a: upstreams { name } b: upstreams { name } }" * 20,
    "fragment F on Query { ...F } { ...F }",
    "{ " + "restaurants { nodes { " * 15 + "id" + " } }" * 15 + " }",
    "\ud800",
    "\x00",
    "",
]

_json_any = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from(HOSTILE)
    | st.text(st.characters(exclude_categories=()), max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_document = st.one_of(
    st.sampled_from(DOCUMENTS),
    st.sampled_from(DOCUMENTS),
    st.sampled_from(HOSTILE),
    st.text(max_size=60),
    _json_any,
)
_operation_name = st.one_of(
    st.none(), st.sampled_from(["Fuzz", "A", "B", "", "Nope"]), st.sampled_from(HOSTILE), _json_any
)


@st.composite
def _payload(draw: st.DrawFn) -> Any:
    shape = draw(st.sampled_from(["object", "object", "object", "other"]))
    if shape == "other":
        return draw(_json_any)
    body: dict[str, Any] = {"query": draw(_document)}
    if draw(st.booleans()):
        body["variables"] = draw(_json_any)
    if draw(st.booleans()):
        body["operationName"] = draw(_operation_name)
    if draw(st.booleans()):
        body["extensions"] = draw(_json_any)
    return body


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_fuzz_post_bodies(fuzz_env: FuzzEnv, checker: Checker) -> None:
    @FUZZ_SETTINGS
    @given(
        payload=_payload(),
        media=st.sampled_from(
            [
                "application/json",
                "application/graphql-response+json",
                "application/json; charset=utf-8",
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data",
                "",
            ]
        ),
        raw=st.one_of(st.none(), st.binary(max_size=200)),
    )
    def run(payload: Any, media: str, raw: bytes | None) -> None:
        content = raw if raw is not None else json.dumps(payload).encode()
        fuzz_env.logs.take()
        reply = fuzz_env.request("POST", content=content, headers={"Content-Type": media})
        sent = content.decode("utf-8", "replace")
        checker.check(sent, reply, fuzz_env.logs.take())

    run()


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_fuzz_get_requests(fuzz_env: FuzzEnv, checker: Checker) -> None:
    @FUZZ_SETTINGS
    @given(
        query=_document,
        variables=st.one_of(st.none(), _json_any.map(json.dumps), st.sampled_from(HOSTILE)),
        operation=_operation_name,
        accept=st.sampled_from(
            ["application/json", "application/graphql-response+json", "*/*", ""]
        ),
    )
    def run(query: Any, variables: str | None, operation: Any, accept: str) -> None:
        params = {"query": query if isinstance(query, str) else json.dumps(query)}
        if variables is not None:
            params["variables"] = variables
        if operation is not None:
            params["operationName"] = operation if isinstance(operation, str) else "x"
        params = {k: v.encode("utf-8", "replace").decode() for k, v in params.items()}
        fuzz_env.logs.take()
        reply = fuzz_env.request("GET", params=params, headers={"Accept": accept})
        checker.check(json.dumps(params), reply, fuzz_env.logs.take())

    run()
