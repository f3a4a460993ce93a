"""Request bodies read whole, with the size limit enforced while reading, and JSON bounded.

``request.content.read(n)`` returns whatever happens to be buffered, so a body that arrives in
several TCP segments was cut short; ``read_body`` reads until the end of the body (a
``Content-Length`` or the last chunk of a chunked body), counts as it goes and stops at the
limit, so a chunked 100 MB body is refused after the first megabyte instead of being read.

JSON nested deeper than the configured limit is refused (400) before anything walks it
recursively: Python's own parser gives up with ``RecursionError`` at about 1000 levels, and
everything after it (variable coercion, ``json.dumps``) recurses too.
"""

from __future__ import annotations

import asyncio
import json
import re
from array import array
from itertools import accumulate
from typing import Any

from aiohttp import web

from tablegraph.http.problem import HTTPProblem

#: Past this many bytes over the limit, a refused body is not drained but the connection
#: closed: draining lets a client that is still sending read the 413, but not at any cost.
_DRAIN_FACTOR = 8


def too_large() -> HTTPProblem:
    return HTTPProblem(413, "REQUEST_TOO_LARGE", "the request body is too large", close=True)


async def read_body(request: web.Request, limit: int, timeout: float) -> bytes:
    """The whole body, or ``HTTPProblem`` 413 (over ``limit``) / 408 (slower than ``timeout``)."""
    declared = request.content_length
    try:
        async with asyncio.timeout(timeout):
            if declared is not None and declared > limit:
                await _drain(request, _DRAIN_FACTOR * limit)
                raise too_large()
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = await request.content.readany()
                if not chunk:
                    return b"".join(chunks)
                size += len(chunk)
                if size > limit:
                    await _drain(request, (_DRAIN_FACTOR - 1) * limit)
                    raise too_large()
                chunks.append(chunk)
    except TimeoutError:
        raise HTTPProblem(
            408, "REQUEST_TIMEOUT", "the request body did not arrive in time", close=True
        ) from None


async def _drain(request: web.Request, budget: int) -> None:
    """Read and drop the rest of a refused body when it is at most ``budget`` bytes (a
    declared length) or stop after ``budget`` bytes (chunked)."""
    if request.content_length is not None and request.content_length > budget:
        return
    left = budget
    while left > 0:
        chunk = await request.content.readany()
        if not chunk:
            return
        left -= len(chunk)


def loads_bounded(raw: str | bytes, max_depth: int, what: str = "the request body") -> Any:
    """``json.loads`` that refuses (400 ``BAD_REQUEST``) invalid JSON and nesting deeper than
    ``max_depth``."""
    if nested_deeper(raw, max_depth):
        raise HTTPProblem(400, "BAD_REQUEST", f"{what} is nested too deeply")
    try:
        return json.loads(raw)
    except RecursionError:  # unbalanced brackets that the depth check could not pair
        raise HTTPProblem(400, "BAD_REQUEST", f"{what} is nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise HTTPProblem(400, "BAD_REQUEST", f"{what} is not valid JSON") from None


# A JSON string: quote, then runs of plain characters or escapes, then quote.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
#: Opening brackets to +1, closing ones to -1 (as signed bytes).
_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")


def nested_deeper(raw: str | bytes, max_depth: int) -> bool:
    """Whether arrays and objects nest deeper than ``max_depth`` (brackets in strings do not
    count), in one pass that never recurses. Strings are cut out and brackets kept by C-level
    regex and ``translate``; the running depth is a prefix sum over what is left."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return False  # the common case: too few brackets to nest that deep
    steps = array("b", _STRING.sub(b"", data).translate(_STEPS, _NOT_BRACKETS))
    return max(accumulate(steps), default=0) > max_depth
