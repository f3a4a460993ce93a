"""Who is calling: a client identity, its scopes, and the restaurants it may see.

Tenancy is a list of patterns: ``upstream`` (every restaurant of that upstream),
``upstream:native-id`` (one restaurant), or a restaurant's global id (decoded to the latter).
A client without a list sees every restaurant. A restaurant outside the list is answered
exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from tablegraph import ids
from tablegraph.auth.scopes import Scope
from tablegraph.errors import InvalidInput


@dataclass(frozen=True)
class Tenancy:
    """The restaurants a client may see; ``None`` patterns mean every restaurant."""

    upstreams: frozenset[str] = frozenset()
    restaurants: frozenset[tuple[str, str]] = frozenset()
    unrestricted: bool = False

    @classmethod
    def everything(cls) -> Tenancy:
        return cls(unrestricted=True)

    @classmethod
    def parse(cls, patterns: Iterable[str]) -> Tenancy:
        """``ValueError`` for a pattern that is neither an upstream, ``upstream:id`` nor a
        restaurant's global id."""
        upstreams: set[str] = set()
        restaurants: set[tuple[str, str]] = set()
        for pattern in patterns:
            if not isinstance(pattern, str) or not pattern.strip():
                raise ValueError(f"bad restaurant pattern {pattern!r}")
            if pattern == "*":
                return cls.everything()
            if ":" in pattern:
                upstream, _, native = pattern.partition(":")
                if not upstream or not native:
                    raise ValueError(f"bad restaurant pattern {pattern!r}")
                restaurants.add((upstream, native))
                continue
            try:
                gid = ids.decode(pattern, "Restaurant")
            except InvalidInput:
                upstreams.add(pattern)  # a plain upstream name
            else:
                restaurants.add((gid.upstream, gid.native_id))
        return cls(frozenset(upstreams), frozenset(restaurants))

    def allows(self, upstream: str, native_id: str) -> bool:
        return (
            self.unrestricted
            or upstream in self.upstreams
            or (upstream, native_id) in self.restaurants
        )

    def touches(self, upstream: str) -> bool:
        """Whether any restaurant of ``upstream`` may be visible to this client."""
        return (
            self.unrestricted
            or upstream in self.upstreams
            or any(u == upstream for u, _ in self.restaurants)
        )

    def covers(self, upstream: str) -> bool:
        """Whether the whole upstream is visible: guests (which belong to an upstream's
        account, not to one restaurant) may then be read by id."""
        return self.unrestricted or upstream in self.upstreams


#: Every restaurant (a client configured without a ``restaurants`` list).
EVERYTHING = Tenancy(unrestricted=True)


@dataclass(frozen=True)
class Identity:
    """An authenticated caller. ``client_id`` scopes idempotency keys and manage tokens."""

    client_id: str
    scopes: frozenset[Scope]
    tenancy: Tenancy = EVERYTHING
    #: How the caller proved it: ``api-key``, ``jwt`` or ``anonymous``.
    method: str = "api-key"

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes


#: The identity of a request that was never authenticated (internal callers, unit tests):
#: no scope at all.
NOBODY = Identity("nobody", frozenset(), Tenancy(), method="none")


#: The request's authenticated identity, set by the ``authenticate`` middleware (``app.py``).
IDENTITY = web.RequestKey("identity", Identity)


def idempotency_scope(identity: Identity, remote: str | None) -> str:
    """Whose idempotency keys a request's writes run under (``BookingService`` records and
    the keys sent upstream are per scope).

    The client id for an authenticated client. Anonymous callers all share one identity, so
    they are told apart by remote address: otherwise one widget user sending another's
    (guessable) key would receive that booking, and a management token for it, as a
    "replay". Behind a proxy that hides the address, keys are still only as private as they
    are hard to guess — widgets should send random keys (UUIDs), as the README says.
    """
    if identity.method != "anonymous":
        return identity.client_id
    return f"{identity.client_id}@{remote or 'unknown'}"
