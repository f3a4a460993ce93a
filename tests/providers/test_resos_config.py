"""resOS upstream configuration: restaurants from the gateway config, one key each."""

from __future__ import annotations

import tomllib

import pytest

from tablegraph.providers.resos import ResosProvider
from tablegraph.settings import ConfigError, parse_settings

TOML = """
[[upstreams]]
name = "resos-nordics"
kind = "resos"
base_url = "https://api.resos.com/v1"

[upstreams.options]
rate_limit_per_minute = 100

[[upstreams.options.restaurants]]
id = "cphHavnekoekken01"
name = "Havnekøkkenet"
timezone = "Europe/Copenhagen"
address = "Nyhavn 17, 1051 København K"
city = "Copenhagen"
api_key_credential = "key_copenhagen"

[[upstreams.options.restaurants]]
id = "osloBryggeriet002"
name = "Bryggeriet"
timezone = "Europe/Oslo"
api_key_credential = "key_oslo"
instant_confirmation = true

[upstreams.credentials]
key_copenhagen = "RESOS_KEY_CPH"
key_oslo = "RESOS_KEY_OSLO"
"""
ENV = {"RESOS_KEY_CPH": "k-cph", "RESOS_KEY_OSLO": "k-oslo"}


def test_documented_toml_shape_is_accepted() -> None:
    (config,) = parse_settings(tomllib.loads(TOML), ENV).upstreams
    provider = ResosProvider(config)
    assert sorted(provider.governors) == ["key_copenhagen", "key_oslo"]
    assert "k-cph" not in repr(config)  # secrets never print


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("timezone"), "'timezone' is required"),
        (lambda r: r.update(timezone="Mars/Olympus"), "unknown time zone"),
        (lambda r: r.update(api_key_credential="key_nowhere"), "is not configured"),
        (lambda r: r.update(colour="blue"), "unknown key(s) colour"),
        (lambda r: r.update(id="a/b"), "contains '/'"),
    ],
)
def test_bad_restaurant_entries_stop_start_up(change, message: str) -> None:  # type: ignore[no-untyped-def]
    data = tomllib.loads(TOML)
    change(data["upstreams"][0]["options"]["restaurants"][0])
    (config,) = parse_settings(data, ENV).upstreams
    with pytest.raises(ConfigError) as info:
        ResosProvider(config)
    assert message in str(info.value)


def test_unknown_option_is_refused_by_settings() -> None:
    data = tomllib.loads(TOML)
    data["upstreams"][0]["options"]["budget"] = 5
    with pytest.raises(ConfigError, match="unknown option"):  # the kit's wording
        parse_settings(data, ENV)


@pytest.mark.parametrize(
    ("key", "value"),
    [("rate_limit_per_minute", 0), ("list_window_days", "a week"), ("restaurants", ["cph"])],
)
def test_a_bad_option_value_is_refused_by_settings_naming_it(key: str, value: object) -> None:
    data = tomllib.loads(TOML)
    data["upstreams"][0]["options"][key] = value
    with pytest.raises(ConfigError, match=rf"options\.{key}"):
        parse_settings(data, ENV)
