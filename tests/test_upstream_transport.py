"""The aiohttp transport under the upstream httpx clients: the exchange is the one httpx would
make, and a failure is classed as httpcore would class it — "never sent" only when no
connection was made — since retries and unknown outcomes are decided by that class."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tablegraph.errors import OutcomeUnknown, UpstreamUnavailable
from tablegraph.upstream import RetryPolicy, UpstreamClient
from tablegraph.upstream_transport import AiohttpTransport, upstream_transport
from tests.processes import free_port

StartServer = Callable[[web.Application], Awaitable[str]]


async def _echo(request: web.Request) -> web.Response:
    """The request as the server saw it: method, path and query, headers, body."""
    body = await request.read()
    seen = {
        "method": request.method,
        "path_qs": request.raw_path,
        "header_names": [k.decode().lower() for k, _ in request.raw_headers],
        "content_type": request.headers.get("Content-Type"),
        "authorization": request.headers.get("Authorization"),
        "cookie": request.headers.get("Cookie"),
        "body": body.decode(),
    }
    if request.query.get("gzip"):
        return web.Response(
            body=gzip.compress(orjson.dumps(seen)),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    answer = web.json_response(seen, status=int(request.query.get("status", "200")))
    if request.query.get("cookie"):  # as a real LibreBooking sets its PHP session
        answer.set_cookie("PHPSESSID", request.query["cookie"], path="/")
    return answer


@pytest.fixture
async def echo(start_server: StartServer) -> str:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _echo)
    return await start_server(app)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=AiohttpTransport(4)) as http:
        yield http


async def test_the_request_arrives_as_httpx_built_it(echo: str, client: httpx.AsyncClient) -> None:
    answer = await client.post(
        f"{echo}/api/v1/restaurants/rst%2F1/reservations",
        params={"date": "2026-12-03", "q": "a b+c"},
        json={"partySize": 2},
        headers={"Authorization": "Bearer k", "Idempotency-Key": "key-1"},
    )
    seen = answer.json()
    assert answer.status_code == 200
    assert seen["method"] == "POST"
    # httpx's encoding, not re-quoted: the %2F of an id with a slash stays one segment
    assert seen["path_qs"] == "/api/v1/restaurants/rst%2F1/reservations?date=2026-12-03&q=a+b%2Bc"
    assert seen["content_type"] == "application/json"
    assert seen["authorization"] == "Bearer k"
    assert orjson.loads(seen["body"]) == {"partySize": 2}
    names = seen["header_names"]
    assert len(names) == len(set(names)), names  # nothing sent twice
    assert "idempotency-key" in names


async def test_a_body_without_a_type_gets_none_added(echo: str, client: httpx.AsyncClient) -> None:
    seen = (await client.put(f"{echo}/x", content=b"raw")).json()
    assert (seen["content_type"], seen["body"]) == (None, "raw")


async def test_a_compressed_answer_is_decoded_once(echo: str, client: httpx.AsyncClient) -> None:
    answer = await client.get(f"{echo}/x", params={"gzip": "1"})
    assert answer.headers["Content-Encoding"] == "gzip"
    assert answer.json()["method"] == "GET"


async def test_status_and_headers_come_back_as_sent(echo: str, client: httpx.AsyncClient) -> None:
    answer = await client.get(f"{echo}/x", params={"status": "409"})
    assert answer.status_code == 409
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.http_version == "HTTP/1.1"


async def test_a_refused_connection_is_never_sent() -> None:
    async with httpx.AsyncClient(transport=AiohttpTransport(1)) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{free_port()}/x")


class _Dropper:
    """A raw server that reads a request's head, then closes without answering."""

    def __init__(self) -> None:
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if head:
            self.requests += 1
        writer.close()


