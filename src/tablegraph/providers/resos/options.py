"""The options of a resOS upstream: typed ``Options``, and its restaurants.

resOS exposes no restaurant profile: one API key belongs to one restaurant, and its name,
time zone and address come from here, one table per restaurant, each naming the
credential that holds its key (credential names are free: ``credential_names = ("*",)``)::

    [[upstreams]]
    name = "resos-nordics"
    kind = "resos"
    base_url = "https://api.resos.com/v1"

    [[upstreams.options.restaurants]]
    id = "cphHavnekoekken01"              # the gateway's id; no "/"
    name = "Havnekøkkenet"
    timezone = "Europe/Copenhagen"
    address = "Nyhavn 17, 1051 København K"
    city = "Copenhagen"
    api_key_credential = "key_copenhagen"
    # optional: phone, latitude, longitude, instant_confirmation (create as "approved"),
    # source (default "website"), min_party_size, max_party_size

    [upstreams.credentials]
    key_copenhagen = "RESOS_KEY_COPENHAGEN"  # environment variable holding the key

The other options are the fields of ``Options`` (validated when the configuration is read).
Each restaurant table is checked when the adapter is built (``parse_restaurants``), so an
error names the restaurant's position and key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from tablegraph.errors import InvalidInput
from tablegraph.providers.kit import ProviderOptions
from tablegraph.settings import ConfigError
from tablegraph.timeutil import zone


class Options(ProviderOptions):
    """A resOS upstream's ``options`` table."""

    #: One table per restaurant (keys below, in ``_KEYS``); checked by ``parse_restaurants``.
    restaurants: list[dict[str, Any]] = Field(default_factory=list)
    #: Requests per API key per calendar minute (resOS' limit is 100).
    rate_limit_per_minute: int = Field(100, ge=1)
    #: Part of each minute's budget held back from a client past its fair share while other
    #: clients use the key, released evenly over the minute, so one client's burst leaves
    #: room for others (0: none).
    client_reserve: float = Field(0.5, ge=0, le=1)
    #: Long booking lists are read in windows of this many days.
    list_window_days: int = Field(7, ge=1)
    #: How far back and ahead guests are looked for among bookings.
    guest_lookback_days: int = Field(365, ge=0)
    guest_lookahead_days: int = Field(180, ge=0)
    #: The longest ``Retry-After`` a request waits for before failing as rate limited.
    max_retry_after_seconds: float = Field(10.0, ge=0)
    #: How long opening hours (and the seating rules in them) are cached.
    opening_hours_ttl_seconds: float = Field(300.0, ge=0)


_KEYS = frozenset(
    {
        "id",
        "name",
        "timezone",
        "address",
        "city",
        "phone",
        "latitude",
        "longitude",
        "api_key_credential",
        "instant_confirmation",
        "source",
        "min_party_size",
        "max_party_size",
    }
)


@dataclass(frozen=True)
class RestaurantConfig:
    id: str
    name: str
    timezone: str
    credential: str
    address: str | None = None
    city: str | None = None
    phone: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    #: New bookings are created ``approved`` instead of ``request``.
    instant_confirmation: bool = False
    #: resOS ``source`` of bookings made through the gateway.
    source: str = "website"
    min_party_size: int = 1
    max_party_size: int = 20


def parse_restaurants(
    upstream: str, raw: list[dict[str, Any]], credentials: Mapping[str, Any]
) -> list[RestaurantConfig]:
    if not raw:
        raise ConfigError(f"upstream {upstream!r}: options.restaurants must list restaurants")
    out: list[RestaurantConfig] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"upstream {upstream!r}: restaurants #{index + 1}"
        unknown = sorted(set(entry) - _KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
        for key in ("id", "name", "timezone", "api_key_credential"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise ConfigError(f"{where}: {key!r} is required")
        rid = entry["id"]
        if "/" in rid or rid in seen:
            raise ConfigError(f"{where}: id {rid!r} is duplicated or contains '/'")
        seen.add(rid)
        try:
            zone(entry["timezone"])
        except InvalidInput:
            raise ConfigError(f"{where}: unknown time zone {entry['timezone']!r}") from None
        if entry["api_key_credential"] not in credentials:
            raise ConfigError(
                f"{where}: credential {entry['api_key_credential']!r} is not configured"
            )
        out.append(
            RestaurantConfig(
                id=rid,
                name=entry["name"],
                timezone=entry["timezone"],
                credential=entry["api_key_credential"],
                address=entry.get("address"),
                city=entry.get("city"),
                phone=entry.get("phone"),
                latitude=entry.get("latitude"),
                longitude=entry.get("longitude"),
                instant_confirmation=bool(entry.get("instant_confirmation", False)),
                source=str(entry.get("source", "website")),
                min_party_size=int(entry.get("min_party_size", 1)),
                max_party_size=int(entry.get("max_party_size", 20)),
            )
        )
    return out
