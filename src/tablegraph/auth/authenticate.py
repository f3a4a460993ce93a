"""From a request's headers to an ``Identity``.

Credentials travel as ``Authorization: Bearer <key or JWT>`` or ``X-Api-Key: <key>``. A key
is looked up by its hash among the configured clients; anything that looks like a JWT goes to
the JWT verifier. No credentials at all gives the anonymous identity where anonymous access is
configured, and ``MissingCredentials`` (401) otherwise; credentials that prove nothing are
``InvalidCredentials`` (401) even where anonymous access is allowed, so a client with a typo
in its key is told rather than silently downgraded.
"""

from __future__ import annotations

from collections.abc import Mapping

from tablegraph.auth.config import AuthSettings
from tablegraph.auth.identity import Identity
from tablegraph.auth.keys import hash_key
from tablegraph.auth.tokens import InvalidCredentials, JwtVerifier

API_KEY_HEADER = "X-Api-Key"


class MissingCredentials(Exception):
    """The request carried no credentials and anonymous access is not configured."""


class Authenticator:
    def __init__(self, settings: AuthSettings, jwt: JwtVerifier | None = None) -> None:
        self.settings = settings
        self._by_hash: dict[str, Identity] = {}
        for client in settings.clients:
            identity = Identity(client.id, client.scopes, client.tenancy, method="api-key")
            for h in client.key_hashes:
                self._by_hash[h] = identity
        if jwt is None and settings.jwt is not None:
            jwt = JwtVerifier(settings.jwt)
        self._jwt = jwt
        self.anonymous: Identity | None = None
        if settings.anonymous_scopes is not None:
            self.anonymous = Identity(
                "anonymous",
                settings.anonymous_scopes,
                settings.anonymous_restaurants,
                method="anonymous",
            )

    async def identify(self, headers: Mapping[str, str]) -> Identity:
        credential = self._credential(headers)
        if credential is None:
            if self.anonymous is None:
                raise MissingCredentials("this gateway needs an API key or a bearer token")
            return self.anonymous
        found = self._by_hash.get(hash_key(credential))
        if found is not None:
            return found
        if credential.count(".") == 2 and self._jwt is not None:
            return await self._jwt.verify(credential)
        raise InvalidCredentials("unknown API key or token")

    @staticmethod
    def _credential(headers: Mapping[str, str]) -> str | None:
        raw = headers.get("Authorization")
        if raw is not None:
            scheme, _, value = raw.strip().partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise InvalidCredentials("use 'Authorization: Bearer <key or token>'")
            return value.strip()
        key = headers.get(API_KEY_HEADER)
        if key is not None:
            if not key.strip():
                raise InvalidCredentials(f"{API_KEY_HEADER} is empty")
            return key.strip()
        return None
