"""docker/: the compose file parses, and every path, port, service, file and environment
variable it (and the gateway config, nginx config and Dockerfile) names exists in the project.
Docker itself is not run here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tablegraph.settings import load_settings
from tablegraph.simulators import available_simulators

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return data


def _gateway_env() -> dict[str, str]:
    return {k: str(v) for k, v in _compose()["services"]["gateway"]["environment"].items()}


def test_docker_gateway_toml_loads_with_the_compose_environment() -> None:
    settings = load_settings(DOCKER / "gateway.toml", _gateway_env())
    assert {u.kind for u in settings.upstreams} == set(available_simulators())
    assert settings.store.kind == "redis"


def test_every_env_variable_the_gateway_config_names_is_set_by_compose() -> None:
    config = tomllib.loads((DOCKER / "gateway.toml").read_text())
    named = {env for u in config["upstreams"] for env in u.get("credentials", {}).values()}
    assert named == set(_gateway_env())


def test_compose_builds_and_mounts_files_that_exist() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        build = service.get("build")
        if build:
            assert (DOCKER / build["context"]).resolve() == ROOT, name
            assert (ROOT / build["dockerfile"]).is_file(), name
        else:
            assert re.fullmatch(r"(redis|nginx):[\w.-]+", service["image"]), name  # official
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).is_file(), (name, source)
        for dependency in service.get("depends_on", []):
            assert dependency in services, (name, dependency)


def test_the_gateway_reaches_every_simulator_and_redis_by_service_and_port() -> None:
    services = _compose()["services"]
    listening: dict[str, int] = {}
    for name, service in services.items():
        command = service.get("command", [])
        if command[:1] == ["simulate"]:
            assert command[1] in available_simulators(), name
            listening[name] = int(command[command.index("--port") + 1])
    assert set(listening) == set(available_simulators())
    settings = load_settings(DOCKER / "gateway.toml", _gateway_env())
    for upstream in settings.upstreams:
        url = urlsplit(upstream.base_url)
        assert url.hostname in listening, upstream.name
        assert url.port == listening[url.hostname], upstream.name
    redis = urlsplit(settings.store.redis_url or "")
    assert redis.hostname in services and services[redis.hostname]["image"].startswith("redis:")


def test_the_load_balancer_fronts_two_gateway_replicas() -> None:
    services = _compose()["services"]
    assert services["gateway"]["deploy"]["replicas"] == 2
    nginx = (DOCKER / "nginx.conf").read_text()
    (server,) = re.findall(r"server\s+([\w-]+):(\d+);", nginx)
    assert server[0] == "gateway" and server[1] == "8080"
    assert "8080" in services["gateway"]["expose"]
    assert services["lb"]["ports"] == ["127.0.0.1:8080:8080"]  # loopback only
    assert re.search(r"listen\s+8080;", nginx)


def test_the_dockerfile_is_multi_stage_non_root_with_a_health_check_and_a_data_volume() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) == 2
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), path
    assert re.search(r"^USER tablegraph$", text, re.M)
    assert "/healthz" in text and re.search(r"^HEALTHCHECK ", text, re.M)
    assert 'VOLUME ["/data"]' in text
    assert '"--port", "8080"' in text
