"""Credentials for test gateways: one client holding every scope, so tests written before
client identities keep their assertions; tests about identities configure their own."""

from __future__ import annotations

from tablegraph.auth.config import AuthSettings, ClientConfig
from tablegraph.auth.keys import hash_key
from tablegraph.auth.scopes import ALL_SCOPES

TEST_KEY = "tgk_test-client-with-every-scope-0123456789"
AUTH_HEADERS = {"Authorization": f"Bearer {TEST_KEY}"}


def all_scopes_auth() -> AuthSettings:
    return AuthSettings(clients=(ClientConfig("test-client", ALL_SCOPES, (hash_key(TEST_KEY),)),))
