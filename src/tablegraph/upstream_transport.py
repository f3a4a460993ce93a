"""The connection layer under every upstream ``httpx.AsyncClient``: aiohttp's client.

httpx stays the upstream API (requests, responses, timeouts, auth flows, the error classes
``upstream.py`` decides retries by); only its transport is replaced. httpx's own transport —
httpcore over anyio, parsing with the pure-Python h11 — cost ~1.5 ms of CPU per exchange at
concurrency 1 and more under load (httpcore rescans and polls every pooled connection twice
per request): about half of a small query's CPU (issue #16). aiohttp, already the gateway's
server, parses HTTP in C and costs ~0.4 ms; under httpx, 0.8 ms.

What must not change is what an error means, since ``upstream.py`` retries, reports an
unknown outcome or gives up by the error's class:

- ``httpx.ConnectError`` / ``ConnectTimeout`` — no connection was made, nothing was sent;
- every other error — the request may have been sent (``ReadError``, ``WriteError``,
  ``RemoteProtocolError``, ``ReadTimeout``), so a write is never assumed not applied.

aiohttp resends a PUT or DELETE (any "idempotent" method) once by itself when the connection
drops; the gateway must see that drop — a cancel that landed and is sent again answers 404 —
and decide itself, so that retry is turned off (``_retry_connection``, the switch aiohttp's
own test client uses; ``tests/test_upstream_transport.py`` fails if aiohttp retries again).
``httpx-aiohttp`` was not used: it maps every ``ClientConnectionError`` to ``ConnectTimeout``,
so a drop after a create was sent would read as "never sent" and be retried — a double
booking.

Also as httpx does: the response body is decoded by httpx (aiohttp's decompression is off),
certificates are checked against certifi's bundle (``httpx.create_ssl_context``), idle
connections are kept 5 s. Where the environment configures a proxy (``HTTP(S)_PROXY``,
``ALL_PROXY``), httpx's own transport is used instead, with its proxy and ``NO_PROXY`` rules.

Upstream clients keep no cookies (``CookielessClient``): every provider authenticates by a
header the adapter sets, and a cookie one answer sets (LibreBooking's PHP session, on every
response of a real server) would otherwise ride on every later request of every gateway
client to that upstream. (httpx no longer offers each response to ``http.cookiejar``
either; py-spy put that at 4% of a small query, but an A/B showed no measurable effect.)
"""

from __future__ import annotations

import functools
import ssl
import urllib.request
from typing import Any

import aiohttp
import httpx
from yarl import URL

#: httpx's default: an idle connection is closed after 5 s.
KEEPALIVE_SECONDS = 5.0
#: Headers aiohttp would add when absent; httpx has set what it means to send.
_NOT_ADDED = frozenset({"User-Agent", "Accept", "Accept-Encoding", "Content-Type"})


class _NoCookies(httpx.Cookies):
    """Always empty: what an upstream sets is dropped unread."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        return None


_NO_COOKIES = _NoCookies()


class CookielessClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` that never keeps a cookie an upstream sets, nor sends one."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        if cookies:  # httpx's own __init__ sets an empty jar
            raise ValueError("upstream clients keep no cookies")


def upstream_transport(max_connections: int) -> httpx.AsyncBaseTransport | None:
    """The transport for an upstream client of ``max_connections``; ``None`` (httpx's own)
    where a proxy is configured in the environment."""
    proxies = urllib.request.getproxies()
    if any(proxies.get(scheme) for scheme in ("http", "https", "all")):
        return None
    return AiohttpTransport(max_connections)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx requests sent with an aiohttp session of ``max_connections`` (see the module)."""

    def __init__(self, max_connections: int, ssl_context: ssl.SSLContext | None = None) -> None:
        self._max_connections = max_connections
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use: a session belongs to the event loop it is made in.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                limit_per_host=0,
                keepalive_timeout=KEEPALIVE_SECONDS,
                ssl=self._ssl or _certifi_context(),
            )
            session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
                skip_auto_headers=_NOT_ADDED,
                timeout=aiohttp.ClientTimeout(total=None),
            )
            session._retry_connection = False  # see the module docstring
            self._session = session
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("pool"),
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        body = await request.aread()
        try:
            async with self._open().request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
            ) as answer:
                content = await answer.read()
                v = answer.version
                version = f"HTTP/{v.major}.{v.minor}" if v is not None else "HTTP/1.1"
                return httpx.Response(
                    answer.status,
                    headers=answer.raw_headers,
                    content=content,
                    extensions={
                        "http_version": version.encode(),
                        "reason_phrase": (answer.reason or "").encode("latin-1", "replace"),
                    },
                )
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc, request) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


@functools.cache
def _certifi_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's bundle; ``SSL_CERT_FILE``/``SSL_CERT_DIR``
    honoured), built once per process: loading the bundle takes milliseconds."""
    return httpx.create_ssl_context()


def _httpx_error(exc: aiohttp.ClientError, request: httpx.Request) -> httpx.TransportError:
    """The httpx error httpcore raises for the same failure. Only a failure to connect says
    "not sent"; anything unknown is taken as "maybe sent"."""
    message = str(exc) or type(exc).__name__
    error: httpx.TransportError
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        error = httpx.ConnectTimeout(message, request=request)
    elif isinstance(exc, aiohttp.ClientConnectorError):
        error = httpx.ConnectError(message, request=request)
    elif isinstance(exc, aiohttp.ServerTimeoutError):  # waiting for the answer, or within it
        error = httpx.ReadTimeout(message, request=request)
    elif isinstance(exc, aiohttp.ClientConnectionResetError):
        error = httpx.WriteError(message, request=request)
    elif isinstance(  # closed before or within the answer, or an answer that is no HTTP
        exc,
        aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError,
    ):
        error = httpx.RemoteProtocolError(message, request=request)
    else:  # a broken connection mid-exchange, or anything aiohttp adds later
        error = httpx.ReadError(message, request=request)
    return error
