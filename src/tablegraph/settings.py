"""Gateway settings: upstreams and limits, read from a TOML file plus the environment.

Secrets never live in the file: the file names environment variables, and their values are
wrapped in ``Secret`` so they never print. Unknown keys and missing variables stop start-up
with a message that names them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tablegraph.auth.config import AuthSettings


class ConfigError(Exception):
    """The configuration cannot be used; the message names the offending key or variable."""


class Secret:
    """A credential value that never shows in ``repr``, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class UpstreamConfig:
    name: str
    kind: str
    base_url: str
    credentials: Mapping[str, Secret] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    timeout_seconds: float = 10.0
    max_connections: int = 20
    #: Consecutive failed calls that open the circuit breaker, and how long it stays open.
    breaker_failures: int = 5
    breaker_reset_seconds: float = 10.0
    #: Seconds between polls of a watched restaurant (``None``: ``[events]``' default).
    poll_interval_seconds: float | None = None


@dataclass(frozen=True)
class EventSettings:
    """Live booking events (``tablegraph.events``)."""

    #: Events a subscriber may fall behind before it is disconnected (``SLOW_CONSUMER``).
    queue_size: int = 100
    #: How long events stay replayable by id after a reconnect.
    retention_seconds: float = 900.0
    #: Seconds between keep-alives on idle subscriptions (SSE comments, WebSocket pings).
    keepalive_seconds: float = 15.0
    #: Default seconds between polls of a watched restaurant of an upstream without webhooks.
    poll_interval_seconds: float = 10.0
    #: Bookings starting from a day ago to this many days ahead are polled.
    poll_window_days: int = 30


@dataclass(frozen=True)
class Limits:
    max_query_bytes: int = 100_000
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5_000
    #: Fields an operation selects once its fragments are expanded (``...F ...F`` counts twice).
    max_fields: int = 2_000
    max_directives: int = 50
    #: The most an operation may cost (``tablegraph.graphql.cost``); more is QUERY_TOO_COSTLY.
    max_cost: int = 1_000
    #: Memory for parsed and validated documents, keyed by their text (0: no cache).
    document_cache_mb: int = 64
    max_list: int = 100  # cap on every list argument and page size
    max_body_bytes: int = 1_000_000
    #: Default request-wide deadline; a client may ask for less with ``X-Request-Timeout-Ms``.
    request_timeout_ms: int = 10_000
    #: The least a client may ask for with ``X-Request-Timeout-Ms`` (less is a 400).
    min_request_timeout_ms: int = 100
    #: Arrays and objects nested deeper than this in a body or in GET ``variables`` are a 400.
    max_json_depth: int = 64
    #: Per client (``tablegraph.http.clients.client_key``); 0 turns a limit off.
    requests_per_minute: int = 3_000
    #: Query cost per client and minute, charged by ``RateLimiter.charge`` once costs exist.
    cost_per_minute: int = 50_000
    #: Requests of one client being handled at once; more are refused with 429.
    max_concurrent_per_client: int = 64


@dataclass(frozen=True)
class HttpSettings:
    #: A connection must deliver a request's complete headers within this many seconds of
    #: opening (or of its previous answer), or it is closed: slow-header clients (slowloris).
    header_timeout_seconds: float = 10.0
    #: The whole body of a request must arrive within this many seconds (else 408).
    body_timeout_seconds: float = 30.0
    #: ``/readyz`` probes each upstream at most once per this many seconds.
    readyz_cache_seconds: float = 5.0
    #: Answers shorter than this are sent uncompressed.
    compress_min_bytes: int = 1024


@dataclass(frozen=True)
class CorsSettings:
    #: Origins browsers may call from: exact (``https://app.example.com``) or one wildcard
    #: subdomain pattern (``https://*.example.com``). Empty: no cross-origin access.
    allow_origins: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = (
        "Authorization",
        "Content-Type",
        "X-Request-Timeout-Ms",
        "traceparent",
    )
    max_age_seconds: int = 600


#: Where ``serve`` keeps its durable state when the config names no ``[store] data_dir``.
DEFAULT_DATA_DIR = "~/.local/state/tablegraph"
STORE_KINDS = ("memory", "sqlite", "redis")


@dataclass(frozen=True)
class StoreConfig:
    """``[store]``: where idempotency records, write intents, tokens and budgets live.

    The TOML loader defaults to ``sqlite`` (durable); settings built in code default to
    ``memory``, which is what tests want.
    """

    kind: str = "memory"
    data_dir: str = DEFAULT_DATA_DIR
    redis_url: str | None = None


