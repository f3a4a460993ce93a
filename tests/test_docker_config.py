"""The compose gateway config is a valid tablegraph config (Docker itself is not run here)."""

from pathlib import Path

from tablegraph.settings import load_settings


def test_docker_gateway_toml_loads() -> None:
    path = Path(__file__).resolve().parent.parent / "docker" / "gateway.toml"
    settings = load_settings(path, {"VARDVIK_KEY": "demo-key"})
    assert [u.name for u in settings.upstreams] == ["vardvik-berlin"]
