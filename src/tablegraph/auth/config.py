"""``[auth]``, ``[auth.jwt]``, ``[auth.manage_tokens]`` and ``[[clients]]``: who may call.

Like upstream credentials, secrets (the JWT HMAC secret, the manage-token secrets) come from
environment variables the file names; API keys are stored only as hashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tablegraph.auth.identity import EVERYTHING, Tenancy
from tablegraph.auth.keys import check_hash
from tablegraph.auth.scopes import Scope, parse_scopes
from tablegraph.settings import ConfigError, Secret


@dataclass(frozen=True)
class ClientConfig:
    id: str
    scopes: frozenset[Scope]
    key_hashes: tuple[str, ...] = ()
    tenancy: Tenancy = EVERYTHING


@dataclass(frozen=True)
class JwtSettings:
    issuer: str | None = None
    audience: str | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    #: HS256 shared secret (from the environment).
    hs256_secret: Secret | None = None
    #: PEM public keys (RS256/ES256) by ``kid`` ("" for a key used when a token has no kid).
    public_keys: Mapping[str, str] = field(default_factory=dict)
    #: A JWKS document on disk or at a URL; keys are chosen by ``kid`` and re-read on a miss.
    jwks_file: str | None = None
    jwks_url: str | None = None
    jwks_cache_seconds: float = 300.0
    leeway_seconds: float = 30.0
    scope_claim: str = "scope"
    restaurants_claim: str = "restaurants"
    client_claim: str = "sub"


@dataclass(frozen=True)
class PreviousSecret:
    secret: Secret
    #: Tokens signed with it are accepted until then (the rotation's overlap).
    valid_until: datetime


@dataclass(frozen=True)
class ManageTokenSettings:
    secret: Secret | None = None
    previous: tuple[PreviousSecret, ...] = ()
    #: A file holding a generated secret (the demo), created on first use.
    secret_file: str | None = None
    #: How long after the booking's end a token keeps working.
    valid_after_end_seconds: float = 24 * 3600.0


@dataclass(frozen=True)
class AuthSettings:
    clients: tuple[ClientConfig, ...] = ()
    #: Scopes of a request without credentials; ``None``: such a request gets 401.
    anonymous_scopes: frozenset[Scope] | None = None
    anonymous_restaurants: Tenancy = EVERYTHING
    jwt: JwtSettings | None = None
    manage_tokens: ManageTokenSettings = field(default_factory=ManageTokenSettings)
    #: Where browsers reach the gateway (``https://gw.example.com``): OAuth callback URLs are
    #: built from it, never from the request's ``Host`` header.
    public_base_url: str | None = None


_AUTH_KEYS = {
    "anonymous_scopes",
    "anonymous_restaurants",
    "public_base_url",
    "jwt",
    "manage_tokens",
}
_CLIENT_KEYS = {"id", "scopes", "key_hashes", "restaurants"}
_JWT_KEYS = {
    "issuer",
    "audience",
    "algorithms",
    "hs256_secret",
    "public_keys",
    "public_key_files",
    "jwks_file",
    "jwks_url",
    "jwks_cache_seconds",
    "leeway_seconds",
    "scope_claim",
    "restaurants_claim",
    "client_claim",
}
_MANAGE_KEYS = {"secret", "previous", "secret_file", "valid_after_end_hours"}
_ALGORITHMS = {"HS256", "RS256", "ES256"}


def _no_unknown(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _env(environ: Mapping[str, str], name: object, where: str) -> Secret:
    if not isinstance(name, str) or name not in environ:
        raise ConfigError(f"{where}: environment variable {name} is not set")
    return Secret(environ[name])


def _scopes(values: object, where: str) -> frozenset[Scope]:
    if not isinstance(values, list):
        raise ConfigError(f"{where}: 'scopes' is a list of scope names")
    try:
        return parse_scopes(values, where)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _tenancy(values: object, where: str) -> Tenancy:
    if values is None:
        return Tenancy.everything()
    if not isinstance(values, list):
        raise ConfigError(f"{where}: 'restaurants' is a list of patterns")
    try:
        return Tenancy.parse(values)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def parse_auth(
    auth: Mapping[str, Any], clients: list[Mapping[str, Any]], environ: Mapping[str, str]
) -> AuthSettings:
    _no_unknown(auth, _AUTH_KEYS, "[auth]")
    parsed: list[ClientConfig] = []
    seen_ids: set[str] = set()
    seen_hashes: set[str] = set()
    for index, raw in enumerate(clients):
        where = f"[[clients]] #{index + 1}"
        _no_unknown(raw, _CLIENT_KEYS, where)
        cid = raw.get("id")
        if not isinstance(cid, str) or not cid:
            raise ConfigError(f"{where}: 'id' is required")
        if cid in seen_ids:
            raise ConfigError(f"{where}: duplicate client id {cid!r}")
        seen_ids.add(cid)
        hashes = raw.get("key_hashes", [])
        if not isinstance(hashes, list):
            raise ConfigError(f"client {cid!r}: 'key_hashes' is a list")
        for h in hashes:
            try:
                check_hash(h if isinstance(h, str) else "")
            except ValueError as exc:
                raise ConfigError(f"client {cid!r}: {exc}") from None
            if h in seen_hashes:
                raise ConfigError(f"client {cid!r}: a key hash is used by two clients")
            seen_hashes.add(h)
        parsed.append(
            ClientConfig(
                id=cid,
                scopes=_scopes(raw.get("scopes", []), f"client {cid!r}"),
                key_hashes=tuple(hashes),
                tenancy=_tenancy(raw.get("restaurants"), f"client {cid!r}"),
            )
        )
    anonymous = auth.get("anonymous_scopes")
    return AuthSettings(
        clients=tuple(parsed),
        anonymous_scopes=None if anonymous is None else _scopes(anonymous, "[auth]"),
        anonymous_restaurants=_tenancy(auth.get("anonymous_restaurants"), "[auth]"),
        jwt=_parse_jwt(auth["jwt"], environ) if "jwt" in auth else None,
        manage_tokens=_parse_manage(auth.get("manage_tokens", {}), environ),
        public_base_url=_base_url(auth.get("public_base_url")),
    )


def _base_url(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ConfigError("[auth]: 'public_base_url' is an http(s) URL")
    return value.rstrip("/")


def _parse_jwt(raw: Mapping[str, Any], environ: Mapping[str, str]) -> JwtSettings:
    where = "[auth.jwt]"
    _no_unknown(raw, _JWT_KEYS, where)
    algorithms = tuple(raw.get("algorithms", ["RS256", "ES256"]))
    bad = sorted(set(algorithms) - _ALGORITHMS)
    if bad or not algorithms:
        raise ConfigError(f"{where}: algorithms are some of HS256, RS256, ES256 (got {bad})")
    keys: dict[str, str] = {}
    for kid, path in dict(raw.get("public_key_files", {})).items():
        try:
            with open(path, encoding="utf-8") as fh:
                keys[kid] = fh.read()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read public key file {path}: {exc}") from None
    keys.update(dict(raw.get("public_keys", {})))
    secret = None
    if "hs256_secret" in raw:
        secret = _env(environ, raw["hs256_secret"], where)
    if "HS256" in algorithms and secret is None:
        raise ConfigError(f"{where}: HS256 needs 'hs256_secret' (an environment variable name)")
    asymmetric = set(algorithms) - {"HS256"}
    if asymmetric and not (keys or raw.get("jwks_file") or raw.get("jwks_url")):
        raise ConfigError(f"{where}: RS256/ES256 need public_keys, public_key_files or a JWKS")
    return JwtSettings(
        issuer=raw.get("issuer"),
        audience=raw.get("audience"),
        algorithms=algorithms,
        hs256_secret=secret,
        public_keys=keys,
        jwks_file=raw.get("jwks_file"),
        jwks_url=raw.get("jwks_url"),
        jwks_cache_seconds=float(raw.get("jwks_cache_seconds", 300.0)),
        leeway_seconds=float(raw.get("leeway_seconds", 30.0)),
        scope_claim=str(raw.get("scope_claim", "scope")),
        restaurants_claim=str(raw.get("restaurants_claim", "restaurants")),
        client_claim=str(raw.get("client_claim", "sub")),
    )


def _parse_manage(raw: Mapping[str, Any], environ: Mapping[str, str]) -> ManageTokenSettings:
    where = "[auth.manage_tokens]"
    _no_unknown(raw, _MANAGE_KEYS, where)
    previous: list[PreviousSecret] = []
    for index, entry in enumerate(raw.get("previous", [])):
        item = f"{where} previous #{index + 1}"
        _no_unknown(entry, {"secret", "valid_until"}, item)
        until = entry.get("valid_until")
        if isinstance(until, str):
            try:
                until = datetime.fromisoformat(until)
            except ValueError:
                until = None
        if not isinstance(until, datetime) or until.tzinfo is None:
            raise ConfigError(f"{item}: 'valid_until' is a date-time with an offset")
        previous.append(PreviousSecret(_env(environ, entry.get("secret"), item), until))
    return ManageTokenSettings(
        secret=_env(environ, raw["secret"], where) if "secret" in raw else None,
        previous=tuple(previous),
        secret_file=raw.get("secret_file"),
        valid_after_end_seconds=float(raw.get("valid_after_end_hours", 24)) * 3600,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)
