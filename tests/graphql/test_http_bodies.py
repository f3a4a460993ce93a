"""Whole-body reads: however a body is cut into segments or chunks it is read whole, and the
size limit is enforced while reading. Raw sockets control the segmentation."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from aiohttp import web

from tablegraph.app import create_app
from tablegraph.gateway import Gateway
from tablegraph.settings import GatewaySettings, Limits, Secret
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import serve
from tablegraph.simulators.vardvik import demo_upstreams

from ..auth_support import AUTH_HEADERS, all_scopes_auth
from .conftest import Sim
from .raw import LAST_CHUNK, RawConnection, chunk, request_head

QUERY = b'{"query": "{ upstreams { name } }"}'
JSON = {"Content-Type": "application/json"}
LIMIT = 4096
WEBHOOK = "/webhooks/vardvik-berlin"


@dataclass
class Gw:
    url: str
    http: httpx.AsyncClient
    #: Set when a request reached the application (its headers are read; its body may not be).
    entered: asyncio.Event

    async def raw(self) -> RawConnection:
        return await RawConnection.open(self.url)


@pytest.fixture
async def gw(sim: Sim) -> AsyncIterator[Gw]:
    upstreams = [
        replace(u, credentials={**u.credentials, "webhook_secret": Secret("whsec_test")})
        for u in demo_upstreams(sim.url)
    ]
    gateway = Gateway(
        GatewaySettings(
            upstreams=tuple(upstreams), limits=Limits(max_body_bytes=LIMIT), auth=all_scopes_auth()
        )
    )
    app = create_app(gateway)
    entered = asyncio.Event()

    @web.middleware
    async def mark(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        entered.set()
        return await handler(request)

    app.middlewares.insert(0, mark)
    runner, url = await serve(app)
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=AUTH_HEADERS) as http:
        yield Gw(url, http, entered)
    await runner.cleanup()


def _answered(response: Any) -> None:
    assert response.status == 200, response.body
    assert response.json()["data"]["upstreams"][0]["name"] == "vardvik-berlin"


async def test_a_body_in_one_byte_segments(gw: Gw) -> None:
    conn = await gw.raw()
    await conn.send(request_head("POST", "/graphql", JSON, content_length=len(QUERY)))
    await conn.send_segments(QUERY[i : i + 1] for i in range(len(QUERY)))
    _answered(await conn.response())
    await conn.close()


async def test_a_body_in_two_segments_the_second_after_the_handler_started(gw: Gw) -> None:
    conn = await gw.raw()
    await conn.send(request_head("POST", "/graphql", JSON, content_length=len(QUERY)) + QUERY[:9])
    await gw.entered.wait()  # the handler is reading the body: only the first part is there
    await conn.send(QUERY[9:])
    _answered(await conn.response())
    await conn.close()


async def test_a_chunked_body(gw: Gw) -> None:
    conn = await gw.raw()
    await conn.send(request_head("POST", "/graphql", JSON, chunked=True) + chunk(QUERY[:5]))
    await gw.entered.wait()
    await conn.send_segments([chunk(QUERY[5:20]), chunk(QUERY[20:]), LAST_CHUNK])
    _answered(await conn.response())
    await conn.close()


def _padded(size: int) -> bytes:
    return QUERY[:-1] + b" " * (size - len(QUERY)) + b"}"


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_413(
    gw: Gw, chunked: bool
) -> None:
    for size, status in ((LIMIT, 200), (LIMIT + 1, 413)):
        body = _padded(size)
        conn = await gw.raw()
        if chunked:
            head = request_head("POST", "/graphql", JSON, chunked=True)
            await conn.send(
                head + b"".join(chunk(body[i : i + 1000]) for i in range(0, size, 1000))
            )
            await conn.send(LAST_CHUNK)
        else:
            await conn.send(request_head("POST", "/graphql", JSON, content_length=size))
            await conn.send_segments(body[i : i + 700] for i in range(0, size, 700))
        response = await conn.response()
        assert response.status == status, (size, response.body)
        if status == 413:
            assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
        await conn.close()


async def test_a_chunked_100_megabyte_body_is_refused_without_reading_it(gw: Gw) -> None:
    conn = await gw.raw()
    await conn.send(request_head("POST", "/graphql", JSON, chunked=True))
    block = chunk(b" " * 65536)
    total = 100 * 1024 * 1024

    async def send() -> int:
        sent = 0
        try:  # until the server answers or drops the connection (asyncio drops writes then)
            while sent < total and not answered.done() and not conn.writer.is_closing():
                await conn.send(block)
                sent += 65536
        except (ConnectionResetError, BrokenPipeError):
            pass
        return sent

    answered = asyncio.create_task(conn.response())
    sender = asyncio.create_task(send())
    response = await answered
    assert response.status == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert await conn.closed_by_server()
    sent = await sender
    # The server stopped reading soon after the limit (plus what the socket buffers hold).
    assert sent < 20 * 1024 * 1024, sent
    await conn.close()


def _signed(body: bytes, secret: bytes = b"whsec_test") -> dict[str, str]:
    stamp = int(time.time())
    sig = hmac.new(secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"x-webhook-signature": f"t={stamp},v1={sig}", "Content-Type": "application/json"}


async def test_a_signed_webhook_in_one_byte_segments_is_accepted(gw: Gw) -> None:
    body = json.dumps(
        {"id": "evt_seg", "type": "reservation.created", "restaurantId": "rst_1", "data": {}}
    ).encode()
    conn = await gw.raw()
    await conn.send(request_head("POST", WEBHOOK, _signed(body), content_length=len(body)))
    await conn.send_segments(body[i : i + 1] for i in range(len(body)))
    response = await conn.response()
    assert response.status == 200, response.body
    assert response.json() == {"status": "accepted"}
    await conn.close()


async def test_a_webhook_over_the_limit_is_413(gw: Gw) -> None:
    body = b'{"pad": "' + b"x" * LIMIT + b'"}'
    conn = await gw.raw()
    await conn.send(request_head("POST", WEBHOOK, _signed(body), chunked=True))
    await conn.send_segments([chunk(body), LAST_CHUNK])
    assert (await conn.response()).status == 413
    await conn.close()


DEEP = "[" * 2000 + "]" * 2000


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "evt_l", "type": "reservation.created", "restaurantId": "rst_1", "data": []},
        {"id": "evt_s", "type": "reservation.created", "restaurantId": "rst_1", "data": "x"},
        {"id": "evt_n", "type": "reservation.created", "restaurantId": "rst_1", "data": 5},
        [1, 2],
        "event",
        None,
    ],
)
async def test_a_validly_signed_but_malformed_webhook_is_400(gw: Gw, payload: Any) -> None:
    body = json.dumps(payload).encode()
    response = await gw.http.post(WEBHOOK, content=body, headers=_signed(body))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("body", [DEEP.encode(), b'{"data": ' + DEEP.encode() + b"}", b"\xff{"])
async def test_a_validly_signed_deep_or_undecodable_webhook_is_400(gw: Gw, body: bytes) -> None:
    response = await gw.http.post(WEBHOOK, content=body, headers=_signed(body))
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        '{"query": "{ upstreams { name } }", "variables": {"v": ' + DEEP + "}}",
        '{"query": "{ upstreams { name } }", "extensions": {"e": ' + DEEP + "}}",
        "{" * 1500,
    ],
)
async def test_json_nested_2000_deep_is_a_bad_request(gw: Gw, body: str) -> None:
    response = await gw.http.post("/graphql", content=body.encode(), headers=JSON)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_get_variables_nested_1000_deep_is_a_bad_request(gw: Gw) -> None:
    deep = "[" * 1000 + "]" * 1000  # what fits in a request line (2000 would be refused there)
    response = await gw.http.get(
        "/graphql", params={"query": "{ upstreams { name } }", "variables": '{"v": ' + deep + "}"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_json_nested_within_the_limit_is_fine(gw: Gw) -> None:
    nested = "[" * 60 + "]" * 60
    response = await gw.http.post(
        "/graphql",
        json={"query": "{ upstreams { name } }", "extensions": json.loads('{"e": ' + nested + "}")},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("extensions", [[], "x", 5, True])
async def test_extensions_must_be_an_object(gw: Gw, extensions: Any) -> None:
    body = {"query": "{ upstreams { name } }", "extensions": extensions}
    response = await gw.http.post("/graphql", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    got = await gw.http.get(
        "/graphql", params={"query": "{ upstreams { name } }", "extensions": json.dumps(extensions)}
    )
    assert got.status_code == 400, got.text
    ok = await gw.http.post("/graphql", json={**body, "extensions": {}})
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "value", ["٣", "٣٠٠", "+5", "+500", " 5", "5 00", "5_000", "99", "0x1f4", "1e3", ""]
)
async def test_the_timeout_header_is_ascii_digits_over_a_floor(gw: Gw, value: str) -> None:
    # Raw bytes on the wire: HTTP clients refuse to send some of these. Leading blanks are
    # not part of a header's value (RFC 9110), so " 5" arrives as "5", under the floor.
    conn = await gw.raw()
    head = request_head(
        "POST", "/graphql", {**JSON, "X-Request-Timeout-Ms": "%s"}, content_length=len(QUERY)
    )
    await conn.send(head.replace(b"%s", value.encode()) + QUERY)
    response = await conn.response()
    assert response.status == 400, (value, response.body)
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    await conn.close()


async def test_the_timeout_header_at_the_floor_is_accepted(gw: Gw) -> None:
    response = await gw.http.post(
        "/graphql",
        json={"query": "{ upstreams { name } }"},
        headers={"X-Request-Timeout-Ms": "100"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "payload",
    [
        {"data": [1, "x"]},
        {"data": {"id": "1", "type": "booking", "relationships": "x"}},
        {"data": {"id": "1", "type": "booking", "relationships": {"person": "x"}}},
        [{"data": {}}],
    ],
)
async def test_a_validly_signed_but_malformed_libro_webhook_is_400(payload: Any) -> None:
    libro = simulator_module("libro")
    runner, url = await serve(libro.create_app(1))
    upstreams = [
        replace(u, credentials={**u.credentials, "webhook_secret": Secret("whsec_test")})
        for u in libro.demo_upstreams(url)
    ]
    # Webhooks are public (the signature is the credential): a gateway with clients
    # configured still takes them without an API key.
    gateway = Gateway(GatewaySettings(upstreams=tuple(upstreams), auth=all_scopes_auth()))
    gw_runner, gw_url = await serve(create_app(gateway))
    body = json.dumps(payload).encode()
    stamp = int(time.time())
    sig = hmac.new(b"whsec_test", f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    try:
        async with httpx.AsyncClient(base_url=gw_url) as http:
            response = await http.post(
                f"/webhooks/{upstreams[0].name}",
                content=body,
                headers={"X-Libro-Signature": f"t={stamp},v1={sig}"},
            )
        assert response.status_code == 400, response.text
    finally:
        await gw_runner.cleanup()
        await runner.cleanup()
