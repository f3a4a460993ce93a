"""The console a person sees: the busy-port line, log levels and formats, the access log,
``GET /graphql`` from curl and from a browser, and what ``simulate`` prints."""

from __future__ import annotations

import io
import json
import logging
import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tablegraph import logs
from tablegraph.cli import main, simulator_banner
from tablegraph.providers import KINDS
from tablegraph.settings import parse_settings
from tablegraph.simulators import simulator_module
from tablegraph.snippet import environment
from tests.conftest import StartServer

from .conftest import Api, start_gateway


@pytest.fixture
def busy_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_busy_port_is_one_line_suggesting_port(
    busy_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("TG_CONSOLE_KEY", "k")
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[[upstreams]]\nname = "v"\nkind = "vardvik"\nbase_url = "http://127.0.0.1:9/api/v1"\n'
        'credentials = { api_key = "TG_CONSOLE_KEY" }\noptions = { restaurant_ids = ["rst_1"] }\n'
    )
    assert main(["serve", "--config", str(config), "--port", str(busy_port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"127.0.0.1:{busy_port} is already in use" in err[0] and "--port" in err[0]
    assert "Traceback" not in err[0]


def test_log_levels_hide_per_call_lines_and_json_is_one_object_per_line() -> None:
    stream = io.StringIO()
    logs.configure_console("info", "json", stream)
    logging.getLogger("httpx").info("HTTP Request: GET http://upstream/ok")
    logging.getLogger("tablegraph.gateway").warning("serving stale data")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["level"], e["message"]) for e in lines] == [("warning", "serving stale data")]
    logs.configure_console("debug", "text", stream)
    logging.getLogger("httpx").debug("HTTP Request: GET http://upstream/ok")
    assert stream.getvalue().splitlines()[-1].endswith("DEBUG HTTP Request: GET http://upstream/ok")


async def test_one_access_log_line_per_graphql_request(api: Api) -> None:
    stream = io.StringIO()
    logs.configure_console("info", "json", stream)
    await api.data("query Everything { restaurants { totalCount } }")
    await api.http.get("/graphql")
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [e for e in entries if e["logger"] == "tablegraph.access"]
    assert [(e["method"], e["operation"], e["status"]) for e in access] == [
        ("POST", "Everything", 200),
        ("GET", None, 400),
    ]
    assert access[0]["client_id"] == "test-client" and access[0]["duration_ms"] > 0
    assert access[0]["outcome"] == "ok" and access[1]["outcome"] is None
    assert access[0]["request_id"] != access[1]["request_id"]
    assert set(access[0]["upstreams"]) == {"vardvik-berlin", "vardvik-oslo"}
    assert all(n >= 1 for n in access[0]["upstreams"].values())
    assert not [e for e in entries if e["logger"].startswith("httpx")]


async def test_get_without_a_query_from_curl_is_a_hint(api: Api) -> None:
    answer = await api.http.get("/graphql", headers={"Accept": "*/*"})
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert "POST" in error["message"] and "GraphiQL" in error["message"]


async def test_a_query_link_in_a_browser_opens_graphiql_with_the_query(api: Api) -> None:
    query = "query Mine { upstreams { name } } # </script>"
    page = await api.http.get(
        "/graphql", params={"query": query}, headers={"Accept": "text/html,*/*"}
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert json.dumps(query).replace("<", "\\u003c").replace(">", "\\u003e") in page.text
    assert '</script>"' not in page.text


@pytest.mark.parametrize("kind", KINDS)
async def test_simulate_prints_url_credentials_and_a_config_that_works(
    kind: str, start_server: StartServer
) -> None:
    module = simulator_module(kind)
    url = await start_server(module.create_app(1, **getattr(module, "DEMO_OPTIONS", {})))
    upstreams = module.demo_upstreams(url)
    banner = simulator_banner(kind, url, upstreams)
    assert url in banner and "{'" not in banner  # a TOML snippet, not a Python dict
    for upstream in upstreams:
        for secret in upstream.credentials.values():
            assert secret.reveal() in banner
    snippet = banner[banner.index("[[upstreams]]") :]
    settings = parse_settings(tomllib.loads(snippet), environment(upstreams))
    assert [u.name for u in settings.upstreams] == [u.name for u in upstreams]
    runner, gateway_api = await start_gateway(list(settings.upstreams))
    try:
        data = await gateway_api.data("{ restaurants { totalCount } }")
    finally:
        await gateway_api.http.aclose()
        await runner.cleanup()
    assert data["restaurants"]["totalCount"] >= 1