@dataclass(frozen=True)
class Security:
    """``[security]``: what a public deployment turns off, and which documents may run."""

    #: No introspection, no "Did you mean" suggestions, no GraphiQL unless ``graphiql``.
    #: On for ``serve`` (and whenever a config file is read); ``demo`` turns it off.
    production: bool = True
    #: Serve GraphiQL on ``GET /graphql``; by default only outside production mode.
    graphiql: bool | None = None
    #: Automatic persisted queries: clients may send a document's SHA-256 instead of its text.
    apq: bool = True
    #: Memory for the in-process LRU of registered APQ documents (their text) in front of the
    #: store, least recently used dropped first.
    apq_cache_mb: int = 16
    #: A manifest (``tablegraph documents``): when set, only its operations run.
    trusted_documents: str | None = None

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.production


@dataclass(frozen=True)
class GatewaySettings:
    upstreams: tuple[UpstreamConfig, ...]
    host: str = "127.0.0.1"
    port: int = 8080
    limits: Limits = field(default_factory=Limits)
    events: EventSettings = field(default_factory=EventSettings)
    security: Security = field(default_factory=Security)
    http: HttpSettings = field(default_factory=HttpSettings)
    cors: CorsSettings = field(default_factory=CorsSettings)
    reference_ttl_seconds: float = 300.0
    availability_ttl_seconds: float = 15.0
    #: How long reference data (profiles, opening hours) may be served stale while its
    #: upstream is failing. Availability is never served stale.
    reference_stale_seconds: float = 24 * 3600.0
    state_dir: str | None = None
    #: On SIGTERM/SIGINT: stop accepting, then give in-flight requests this long to finish.
    shutdown_grace_seconds: float = 30.0
    store: StoreConfig = field(default_factory=StoreConfig)
    #: The benchmark's naive baseline (issue #16): no DataLoader batching or per-request
    #: cache, and no reference or availability caching. Never for production.
    naive: bool = False
    #: A request asking for exactly the booking list (bookings, guests) another request is
    #: reading at that moment shares that read (``Gateway.booking_list``). Off: every request
    #: reads for itself (the benchmark's ``tablegraph-unshared``).
    share_reads_in_flight: bool = True
    #: Identical queries of one caller in flight answered by one execution
    #: (``graphql/shared_queries.py``); off by default, as in Hive Gateway.
    share_identical_queries: bool = False
    #: A query asked again is answered with its last answer when every upstream answer that
    #: one was built from is fetched again and found unchanged (``graphql/revalidated.py``).
    answer_unchanged_queries: bool = True
    #: Client identities, scopes, anonymous access, JWT and manage-token secrets. The default
    #: admits nobody: every request without valid credentials gets 401.
    auth: AuthSettings = field(default_factory=lambda: _no_auth())


def _no_auth() -> AuthSettings:
    from tablegraph.auth.config import AuthSettings  # late: auth.config imports this module

    return AuthSettings()


_GATEWAY_KEYS = {
    "naive",
    "share_reads_in_flight",
    "share_identical_queries",
    "answer_unchanged_queries",
    "host",
    "port",
    "reference_ttl_seconds",
    "availability_ttl_seconds",
    "reference_stale_seconds",
    "state_dir",
    "shutdown_grace_seconds",
}
_UPSTREAM_KEYS = {
    "name",
    "kind",
    "base_url",
    "credentials",
    "options",
    "timeout_seconds",
    "max_connections",
    "breaker_failures",
    "breaker_reset_seconds",
    "poll_interval_seconds",
}


