"""The one way an adapter calls its provider: an ``UpstreamClient`` (timeouts, retries,
auth, breaker, deadline — see ``tablegraph.upstream``) plus the provider's ``ErrorTable``.

Every status ≥ 400 that reaches the adapter goes through the table; a success body is
decoded here, so no adapter repeats the call-check-decode dance.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from tablegraph.errors import UpstreamBadResponse
from tablegraph.providers.kit.answers import MappedAnswers
from tablegraph.providers.kit.errors import ErrorTable
from tablegraph.upstream import UpstreamClient, json_body

T = TypeVar("T")


@dataclass
class Caller:
    client: UpstreamClient
    errors: ErrorTable
    #: Prepended to every path (LibreBooking's ``/Web/Services/index.php`` when the base URL
    #: does not already end in it).
    prefix: str = ""

    @property
    def name(self) -> str:
        return self.client.name

    async def response(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """The provider's successful answer, or the table's error for a refusal."""
        response = await self.client.request(
            method,
            self.prefix + path,
            params=params,
            json=json,
            headers=headers,
            idempotent=idempotent,
        )
        if response.status_code >= 400:
            raise self.errors.error_for(response, self.name)
        return response

    async def json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """The decoded JSON of a successful answer (``UpstreamBadResponse`` if it is not)."""
        response = await self.response(
            method, path, params=params, json=json, headers=headers, idempotent=idempotent
        )
        return json_body(response, self.name)

    async def mapped(
        self,
        path: str,
        *,
        params: Mapping[str, Any],
        answers: MappedAnswers[T],
        key: Hashable,
        build: Callable[[Any], T],
    ) -> T:
        """``build(decoded JSON)`` of a successful GET, reused from ``answers`` while the
        body is byte-for-byte the one it was built from (``answers.py``). ``key`` names
        whatever else ``build`` reads (a time zone); the path and parameters are added."""
        response = await self.response("GET", path, params=params)
        return answers.mapped(
            (path, tuple(sorted(params.items())), key),
            response.content,
            lambda: build(json_body(response, self.name)),
        )

    async def optional_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any | None:
        """Like ``json``, but an empty body is ``None`` and a non-JSON one is refused by its
        content type (a real LibreBooking answers unknown references with an empty 200)."""
        response = await self.response(method, path, params=params, json=json, headers=headers)
        if not response.content.strip():
            return None
        if "json" not in response.headers.get("content-type", "json"):
            raise UpstreamBadResponse(
                f"{self.name} sent a non-JSON answer (HTTP {response.status_code})",
                upstream=self.name,
            )
        return json_body(response, self.name)
