"""``[[clients]]`` / ``[auth]`` parsing, and ``tablegraph keys new``."""

from __future__ import annotations

import re

import pytest

from tablegraph.auth.authenticate import Authenticator
from tablegraph.auth.keys import hash_key
from tablegraph.auth.scopes import Scope
from tablegraph.cli import main
from tablegraph.settings import ConfigError, parse_settings

UPSTREAMS = [
    {
        "name": "vardvik-berlin",
        "kind": "vardvik",
        "base_url": "http://x",
        "options": {"restaurant_ids": ["rst_1"]},
    }
]


def test_keys_new_prints_a_key_and_the_line_to_paste(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "new", "web-widget"]) == 0
    out = capsys.readouterr().out
    key = re.search(r"(tgk_\S+)", out)
    line = re.search(r'key_hashes = \["(sha256:[0-9a-f]{64})"\]', out)
    assert key and line
    assert line.group(1) == hash_key(key.group(1))
    assert main(["keys", "new", "web-widget"]) == 0
    assert key.group(1) not in capsys.readouterr().out  # a fresh key every time


async def test_clients_from_the_config_file() -> None:
    key = "tgk_widget-key-0123456789"
    settings = parse_settings(
        {
            "upstreams": UPSTREAMS,
            "auth": {"anonymous_scopes": ["restaurants:read", "availability:read"]},
            "clients": [
                {
                    "id": "web-widget",
                    "key_hashes": [hash_key(key)],
                    "scopes": ["restaurants:read", "bookings:create"],
                    "restaurants": ["vardvik-berlin:rst_1/loc_1", "libro-montreal"],
                }
            ],
        },
        {},
    )
    auth = Authenticator(settings.auth)
    widget = await auth.identify({"X-Api-Key": key})
    assert widget.client_id == "web-widget"
    assert widget.scopes == {Scope.RESTAURANTS_READ, Scope.BOOKINGS_CREATE}
    assert widget.tenancy.allows("vardvik-berlin", "rst_1/loc_1")
    assert not widget.tenancy.allows("vardvik-berlin", "rst_1/loc_2")
    assert widget.tenancy.allows("libro-montreal", "anything")
    anonymous = await auth.identify({})
    assert anonymous.client_id == "anonymous" and Scope.BOOKINGS_CREATE not in anonymous.scopes


@pytest.mark.parametrize(
    ("clients", "auth", "message"),
    [
        ([{"id": "a", "scopes": ["bookings:delete"]}], {}, "unknown scope 'bookings:delete'"),
        ([{"id": "a", "scopes": [], "key_hashes": ["md5:abc"]}], {}, "sha256"),
        ([{"id": "a", "scopes": [], "keys": ["tgk_plain"]}], {}, "unknown key(s) keys"),
        ([{"id": "a", "scopes": []}, {"id": "a", "scopes": []}], {}, "duplicate client id"),
        ([], {"jwt": {"algorithms": ["HS256"]}}, "hs256_secret"),
        ([], {"jwt": {"algorithms": ["none"]}}, "algorithms"),
        ([], {"anonymous_scopes": ["admin", "x"]}, "unknown scope 'x'"),
    ],
)
def test_bad_auth_config_names_the_problem(
    clients: list[dict[str, object]], auth: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings({"upstreams": UPSTREAMS, "clients": clients, "auth": auth}, {})
    assert message in str(err.value)


def test_no_auth_config_admits_nobody() -> None:
    settings = parse_settings({"upstreams": UPSTREAMS}, {})
    assert settings.auth.clients == () and settings.auth.anonymous_scopes is None
