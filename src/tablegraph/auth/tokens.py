"""JWT bearer tokens, verified with PyJWT.

The algorithm is never taken on the token's word alone: HS256 tokens are checked only against
the configured HMAC secret, RS256/ES256 tokens only against configured public keys or a JWKS
(chosen by ``kid``), each with exactly its own algorithm. So ``alg: none``, an HS256 token
signed with the RSA public key, a wrong signature, issuer or audience, an expired or
not-yet-valid token are all refused (``InvalidCredentials``, answered with 401).

A JWKS URL is fetched with httpx, cached for ``jwks_cache_seconds`` and fetched again when a
token names a ``kid`` it does not hold (key rotation), at most once every 30 seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from tablegraph.auth.config import JwtSettings
from tablegraph.auth.identity import Identity, Tenancy
from tablegraph.auth.scopes import scopes_from_claim


class InvalidCredentials(Exception):
    """The request carried credentials that prove nothing; the message is safe to show."""


_FAMILY = {"RS256": "RSA", "ES256": "EC"}
_REFETCH_SECONDS = 30.0


class JwtVerifier:
    def __init__(
        self,
        settings: JwtSettings,
        *,
        timer: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._timer = timer
        self._transport = transport
        self._static: dict[str, Any] = {}
        for kid, pem in settings.public_keys.items():
            self._static[kid] = pem
        self._jwks: dict[str, jwt.PyJWK] = {}
        self._jwks_at: float | None = None
        self._lock = asyncio.Lock()
        if settings.jwks_file:
            self._jwks = self._parse_jwks(self._read_file(settings.jwks_file))
            self._jwks_at = timer()

    async def verify(self, token: str) -> Identity:
        s = self.settings
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidCredentials("the bearer token is not a JWT") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in s.algorithms:
            raise InvalidCredentials("the token's algorithm is not accepted")
        key = await self._key(alg, header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=s.audience,
                issuer=s.issuer,
                leeway=s.leeway_seconds,
                options={"require": ["exp", s.client_claim]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidCredentials("the token has expired") from None
        except jwt.PyJWTError:
            raise InvalidCredentials("the token was refused") from None
        client = claims.get(s.client_claim)
        if not isinstance(client, str) or not client:
            raise InvalidCredentials("the token names no client")
        restaurants = claims.get(s.restaurants_claim)
        try:
            tenancy = Tenancy.everything() if restaurants is None else Tenancy.parse(restaurants)
        except (ValueError, TypeError):
            raise InvalidCredentials("the token's restaurants claim is malformed") from None
        return Identity(
            client_id=f"jwt:{client}",
            scopes=scopes_from_claim(claims.get(s.scope_claim)),
            tenancy=tenancy,
            method="jwt",
        )

    async def _key(self, alg: str, kid: object) -> Any:
        if alg == "HS256":
            secret = self.settings.hs256_secret
            if secret is None:
                raise InvalidCredentials("the token's algorithm is not accepted")
            return secret.reveal()
        kid_s = kid if isinstance(kid, str) else ""
        if kid_s in self._static:
            return self._static[kid_s]
        if not kid_s and len(self._static) == 1:
            return next(iter(self._static.values()))
        found = await self._from_jwks(kid_s)
        if found is None or found.key_type != _FAMILY[alg]:
            raise InvalidCredentials("the token was signed with an unknown key")
        return found

    async def _from_jwks(self, kid: str) -> jwt.PyJWK | None:
        s = self.settings
        now = self._timer()
        fresh = self._jwks_at is not None and now - self._jwks_at < s.jwks_cache_seconds
        if kid in self._jwks and fresh:
            return self._jwks[kid]
        may_refetch = self._jwks_at is None or now - self._jwks_at >= _REFETCH_SECONDS
        if (s.jwks_url or s.jwks_file) and (not fresh or may_refetch):
            async with self._lock:
                if self._jwks_at is None or self._timer() - self._jwks_at >= _REFETCH_SECONDS:
                    # On failure keep serving the keys we have; the token may still match.
                    with contextlib.suppress(OSError, httpx.HTTPError, ValueError, jwt.PyJWTError):
                        self._jwks = self._parse_jwks(await self._fetch())
                    self._jwks_at = self._timer()
        if kid:
            return self._jwks.get(kid)
        return next(iter(self._jwks.values())) if len(self._jwks) == 1 else None

    async def _fetch(self) -> Any:
        s = self.settings
        if s.jwks_file:
            return self._read_file(s.jwks_file)
        assert s.jwks_url is not None
        async with httpx.AsyncClient(transport=self._transport, timeout=5.0) as http:
            resp = await http.get(s.jwks_url)
            resp.raise_for_status()
            return resp.json()

    @staticmethod
    def _read_file(path: str) -> Any:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)

    @staticmethod
    def _parse_jwks(doc: Any) -> dict[str, jwt.PyJWK]:
        if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
            raise ValueError("not a JWKS document")
        keys: dict[str, jwt.PyJWK] = {}
        for entry in doc["keys"]:
            if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC"):
                continue  # symmetric keys never come from a JWKS
            try:
                key = jwt.PyJWK.from_dict(entry)
            except jwt.PyJWTError:
                continue
            keys[str(entry.get("kid", ""))] = key
        return keys
