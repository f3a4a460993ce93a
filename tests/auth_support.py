"""Credentials for test gateways: one client holding every scope, so tests written before
client identities keep their assertions; tests about identities configure their own."""

from __future__ import annotations

from tablegraph.auth.config import AuthSettings, ClientConfig
from tablegraph.auth.keys import hash_key
from tablegraph.auth.scopes import ALL_SCOPES, Scope

TEST_KEY = "tgk_test-client-with-every-scope-0123456789"
AUTH_HEADERS = {"Authorization": f"Bearer {TEST_KEY}"}


def all_scopes_auth() -> AuthSettings:
    return AuthSettings(clients=(ClientConfig("test-client", ALL_SCOPES, (hash_key(TEST_KEY),)),))


def key_of(client_id: str, n: int = 1) -> str:
    """The ``n``-th API key of a client made by ``clients_auth``."""
    return f"tgk_{client_id}-key{n}-0123456789abcdef"


def headers_of(client_id: str, n: int = 1) -> dict[str, str]:
    """Request headers that authenticate as ``client_id`` with its ``n``-th key."""
    return {"Authorization": f"Bearer {key_of(client_id, n)}"}


def clients_auth(
    *client_ids: str, keys: int = 1, anonymous_scopes: frozenset[Scope] | None = None
) -> AuthSettings:
    """Distinct clients holding every scope, each with ``keys`` API keys (``key_of``), for
    tests that tell clients apart; ``anonymous_scopes`` allows requests without credentials."""
    return AuthSettings(
        clients=tuple(
            ClientConfig(cid, ALL_SCOPES, tuple(hash_key(key_of(cid, n + 1)) for n in range(keys)))
            for cid in client_ids
        ),
        anonymous_scopes=anonymous_scopes,
    )
