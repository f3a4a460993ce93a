"""The benchmark's peer: GraphQL Mesh Compose + Hive Gateway over the Vardvik simulator.

``peer/`` holds the pinned npm setup (``package.json`` with its lockfile and the one override
it needs, from ``shared/bench-peer``) and the Mesh Compose configuration. ``install`` runs
``npm ci`` into a temporary folder named after the lockfile's hash (kept between runs, so a
second run does not install again; nothing is installed into the repository); ``compose``
builds the supergraph from the running simulator's ``/openapi.json``; ``command`` starts Hive
Gateway on it (``--fork N`` for N workers).

The peer serves ``DASHBOARD_ONE``: one Vardvik restaurant's day, each booking's guest names
(embedded in Vardvik's list) and the restaurant's name (one configuration read per query,
at the root: Mesh has no restaurant cache to answer it from).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent / "peer"
HEALTH = "/healthcheck"

DASHBOARD_ONE = """
query DashboardOne($rid: String!, $loc: String, $date: String) {
  config: getApiV1RestaurantsByRestaurantIdConfig(restaurantId: $rid) {
    restaurant { id name }
  }
  day: getApiV1RestaurantsByRestaurantIdReservations(
    restaurantId: $rid, locationId: $loc, date: $date
  ) {
    reservations { id startTime partySize status guest { id firstName lastName } }
  }
}
"""


def folder() -> Path:
    lock = (HERE / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock + (HERE / "package.json").read_bytes()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"tablegraph-bench-peer-{digest}"


def install() -> Path:
    """The folder with the pinned packages installed (``npm ci`` once per lockfile)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("the peer needs node and npm: apt-get install -y nodejs npm")
    target = folder()
    if not (target / "node_modules" / "@graphql-hive" / "gateway").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(HERE / name, target / name)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=target,
            check=True,
            timeout=900,
        )
    shutil.copyfile(HERE / "mesh.config.ts", target / "mesh.config.ts")
    return target


def compose(target: Path, vardvik_url: str, key: str) -> Path:
    """Compose the supergraph over the simulator at ``vardvik_url`` (it must be running)."""
    out = target / "supergraph.graphql"
    env = {**os.environ, "VARDVIK_URL": vardvik_url, "VARDVIK_KEY": key, "SUPERGRAPH": str(out)}
    subprocess.run(
        ["node", str(target / "node_modules/.bin/mesh-compose"), "-c", "mesh.config.ts"],
        cwd=target,
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
    )
    return out


#: Hive Gateway's own deduplication of identical queries in flight (off by default: the
#: ``peer-dedupe`` system turns it on). It shares a whole execution between requests with the
#: same document, variables and headers.
DEDUPE_CONFIG = """import { defineConfig } from '@graphql-hive/gateway';
export const gatewayConfig = defineConfig({ inboundInflightRequestDeduplication: true });
"""


def folder_for(target: Path, dedupe: bool) -> Path:
    """Where Hive Gateway runs: it reads ``gateway.config.ts`` from there (none: defaults)."""
    if not dedupe:
        return target
    where = target / "inbound-dedupe"
    where.mkdir(exist_ok=True)
    (where / "gateway.config.ts").write_text(DEDUPE_CONFIG)
    return where


def command(target: Path, supergraph: Path, port: int, workers: int) -> list[str]:
    return [
        "node",
        str(target / "node_modules/.bin/hive-gateway"),
        "supergraph",
        str(supergraph),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--fork",
        str(workers),
    ]