def load_settings(path: str | Path, environ: Mapping[str, str]) -> GatewaySettings:
    """Read a TOML file; see README.md "Configuration" for the format."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return parse_settings(data, environ)


def parse_settings(data: Mapping[str, Any], environ: Mapping[str, str]) -> GatewaySettings:
    from tablegraph.auth.config import parse_auth
    from tablegraph.providers import provider_class  # late: providers import settings

    _no_unknown(
        data,
        {
            "gateway",
            "limits",
            "events",
            "security",
            "http",
            "cors",
            "upstreams",
            "auth",
            "clients",
            "store",
        },
        "top level",
    )
    gateway = dict(data.get("gateway", {}))
    _no_unknown(gateway, _GATEWAY_KEYS, "[gateway]")
    limits_data = dict(data.get("limits", {}))
    _no_unknown(limits_data, set(Limits.__dataclass_fields__), "[limits]")
    events_data = dict(data.get("events", {}))
    _no_unknown(events_data, set(EventSettings.__dataclass_fields__), "[events]")
    security_data = dict(data.get("security", {}))
    _no_unknown(security_data, set(Security.__dataclass_fields__), "[security]")
    http_data = dict(data.get("http", {}))
    _no_unknown(http_data, set(HttpSettings.__dataclass_fields__), "[http]")
    cors = _cors_settings(dict(data.get("cors", {})))
    upstreams: list[UpstreamConfig] = []
    seen: set[str] = set()
    for index, raw in enumerate(data.get("upstreams", [])):
        where = f"[[upstreams]] #{index + 1}"
        _no_unknown(raw, _UPSTREAM_KEYS, where)
        for key in ("name", "kind", "base_url"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise ConfigError(f"{where}: '{key}' is required")
        name = raw["name"]
        if name in seen:
            raise ConfigError(f"{where}: duplicate upstream name {name!r}")
        seen.add(name)
        try:
            cls = provider_class(raw["kind"])
        except KeyError:
            raise ConfigError(f"upstream {name!r}: unknown kind {raw['kind']!r}") from None
        creds: dict[str, Secret] = {}
        for cred_key, env_name in dict(raw.get("credentials", {})).items():
            # ``("*",)`` lets an adapter name its credentials per restaurant (resOS).
            if "*" not in cls.credential_names and cred_key not in cls.credential_names:
                raise ConfigError(f"upstream {name!r}: unknown credential {cred_key!r}")
            if env_name not in environ:
                raise ConfigError(f"upstream {name!r}: environment variable {env_name} is not set")
            creds[cred_key] = Secret(environ[env_name])
        options = dict(raw.get("options", {}))
        cls.check_options(options, name)
        upstreams.append(
            UpstreamConfig(
                name=name,
                kind=raw["kind"],
                base_url=raw["base_url"],
                credentials=creds,
                options=options,
                timeout_seconds=float(raw.get("timeout_seconds", 10.0)),
                max_connections=int(raw.get("max_connections", 20)),
                breaker_failures=int(raw.get("breaker_failures", 5)),
                breaker_reset_seconds=float(raw.get("breaker_reset_seconds", 10.0)),
                poll_interval_seconds=(
                    float(raw["poll_interval_seconds"]) if "poll_interval_seconds" in raw else None
                ),
            )
        )
    if not upstreams:
        raise ConfigError("no [[upstreams]] configured")
    auth = parse_auth(dict(data.get("auth", {})), list(data.get("clients", [])), environ)
    return GatewaySettings(
        upstreams=tuple(upstreams),
        limits=Limits(**limits_data),
        events=EventSettings(**events_data),
        security=Security(**security_data),
        http=HttpSettings(**http_data),
        cors=cors,
        auth=auth,
        store=_store_config(dict(data.get("store", {}))),
        **gateway,
    )


def _store_config(raw: dict[str, Any]) -> StoreConfig:
    _no_unknown(raw, set(StoreConfig.__dataclass_fields__), "[store]")
    kind = raw.get("kind", "sqlite")
    if kind not in STORE_KINDS:
        raise ConfigError(f"[store] kind must be one of {', '.join(STORE_KINDS)}, not {kind!r}")
    if kind == "redis" and not raw.get("redis_url"):
        raise ConfigError("[store] kind = 'redis' needs redis_url")
    return StoreConfig(
        kind=kind,
        data_dir=str(raw.get("data_dir", DEFAULT_DATA_DIR)),
        redis_url=raw.get("redis_url"),
    )


def _cors_settings(data: dict[str, Any]) -> CorsSettings:
    from tablegraph.http.cors import parse_origin_pattern  # late: http imports settings

    _no_unknown(data, set(CorsSettings.__dataclass_fields__), "[cors]")
    for key in ("allow_origins", "allow_headers"):
        if key in data:
            value = data[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"[cors] {key} must be a list of strings")
            data[key] = tuple(value)
    for origin in data.get("allow_origins", ()):
        try:
            parse_origin_pattern(origin)
        except ValueError as exc:
            raise ConfigError(f"[cors] allow_origins: {exc}") from None
    return CorsSettings(**data)


def _no_unknown(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
