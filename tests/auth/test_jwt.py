"""JWT bearer tokens: HS256, RS256 (static key and JWKS by kid) and ES256 are accepted with
the right issuer, audience and lifetime; everything else is a 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tablegraph.auth.config import AuthSettings, JwtSettings
from tablegraph.auth.scopes import Scope
from tablegraph.auth.tokens import InvalidCredentials, JwtVerifier
from tablegraph.settings import Secret, parse_settings

from .conftest import Gw, StartGw

ISS, AUD = "https://id.example.com/", "tablegraph"
HS_SECRET = "hs256-secret-" + "k" * 40
QUERY = "{ restaurants { totalCount } upstreams { details } }"


def _pem_public(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISS,
        "aud": AUD,
        "sub": "mobile-bff",
        "exp": now + 600,
        "nbf": now - 10,
        "scope": "restaurants:read something:else",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _forge(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    sig = hmac.new(key, head.encode(), hashlib.sha256).digest() if key is not None else b""
    return head + "." + _b64(sig)


async def _gateway(start_gw: StartGw, tmp_path: Path) -> Gw:
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**rsa_jwk, "kid": "rsa-2026", "use": "sig"}]}))
    settings = JwtSettings(
        issuer=ISS,
        audience=AUD,
        algorithms=("HS256", "RS256", "ES256"),
        hs256_secret=Secret(HS_SECRET),
        public_keys={"ec-1": _pem_public(EC_KEY)},
        jwks_file=str(jwks),
        leeway_seconds=5,
    )
    return await start_gw(AuthSettings(jwt=settings))


async def _status(gw: Gw, token: str) -> httpx.Response:
    return await gw.http().post(
        "/graphql", json={"query": QUERY}, headers={"Authorization": f"Bearer {token}"}
    )


async def test_good_tokens_are_accepted_with_their_claims(
    start_gw: StartGw, tmp_path: Path
) -> None:
    gw = await _gateway(start_gw, tmp_path)
    good = [
        jwt.encode(_claims(), HS_SECRET, algorithm="HS256"),
        jwt.encode(_claims(), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-2026"}),
        jwt.encode(_claims(), EC_KEY, algorithm="ES256", headers={"kid": "ec-1"}),
    ]
    for token in good:
        response = await _status(gw, token)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"]["restaurants"]["totalCount"] > 0
        # The token's scope claim grants restaurants:read, not admin.
        assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "scope": "admin"}
    # Restaurants come from their own claim.
    limited = jwt.encode(_claims(restaurants=["vardvik-oslo"]), HS_SECRET, algorithm="HS256")
    body = (await _status(gw, limited)).json()
    assert body["data"]["upstreams"] and len(body["data"]["upstreams"]) == 1


async def test_bad_tokens_are_refused_with_401(start_gw: StartGw, tmp_path: Path) -> None:
    gw = await _gateway(start_gw, tmp_path)
    now = int(time.time())
    bad = {
        "wrong signature": jwt.encode(
            _claims(), RSA_OTHER, algorithm="RS256", headers={"kid": "rsa-2026"}
        ),
        "wrong HS secret": jwt.encode(_claims(), "not-the-secret" * 3, algorithm="HS256"),
        "wrong audience": jwt.encode(_claims(aud="another-api"), HS_SECRET, algorithm="HS256"),
        "wrong issuer": jwt.encode(_claims(iss="https://evil/"), HS_SECRET, algorithm="HS256"),
        "expired": jwt.encode(_claims(exp=now - 3600), HS_SECRET, algorithm="HS256"),
        "not yet valid": jwt.encode(_claims(nbf=now + 3600), HS_SECRET, algorithm="HS256"),
        "no expiry": jwt.encode(_claims(exp=None), HS_SECRET, algorithm="HS256"),
        "alg none": _forge({"alg": "none", "typ": "JWT"}, _claims(), None),
        "HS256 signed with the RS256 public key": _forge(
            {"alg": "HS256", "typ": "JWT", "kid": "rsa-2026"},
            _claims(),
            _pem_public(RSA_KEY).encode(),
        ),
        "unknown kid": jwt.encode(_claims(), RSA_KEY, algorithm="RS256", headers={"kid": "x"}),
        "garbage": "a.b.c",
    }
    for why, token in bad.items():
        response = await _status(gw, token)
        assert response.status_code == 401, (why, response.text)
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="tablegraph"')
        assert "invalid_token" in response.headers["WWW-Authenticate"], why
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_jwks_rotation_by_kid(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    jwks.write_text(json.dumps({"keys": [{**rsa_jwk, "kid": "rsa-2026"}]}))
    clock = [0.0]
    verifier = JwtVerifier(
        JwtSettings(issuer=ISS, audience=AUD, algorithms=("RS256",), jwks_file=str(jwks)),
        timer=lambda: clock[0],
    )
    old = jwt.encode(_claims(), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-2026"})
    assert (await verifier.verify(old)).client_id == "jwt:mobile-bff"
    # A new key is published; a token naming it makes the verifier read the set again (at
    # most every 30 s, so a flood of unknown kids cannot hammer the key server).
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rotated.public_key()))
    jwks.write_text(
        json.dumps({"keys": [{**rsa_jwk, "kid": "rsa-2026"}, {**new_jwk, "kid": "rsa-2027"}]})
    )
    new = jwt.encode(_claims(), rotated, algorithm="RS256", headers={"kid": "rsa-2027"})
    clock[0] = 5.0
    with pytest.raises(InvalidCredentials):
        await verifier.verify(new)
    clock[0] = 31.0
    assert (await verifier.verify(new)).scopes == {Scope.RESTAURANTS_READ}
    assert (await verifier.verify(old)).client_id == "jwt:mobile-bff"


def test_jwt_config_reads_the_secret_from_the_environment(tmp_path: Path) -> None:
    pem = tmp_path / "key.pem"
    pem.write_text(_pem_public(RSA_KEY))
    settings = parse_settings(
        {
            "upstreams": [
                {
                    "name": "v",
                    "kind": "vardvik",
                    "base_url": "http://x",
                    "options": {"restaurant_ids": ["r"]},
                }
            ],
            "auth": {
                "jwt": {
                    "issuer": ISS,
                    "audience": AUD,
                    "algorithms": ["HS256", "RS256"],
                    "hs256_secret": "TG_JWT_SECRET",
                    "public_key_files": {"k1": str(pem)},
                    "scope_claim": "scp",
                }
            },
        },
        {"TG_JWT_SECRET": HS_SECRET},
    )
    assert settings.auth.jwt is not None
    assert settings.auth.jwt.hs256_secret == Secret(HS_SECRET)
    assert settings.auth.jwt.scope_claim == "scp"
    assert HS_SECRET not in repr(settings)


async def test_a_jwks_url_is_cached_and_read_again_for_a_new_kid(start_server) -> None:  # type: ignore[no-untyped-def]
    from aiohttp import web

    served: dict[str, Any] = {"keys": []}
    fetches: list[int] = []

    async def jwks(request: web.Request) -> web.Response:
        fetches.append(1)
        return web.json_response(served)

    app = web.Application()
    app.router.add_get("/jwks.json", jwks)
    url = await start_server(app)
    first_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    served["keys"] = [{**first_jwk, "kid": "k1"}]
    clock = [0.0]
    verifier = JwtVerifier(
        JwtSettings(issuer=ISS, audience=AUD, algorithms=("RS256",), jwks_url=f"{url}/jwks.json"),
        timer=lambda: clock[0],
    )
    token = jwt.encode(_claims(), RSA_KEY, algorithm="RS256", headers={"kid": "k1"})
    for _ in range(5):
        assert (await verifier.verify(token)).client_id == "jwt:mobile-bff"
    assert len(fetches) == 1  # cached

    second = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    served["keys"].append(
        {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(second.public_key())), "kid": "k2"}
    )
    rotated = jwt.encode(_claims(), second, algorithm="RS256", headers={"kid": "k2"})
    clock[0] = 40.0
    assert (await verifier.verify(rotated)).client_id == "jwt:mobile-bff"
    assert len(fetches) == 2
    # An algorithm the verifier was not configured for is refused, whatever the kid says.
    es = jwt.encode(_claims(), EC_KEY, algorithm="ES256", headers={"kid": "k1"})
    with pytest.raises(InvalidCredentials):
        await verifier.verify(es)
