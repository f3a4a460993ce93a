"""The benchmark's peer: GraphQL Mesh Compose + Hive Gateway over the four simulators.

``peer/`` holds the pinned npm setup (``package.json`` with its lockfile and the one override
it needs, from ``shared/bench-peer``) and the Mesh Compose configuration. ``install`` runs
``npm ci`` into a temporary folder named after the lockfile's hash (kept between runs, so a
second run does not install again; nothing is installed into the repository); ``compose``
builds the supergraph from the running simulators' ``/openapi.json``, with the headers each
API wants (``credentials``: Vardvik's key, a Libro client-credentials token — two hours —,
a LibreBooking session — renewed by every use —, resOS's key of the dashboard restaurant);
``command`` starts Hive Gateway on it (``--fork N`` for N workers).

The peer serves two workloads, as the same work in each API's own shapes:
``DASHBOARD_ONE``, one Vardvik restaurant's day, each booking's guest names (embedded in
Vardvik's list) and the restaurant's name (one configuration read per query, at the root:
Mesh has no restaurant cache to answer it from); and ``DASHBOARD``, the day of the four
dashboard restaurants, one per provider, with the same: Vardvik as above; Libro's booking
list, its people page for the guests (the list side-loads none) and its restaurant list for
the name; LibreBooking's reservations of the schedule (names embedded) and the schedule for
its name; resOS's bookings (guest embedded; its API has no restaurant read, so no name).
A client of the peer joins Libro's people to the bookings itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tablegraph.simulators import simulator_module

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


DASHBOARD = """
query Dashboard(
  $vr: String!, $vl: String, $vd: String,
  $lc: String!, $ld: String,
  $bs: String!, $bstart: String, $bend: String,
  $rfrom: String, $rto: String
) {
  vardvikConfig: getApiV1RestaurantsByRestaurantIdConfig(restaurantId: $vr) {
    restaurant { id name }
  }
  vardvik: getApiV1RestaurantsByRestaurantIdReservations(
    restaurantId: $vr, locationId: $vl, date: $vd
  ) {
    reservations { id startTime partySize status guest { id firstName lastName } }
  }
  libroRestaurants: getRestrictedRestaurants(limit: "250")
  libro: getRestrictedRestaurantBookings(restaurant_code: $lc, date: $ld, limit: "250")
  libroPeople: getRestrictedPeople(restaurant_code: $lc, limit: "250")
  librebookingSchedule: getWebServicesIndexPhpSchedulesByScheduleId(scheduleId: $bs)
  librebooking: getWebServicesIndexPhpReservations(
    scheduleId: $bs, startDateTime: $bstart, endDateTime: $bend
  )
  resos: getV1Bookings(fromDateTime: $rfrom, toDateTime: $rto, limit: "100")
}
"""


def _post(url: str, body: bytes, content_type: str) -> Any:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def credentials(urls: dict[str, str]) -> dict[str, str]:
    """The environment ``mesh.config.ts`` reads: each simulator's URL and the headers' values
    its API wants, from the simulators' demo configurations (a token and a session obtained
    here, as a deployment of the peer would configure them)."""
    creds = {k: simulator_module(k).demo_upstreams(u)[0].credentials for k, u in urls.items()}
    libro = creds["libro"]
    form = {
        "grant_type": "client_credentials",
        "client_id": libro["client_id"].reveal(),
        "client_secret": libro["client_secret"].reveal(),
    }
    token = _post(
        urls["libro"] + "/oauth/token",
        urllib.parse.urlencode(form).encode(),
        "application/x-www-form-urlencoded",
    )
    booked = creds["librebooking"]
    login = {"username": booked["username"].reveal(), "password": booked["password"].reveal()}
    session = _post(
        urls["librebooking"] + "/Web/Services/index.php/Authentication/Authenticate",
        json.dumps(login).encode(),
        "application/json",
    )
    resos_key = creds["resos"]["key_copenhagen"].reveal()
    return {
        "VARDVIK_URL": urls["vardvik"],
        "VARDVIK_KEY": creds["vardvik"]["api_key"].reveal(),
        "LIBRO_URL": urls["libro"],
        "LIBRO_TOKEN": str(token["access_token"]),
        "LIBREBOOKING_URL": urls["librebooking"],
        "LIBREBOOKING_SESSION": str(session["sessionToken"]),
        "LIBREBOOKING_USER": str(session["userId"]),
        "RESOS_URL": urls["resos"],
        "RESOS_BASIC": base64.b64encode(f"{resos_key}:".encode()).decode(),
    }


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


def compose(target: Path, urls: dict[str, str]) -> Path:
    """Compose the supergraph over the simulators at ``urls`` by kind (they must be running)."""
    out = target / "supergraph.graphql"
    env = {**os.environ, **credentials(urls), "SUPERGRAPH": str(out)}
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
