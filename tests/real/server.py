"""The real LibreBooking server the ``real`` tests run against: find it, or start it.

``.ci/run`` starts it with ``shared/real-librebooking/up.sh`` before the tests and stops it
with ``down.sh`` after. Run alone (``python -m pytest tests/real``), the harness looks for a
server at ``TABLEGRAPH_LIBREBOOKING_URL`` (default ``http://127.0.0.1:8089/…``) and, when none
answers and this is root with ``up.sh`` beside the repository, starts one itself (the first
run installs Debian's PHP and MariaDB) and stops it at the end. When that is impossible the
tests skip with a one-line reason — except under ``CI=true``, where they fail.

The server's seed (``up.sh``): schedule 1 "Trattoria Uno" in America/New_York, 30-minute
slots 11:00–23:00, Table 1..4 seating 2/4/4/6, ``admin``/``password`` (administrator) and
``user``/``password`` (plain user). The harness adds schedule 2 (same layout, through SQL:
the API cannot create schedules) with one table that has a minimum notice, a buffer and an
advance limit, for the availability property test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

DEFAULT_URL = "http://127.0.0.1:8089/Web/Services/index.php/"
ACCOUNTS = {"admin": ("admin", "password"), "user": ("user", "password")}

#: The table of schedule 2 (values as the API takes and returns them).
RULES_TABLE = {
    "name": "Rules table",
    "location": "Garden",
    "maxParticipants": 4,
    "minNoticeAdd": "1d0h0m",
    "minNoticeUpdate": "1d0h0m",
    "bufferTime": "0d1h0m",
    "maxNotice": "20d0h0m",
}
RULES_SCHEDULE = "Rules room (LibreBooking)"


def required() -> bool:
    """In CI the real server is part of the suite: no skipping."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def base_url() -> str:
    url = os.environ.get("TABLEGRAPH_LIBREBOOKING_URL", DEFAULT_URL)
    return url if url.endswith("/") else url + "/"


def scripts_dir() -> Path | None:
    """``shared/real-librebooking`` beside the repository (CI), or /work/shared."""
    here = Path(__file__).resolve()
    for shared in (here.parents[3] / "shared", Path("/work/shared")):
        if (shared / "real-librebooking" / "up.sh").is_file():
            return shared / "real-librebooking"
    return None


def login(url: str, account: str = "admin") -> dict[str, str] | None:
    """Session headers for ``account``, or None when no LibreBooking answers there."""
    username, password = ACCOUNTS[account]
    try:
        response = httpx.post(
            url + "Authentication/Authenticate",
            json={"username": username, "password": password},
            timeout=10,
        )
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(body, dict) or body.get("isAuthenticated") is not True:
        return None
    return {"X-Booked-SessionToken": body["sessionToken"], "X-Booked-UserId": body["userId"]}


@dataclass
class Server:
    url: str
    started_here: bool
    #: The schedule id and table id the harness added (see ``RULES_TABLE``).
    rules_schedule: str | None = None
    rules_table: str | None = None

    def call(self, method: str, path: str, account: str = "admin", **kw: Any) -> httpx.Response:
        headers = login(self.url, account)
        assert headers is not None, f"cannot log in as {account} at {self.url}"
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)


def start() -> str | None:
    """Run up.sh (root only); None when it ran, else why it could not."""
    scripts = scripts_dir()
    if scripts is None:
        return "shared/real-librebooking/up.sh not found beside the repository"
    if os.geteuid() != 0:
        return "not root: up.sh needs apt-get to install PHP and MariaDB"
    if shutil.which("apt-get") is None and shutil.which("php") is None:
        return "neither PHP nor apt-get is available to install it"
    port = urlsplit(base_url()).port or 80
    env = {**os.environ, "LB_PORT": str(port)}
    try:
        done = subprocess.run(
            ["bash", str(scripts / "up.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "up.sh did not finish within 15 minutes"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
        return f"up.sh failed ({done.returncode}): {tail[0]}"
    return None


def stop() -> None:
    scripts = scripts_dir()
    if scripts is not None:
        subprocess.run(["bash", str(scripts / "down.sh")], capture_output=True, check=False)


def _sql(statement: str) -> str:
    database = os.environ.get("DB_NAME", "librebooking")
    done = subprocess.run(
        ["mysql", "-uroot", "-N", "-B", database, "-e", statement],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout.strip()


def ensure_rules_table(server: Server) -> str | None:
    """Schedule 2 with the rules table (idempotent); None when done, else why not."""
    if shutil.which("mysql") is None:
        return "the mysql client is not installed (needed to add a schedule)"
    try:
        sid = _sql(f"SELECT schedule_id FROM schedules WHERE name='{RULES_SCHEDULE}'")
        if not sid:
            _sql(
                "INSERT INTO schedules (name, isdefault, weekdaystart, daysvisible, layout_id) "
                f"VALUES ('{RULES_SCHEDULE}', 0, 0, 7, 1)"
            )
            sid = _sql(f"SELECT schedule_id FROM schedules WHERE name='{RULES_SCHEDULE}'")
    except (subprocess.SubprocessError, OSError) as exc:
        return f"cannot add the rules schedule through mysql: {exc}"
    resources = server.call("GET", "Resources/").json()["resources"]
    found = [r for r in resources if r["name"] == RULES_TABLE["name"]]
    if found:
        rid = str(found[0]["resourceId"])
    else:
        created = server.call(
            "POST",
            "Resources/",
            json={
                **RULES_TABLE,
                "scheduleId": int(sid),
                "autoAssignPermissions": True,
                "requiresApproval": False,
                "allowMultiday": False,
                "statusId": 1,
                "sortOrder": 1,
                "customAttributes": [],
                "minNoticeDelete": "",
                "groupIds": [],
                "icsUrl": None,
                "typeId": None,
            },
        )
        rid = str(created.json()["resourceId"])
    server.rules_schedule, server.rules_table = sid, rid
    return None


def expire_sessions() -> None:
    """Age every session past LibreBooking's 30-minute idle limit (a real expiry, server-side)."""
    _sql("UPDATE user_session SET last_modified = last_modified - INTERVAL 2 HOUR")
