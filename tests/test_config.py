"""The configuration file, ``tablegraph init`` and ``tablegraph check``.

- every broken configuration below is one line naming the file, the key path and what was
  expected, with exit code 2 and no traceback;
- ``init``'s file, pointed at the four simulators, passes ``check``; so does every example in
  the README's "Connect your own restaurants";
- ``check`` tells a missing scheme, a wrong path prefix, refused credentials and an
  unreachable host apart; and DNS, refused, TLS and timeout among unreachable hosts.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tablegraph.cli import main
from tablegraph.configcheck import unreachable_reason
from tablegraph.configinit import example_upstreams, options_table, upstream_keys_table
from tablegraph.providers import KINDS, provider_class
from tablegraph.simulators import simulator_module
from tablegraph.snippet import environment, upstream_toml
from tests.conftest import StartServer

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")

VARDVIK = """\
[[upstreams]]
name = "vardvik-berlin"
kind = "vardvik"
base_url = "http://127.0.0.1:9/api/v1"
credentials = { api_key = "TG_TEST_KEY" }
options = { restaurant_ids = ["rst_1"] }
"""


def _with(**changes: str) -> str:
    text = VARDVIK
    for old, new in changes.items():
        text = text.replace(old.replace("_SP_", " "), new)
    return text


#: (name, file text, the one line expected after "<file>: ")
BROKEN = [
    (
        "timeout as words",
        VARDVIK + 'timeout_seconds = "ten"\n',
        'upstreams[1].timeout_seconds: expected a number, got "ten"',
    ),
    (
        "credentials as a string",
        VARDVIK.replace('{ api_key = "TG_TEST_KEY" }', '"X"'),
        'upstreams[1].credentials: expected a table, e.g. { key = "value" }, got "X"',
    ),
    (
        "[upstreams] with single brackets",
        VARDVIK.replace("[[upstreams]]", "[upstreams]"),
        "upstreams: expected an array of tables: write [[upstreams]] (two brackets) before each "
        "upstream",
    ),
    (
        "max_depth as words",
        '[limits]\nmax_depth = "deep"\n\n' + VARDVIK,
        'limits.max_depth: expected a whole number, got "deep"',
    ),
    (
        "restaurant_ids as a string",
        VARDVIK.replace('["rst_1"]', '"rst_1"'),
        'upstreams[1].options.restaurant_ids: expected a list, e.g. ["a", "b"], got "rst_1"',
    ),
    (
        "unknown kind",
        VARDVIK.replace('kind = "vardvik"', 'kind = "opentable"'),
        'upstreams[1].kind: unknown kind "opentable" (valid: vardvik, libro, librebooking, resos)',
    ),
    (
        "base_url without a scheme",
        VARDVIK.replace("http://", ""),
        'upstreams[1].base_url: "127.0.0.1:9/api/v1" has no http:// or https:// scheme: write '
        'base_url = "https://127.0.0.1:9/api/v1" (or http:// for a local server)',
    ),
    (
        "base_url without its API path",
        VARDVIK.replace("/api/v1", ""),
        'upstreams[1].base_url: "http://127.0.0.1:9" lacks the API path prefix /api/v1: write '
        'base_url = "http://127.0.0.1:9/api/v1"',
    ),
    (
        "a required credential missing",
        VARDVIK.replace('credentials = { api_key = "TG_TEST_KEY" }\n', ""),
        "upstreams[1].credentials.api_key: missing: name the environment variable that holds it, "
        'e.g. credentials = { api_key = "TG_VARDVIK_BERLIN_API_KEY" }',
    ),
    (
        "a credential's variable not set",
        VARDVIK.replace('"TG_TEST_KEY"', '"TG_NOT_SET"'),
        "upstreams[1].credentials.api_key: environment variable TG_NOT_SET is not set",
    ),
    (
        "an unknown upstream key",
        VARDVIK + "colour = 1\n",
        "upstreams[1].colour: unknown key (valid: name, kind, base_url, credentials, options, "
        "timeout_seconds, max_connections, breaker_failures, breaker_reset_seconds, "
        "poll_interval_seconds)",
    ),
    (
        "an unknown option",
        VARDVIK.replace('["rst_1"] }', '["rst_1"], colour = 1 }'),
        "upstreams[1].options.colour: unknown key (valid: restaurant_ids, config_ttl_seconds, "
        "availability_via_post)",
    ),
    (
        "a wrongly typed option",
        VARDVIK.replace('["rst_1"] }', '["rst_1"], config_ttl_seconds = "5" }'),
        'upstreams[1].options.config_ttl_seconds: expected a number, got "5"',
    ),
    (
        "port as a string",
        '[gateway]\nport = "8080"\n\n' + VARDVIK,
        'gateway.port: expected a whole number, got "8080"',
    ),
    (
        "[[gateway]] with double brackets",
        "[[gateway]]\nport = 1\n\n" + VARDVIK,
        "gateway: expected a table: write [gateway] (one bracket)",
    ),
    (
        "a negative timeout",
        VARDVIK + "timeout_seconds = -1\n",
        "upstreams[1].timeout_seconds: expected a value greater than 0, got -1",
    ),
    (
        "two upstreams, one name",
        VARDVIK + "\n" + VARDVIK,
        "upstreams[2].name: duplicate upstream name 'vardvik-berlin'",
    ),
    (
        "no upstreams",
        "[gateway]\nport = 8080\n",
        "no [[upstreams]] configured (`tablegraph init` writes examples)",
    ),
    ("not TOML", "[[upstreams]\n", None),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=n) for n, t, e in BROKEN])
def test_a_broken_configuration_is_one_line_and_exit_2(
    text: str, expected: str | None, tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("TG_TEST_KEY", "k")
    monkeypatch.delenv("TG_NOT_SET", raising=False)
    config = tmp_path / "gateway.toml"
    config.write_text(text)
    for command in (["serve", "--config", str(config)], ["check", "--config", str(config)]):
        assert main(command) == 2
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
        prefix = f"tablegraph: configuration error: {config}: "
        assert lines[0].startswith(prefix), lines[0]
        if expected is not None:
            assert lines[0] == prefix + expected


# ---- init and the README examples pass check against the simulators ------------------------


async def _simulators(start_server: StartServer) -> dict[str, str]:
    """Every simulator started; its gateway ``base_url`` by kind."""
    urls = {}
    for kind in KINDS:
        module = simulator_module(kind)
        root = await start_server(module.create_app(1, **getattr(module, "DEMO_OPTIONS", {})))
        urls[kind] = module.demo_upstreams(root)[0].base_url
    return urls


def _environment(base_urls: dict[str, str]) -> dict[str, str]:
    """The demo credentials under the variable names the examples use."""
    return environment(example_upstreams(base_urls))


async def _check(path: Path, monkeypatch: Any, env: dict[str, str], capsys: Any) -> tuple[int, str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = await asyncio.to_thread(main, ["check", "--config", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


async def test_init_output_passes_check_against_the_four_simulators(
    start_server: StartServer, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    urls = await _simulators(start_server)
    path = tmp_path / "gateway.toml"
    args = [f"--base-url={kind}={url}" for kind, url in urls.items()]
    assert main(["init", str(path), *args]) == 0
    assert main(["init", str(path)]) == 2  # never overwrites without --force
    capsys.readouterr()
    text = path.read_text()
    assert text.count("[[upstreams]]") == len(KINDS) and text.startswith("# tablegraph")
    code, out = await _check(path, monkeypatch, _environment(urls), capsys)
    assert code == 0, out
    assert out.count("credentials: accepted") == len(KINDS), out
    assert "every upstream is ready" in out


def _readme_examples() -> dict[str, str]:
    found = dict(re.findall(r"<!-- example: (\w+) -->\n```toml\n(.*?)```", README, re.S))
    return found


async def test_each_readme_example_passes_check(
    start_server: StartServer, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    examples = _readme_examples()
    assert sorted(examples) == sorted(KINDS)
    # The README shows exactly what `tablegraph init` writes for each kind.
    for upstream in example_upstreams():
        assert examples[upstream.kind] == upstream_toml(upstream), upstream.kind
    urls = await _simulators(start_server)
    blocks = []
    for kind, text in examples.items():
        example_url = tomllib.loads(text)["upstreams"][0]["base_url"]
        blocks.append(text.replace(example_url, urls[kind]))
    path = tmp_path / "readme.toml"
    path.write_text("\n".join(blocks))
    code, out = await _check(path, monkeypatch, _environment(urls), capsys)
    assert code == 0, out


def test_readme_option_tables_are_generated_from_the_models() -> None:
    for marker, table in (("upstream-keys", upstream_keys_table()), ("options", options_table())):
        block = README.split(f"<!-- {marker} -->")[1].split(f"<!-- /{marker} -->")[0]
        assert block.strip() == table, f"README {marker} table is stale"


def test_readme_links_stay_inside_the_repository() -> None:
    root = Path(__file__).resolve().parent.parent
    for target in re.findall(r"\]\(([^)#][^)]*)\)", README):
        if target.startswith(("http://", "https://")):
            continue
        assert (root / target).exists(), target


# ---- check tells mistakes apart ------------------------------------------------------------


async def test_check_tells_scheme_prefix_credentials_and_unreachable_apart(
    start_server: StartServer, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    module = simulator_module("vardvik")
    root = await start_server(module.create_app(1))
    good = f"{root}/api/v1"
    env = {"TG_TEST_KEY": "demo-key", "TG_WRONG_KEY": "not-the-key"}
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now

    async def run(text: str) -> tuple[int, str]:
        path = tmp_path / "case.toml"
        path.write_text(text)
        return await _check(path, monkeypatch, env, capsys)

    code, out = await run(VARDVIK.replace("http://127.0.0.1:9/api/v1", good[len("http://") :]))
    assert code == 2 and "has no http:// or https:// scheme" in out
    code, out = await run(VARDVIK.replace("http://127.0.0.1:9/api/v1", root))
    assert code == 2 and "lacks the API path prefix /api/v1" in out
    assert f'write base_url = "{good}"' in out
    code, out = await run(
        VARDVIK.replace("http://127.0.0.1:9/api/v1", good).replace("TG_TEST_KEY", "TG_WRONG_KEY")
    )
    assert code == 1 and "reachable: yes" in out and "credentials: REFUSED" in out, out
    code, out = await run(
        VARDVIK.replace("http://127.0.0.1:9/api/v1", f"http://127.0.0.1:{dead_port}/api/v1")
    )
    assert code == 1 and "reachable: NO — refused: nothing listens" in out, out
    code, out = await run(VARDVIK.replace("http://127.0.0.1:9/api/v1", good))
    assert code == 0 and "credentials: accepted" in out and "restaurants: 2 found" in out, out


def _connect_error(cause: BaseException) -> httpx.ConnectError:
    try:
        try:
            raise cause
        except BaseException as exc:
            raise httpx.ConnectError(str(exc)) from exc
    except httpx.ConnectError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (_connect_error(socket.gaierror(-2, "Name or service not known")), "DNS:"),
        (_connect_error(ConnectionRefusedError(111, "Connection refused")), "refused:"),
        (_connect_error(ssl.SSLCertVerificationError(1, "certificate verify failed")), "TLS:"),
        (httpx.ConnectTimeout("timed out"), "timeout:"),
    ],
)
def test_unreachable_hosts_are_told_apart(error: Exception, said: str) -> None:
    assert unreachable_reason(error).startswith(said)


def test_the_upstream_model_knows_every_key_the_settings_read() -> None:
    from tablegraph import settings
    from tablegraph.configmodel import UpstreamModel

    assert set(UpstreamModel.model_fields) == settings._UPSTREAM_KEYS


def test_every_typed_section_is_one_the_settings_read(tmp_path: Path, monkeypatch: Any) -> None:
    from tablegraph.configmodel import load_config, section_models

    monkeypatch.setenv("TG_TEST_KEY", "k")
    for name in section_models():
        config = tmp_path / f"{name}.toml"
        config.write_text(f"[{name}]\n\n" + VARDVIK)
        assert load_config(config, {"TG_TEST_KEY": "k"}).upstreams[0].name == "vardvik-berlin"


def test_every_kind_declares_how_its_base_url_looks() -> None:
    for kind in KINDS:
        cls = provider_class(kind)
        assert cls.example_base_url.startswith("https://")
        assert cls.example_base_url.endswith(cls.base_path)
