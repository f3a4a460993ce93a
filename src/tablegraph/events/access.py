"""Who is subscribing, as the event transports need it: until client identities land
(wip/auth), a small interface the real ``Identity`` will be adapted to.

``authenticate(headers)`` answers a ``Viewer`` or raises ``Unauthenticated`` (no credentials:
WebSocket close 4401, HTTP 401) or ``Forbidden`` (credentials refused: 4403, HTTP 403).
``open_access`` — the default while the gateway has no client auth — lets everyone in and
shows everything; ``TokenAccess`` maps bearer tokens to viewers (tests, the demo).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol


class Unauthenticated(Exception):
    """No credentials were sent."""


class Forbidden(Exception):
    """Credentials were sent and refused."""


class Viewer(Protocol):
    @property
    def client_id(self) -> str: ...

    @property
    def reads_guests(self) -> bool:
        """Whether guest contact details (e-mail, phone) may be shown (``guests:read``)."""
        ...

    def sees(self, upstream: str, restaurant_id: str) -> bool:
        """Whether the restaurant is within this client's tenancy."""
        ...


@dataclass(frozen=True)
class Client:
    client_id: str
    reads_guests: bool = True
    #: (upstream, native restaurant id) pairs; ``None``: every restaurant.
    restaurants: frozenset[tuple[str, str]] | None = None

    def sees(self, upstream: str, restaurant_id: str) -> bool:
        return self.restaurants is None or (upstream, restaurant_id) in self.restaurants


Authenticate = Callable[[Mapping[str, str]], Awaitable[Viewer]]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((str(v) for k, v in headers.items() if k.lower() == wanted), None)


async def open_access(headers: Mapping[str, str]) -> Viewer:
    return Client(_header(headers, "X-Client-Id") or "anonymous")


@dataclass(frozen=True)
class TokenAccess:
    """``Authorization: Bearer <token>`` looked up in a table."""

    clients: Mapping[str, Client]

    async def __call__(self, headers: Mapping[str, str]) -> Viewer:
        raw = _header(headers, "Authorization")
        if not raw:
            raise Unauthenticated("send Authorization: Bearer <token>")
        scheme, _, token = raw.partition(" ")
        client = self.clients.get(token.strip()) if scheme.lower() == "bearer" else None
        if client is None:
            raise Forbidden("that token is not accepted")
        return client
