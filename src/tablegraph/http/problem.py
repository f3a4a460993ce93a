"""A request refused before it reaches GraphQL execution: a status, a stable code, a message.

Raised anywhere in the HTTP layer and turned into a response in one place
(``error_response``), with the GraphQL-shaped body clients already parse for other errors:
``{"errors": [{"message": ..., "extensions": {"code": ...}}]}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web

from tablegraph.http.headers import NO_STORE


class HTTPProblem(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        close: bool = False,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})
        #: Close the connection after answering (a body was left unread).
        self.close = close


def error_response(
    status: int,
    code: str,
    message: str,
    media_type: str = "application/json",
    *,
    headers: Mapping[str, str] | None = None,
    close: bool = False,
) -> web.Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    response = web.Response(
        status=status, text=json.dumps(body), content_type=media_type, headers=headers
    )
    response.headers.setdefault("Cache-Control", NO_STORE)
    if close:
        response.force_close()
    return response


async def close_after(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Send ``response`` now and close the connection once it is out.

    For a refused body that is still arriving: aiohttp would otherwise keep reading it (its
    "lingering close", up to 10 s) after answering, which is the very reading the limit is
    there to stop."""
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    if request.transport is not None:
        request.transport.close()  # flushes what is buffered, then closes
    return response


def problem_response(problem: HTTPProblem, media_type: str = "application/json") -> web.Response:
    return error_response(
        problem.status,
        problem.code,
        problem.message,
        media_type,
        headers=problem.headers,
        close=problem.close,
    )
