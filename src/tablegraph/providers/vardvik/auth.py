"""Vardvik authenticates every call with one static API key: ``Authorization: Bearer <key>``.

Keys are made in Vardvik's console ("API & webhooks"), carry scopes (``config:read``,
``reservations:write``, …) and may be bound to one location. They do not expire, so nothing
is refreshed and a 401 is final; a missing scope is a 403 ``insufficient_scope`` that the
error table reports naming the scope.
"""

from __future__ import annotations

from tablegraph.providers.kit import StaticAuth

#: Scopes the adapter uses, for operators creating a key (every one is optional: a call
#: outside the key's scopes is refused, the others still work).
SCOPES: tuple[str, ...] = (
    "config:read",
    "availability:read",
    "reservations:read",
    "reservations:write",
    "reservations:cancel",
    "waitlist:write",
    "customers:read",
    "customers:write",
    "webhooks:test",
)


def api_key_auth(key: str) -> StaticAuth:
    return StaticAuth.bearer(key)
