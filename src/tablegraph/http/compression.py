"""Response compression as the client accepts it: brotli when the ``brotli`` package is
installed and the client accepts ``br``, else gzip; small answers are sent as they are.

aiohttp compresses only with gzip or deflate and picks the first coding it finds as a
substring of ``Accept-Encoding`` (so "gzip, deflate" gets deflate, and "gzip;q=0" gzip), so
the coding is chosen here from the header's q-values, and brotli is done here too.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from types import ModuleType

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp.web_response import ContentCoding

from tablegraph.http.headers import add_vary

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

brotli: ModuleType | None
try:
    brotli = importlib.import_module("brotli")
except ImportError:  # optional: gzip only
    brotli = None

#: Bodies larger than this are compressed in a worker thread, off the event loop.
_OFFLOAD_BYTES = 64 * 1024


def accepted_codings(header: str) -> dict[str, float]:
    """``Accept-Encoding`` as coding → q-value (codings given q=0 left out)."""
    codings: dict[str, float] = {}
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name and quality > 0:
            codings[name.strip()] = quality
    return codings


def choose_coding(header: str) -> str | None:
    codings = accepted_codings(header)
    offered = ["br", "gzip"] if brotli is not None else ["gzip"]
    best = max(offered, key=lambda c: codings.get(c, codings.get("*", 0.0)))
    return best if codings.get(best, codings.get("*", 0.0)) > 0 else None


def compression_middleware(min_bytes: int) -> Middleware:
    @web.middleware
    async def compress(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if (
            not isinstance(response, web.Response)
            or response.prepared
            or response.status in (204, 304)
            or "Content-Encoding" in response.headers
            or not isinstance(response.body, bytes)
        ):
            return response
        add_vary(response, "Accept-Encoding")
        if len(response.body) < min_bytes:
            return response
        coding = choose_coding(request.headers.get("Accept-Encoding", ""))
        if coding == "gzip":
            response.enable_compression(ContentCoding.gzip)
        elif coding == "br" and brotli is not None:
            body = response.body
            if len(body) > _OFFLOAD_BYTES:
                packed = await asyncio.get_running_loop().run_in_executor(None, _brotli, body)
            else:
                packed = _brotli(body)
            response.body = packed
            response.headers["Content-Encoding"] = "br"
        return response

    return compress


def _brotli(body: bytes) -> bytes:
    assert brotli is not None
    packed: bytes = brotli.compress(body, quality=5)
    return packed