@pytest.fixture
async def dropper() -> AsyncIterator[tuple[_Dropper, str]]:
    drops = _Dropper()
    server = await asyncio.start_server(drops.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield drops, f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("method", ["DELETE", "PUT", "GET", "POST"])
async def test_a_dropped_exchange_is_maybe_sent_and_not_resent_by_aiohttp(
    dropper: tuple[_Dropper, str], method: str
) -> None:
    """aiohttp would resend an "idempotent" method once by itself: a cancel that landed, sent
    again, answers 404. The gateway must see the drop, classed as "maybe sent"."""
    drops, url = dropper
    async with httpx.AsyncClient(transport=AiohttpTransport(1)) as http:
        with pytest.raises(httpx.TransportError) as caught:
            await http.request(method, f"{url}/reservations/r1")
    assert not isinstance(caught.value, httpx.ConnectError | httpx.ConnectTimeout)
    assert drops.requests == 1


async def test_a_dropped_create_is_an_unknown_outcome_through_the_client(
    dropper: tuple[_Dropper, str],
) -> None:
    drops, url = dropper
    client = UpstreamClient("up", url, retry=RetryPolicy(attempts=3, base_delay=0))
    try:
        with pytest.raises(OutcomeUnknown):
            await client.request("POST", "/reservations", json={"partySize": 2})
    finally:
        await client.aclose()
    assert drops.requests == 1  # a write that may have landed is not sent again


async def test_a_refused_create_is_unavailable_not_an_unknown_outcome() -> None:
    client = UpstreamClient(
        "up", f"http://127.0.0.1:{free_port()}", retry=RetryPolicy(attempts=2, base_delay=0)
    )
    try:
        with pytest.raises(UpstreamUnavailable):  # not OutcomeUnknown: nothing was sent
            await client.request("POST", "/reservations", json={"partySize": 2})
    finally:
        await client.aclose()
    assert client.counts["POST transport-error"] == 1


async def test_an_answer_that_does_not_come_is_a_read_timeout(start_server: StartServer) -> None:
    release = asyncio.Event()

    async def slow(_request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/slow", slow)
    url = await start_server(app)
    try:
        async with httpx.AsyncClient(transport=AiohttpTransport(1), timeout=0.2) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.get(f"{url}/slow")
    finally:
        release.set()


def test_a_proxy_in_the_environment_keeps_httpx_own_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(upstream_transport(3), AiohttpTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert upstream_transport(3) is None


async def test_upstream_clients_use_it(echo: str) -> None:
    client = UpstreamClient("up", echo)
    try:
        answer = await client.request("GET", "/x")
    finally:
        await client.aclose()
    assert answer.status_code == 200
    assert isinstance(client._http._transport, AiohttpTransport)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no bundle trusts, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_certificates_are_verified(tmp_path: Path) -> None:
    """An upstream whose certificate no trusted authority signed is refused — as a connection
    that was never made — and accepted by a context that trusts it."""
    cert_file, key_file = _self_signed(tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert_file, key_file)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=served)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with httpx.AsyncClient(transport=AiohttpTransport(1)) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"https://127.0.0.1:{port}/x")
        trusting = ssl.create_default_context(cafile=str(cert_file))
        async with httpx.AsyncClient(transport=AiohttpTransport(1, trusting)) as http:
            assert (await http.get(f"https://127.0.0.1:{port}/x")).status_code == 200
    finally:
        await runner.cleanup()


async def test_a_repeated_request_goes_where_httpx_sends_it(echo: str) -> None:
    """The client keeps the absolute URL httpx builds per (path, params): the same request
    again reuses it, other params get their own, a list among them is built each time."""
    client = UpstreamClient("up", f"{echo}/api/v1")
    path = "/restaurants/rst%2F1/reservations"
    asked: list[dict[str, Any]] = [
        {"date": "2026-12-03", "q": "a b"},
        {"date": "2026-12-04", "q": "a b"},
        {"date": "2026-12-03", "q": "a b"},
        {"state": ["booked", "seated"]},
        {"flag": True, "skip": None},
    ]
    try:
        seen = [
            (await client.request("GET", path, params=params)).json()["path_qs"] for params in asked
        ]
    finally:
        await client.aclose()
    base = "/api/v1/restaurants/rst%2F1/reservations"
    assert seen == [
        f"{base}?date=2026-12-03&q=a+b",
        f"{base}?date=2026-12-04&q=a+b",
        f"{base}?date=2026-12-03&q=a+b",
        f"{base}?state=booked&state=seated",
        f"{base}?flag=true",
    ]
    assert len(client._urls) == 3  # two days and the flag; the list was not kept


@pytest.mark.parametrize("proxy", [False, True])
async def test_a_cookie_an_upstream_sets_is_never_sent_back(
    echo: str, proxy: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One gateway client's upstream session must not ride on another's request; with
    httpx's own transport (a proxy configured) as with aiohttp's."""
    transport = httpx.AsyncHTTPTransport() if proxy else None
    client = UpstreamClient("up", echo, transport=transport)
    try:
        first = await client.request("GET", "/a", params={"cookie": "one"})
        second = await client.request("GET", "/b")
        with pytest.raises(ValueError):
            client._http.cookies = {"PHPSESSID": "x"}
        client._http.cookies.set("PHPSESSID", "y")
        third = await client.request("GET", "/c")
    finally:
        await client.aclose()
    assert first.headers["Set-Cookie"].startswith("PHPSESSID=one")  # it was set...
    assert [r.json()["cookie"] for r in (first, second, third)] == [None, None, None]
    assert not client._http.cookies
