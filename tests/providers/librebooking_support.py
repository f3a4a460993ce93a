"""Shared helpers for the LibreBooking tests: capture files, a clock, an adapter factory."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tablegraph.providers.kit import Runtime
from tablegraph.providers.librebooking import LibreBookingProvider
from tablegraph.simulators.common import REQUEST_COUNTS, Clock
from tablegraph.simulators.librebooking import (
    LIBREBOOKING_STATE,
    LibreBookingState,
    create_app,
    demo_upstreams,
)


def _captures_dir() -> Path:
    """``shared/`` sits beside the repository (in CI too); /work/shared on a workstation."""
    relative = Path("providers") / "librebooking-captures"
    for shared in (Path(__file__).resolve().parents[3] / "shared", Path("/work/shared")):
        if (shared / relative).is_dir():
            return shared / relative
    raise FileNotFoundError(f"shared/{relative} not found beside the repository")


CAPTURES = _captures_dir()
#: When the captures were taken on a real LibreBooking 2.9 server.
CAPTURE_TIME = datetime(2026, 11, 21, 19, 23, 28, tzinfo=UTC)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$")
_DIGITS = re.compile(r"^\d+$")


def load_capture(name: str) -> dict[str, Any]:
    path = name if name.endswith(".json") else next(CAPTURES.glob(f"*{name}*.json")).name
    data: dict[str, Any] = json.loads((CAPTURES / path).read_text(encoding="utf-8"))
    return data


def capture_body(name: str) -> Any:
    return load_capture(name)["response"]["body"]


def shape_mismatch(expected: Any, actual: Any, path: str = "$") -> str | None:
    """Why ``actual`` does not have the shape of ``expected`` (None if it does).

    Same keys at every level (an object keyed by ids is compared value by value), the same
    JSON types where both sides are non-null, a date string where the capture has one in
    LibreBooking's ``-0500`` format, and digit strings where the capture has a string id.
    Values themselves (ids, tokens, timestamps, names) are not compared.
    """
    if expected is None or actual is None:
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {type(actual).__name__}"
        if expected and all(_DIGITS.match(k) for k in expected):
            if not all(_DIGITS.match(k) for k in actual):
                return f"{path}: expected an object keyed by ids"
            model = next(iter(expected.values()))
            for key, value in actual.items():
                if (why := shape_mismatch(model, value, f"{path}.{key}")) is not None:
                    return why
            return None
        if set(expected) != set(actual):
            return (
                f"{path}: keys differ: missing {sorted(set(expected) - set(actual))}, "
                f"extra {sorted(set(actual) - set(expected))}"
            )
        for key in expected:
            if (why := shape_mismatch(expected[key], actual[key], f"{path}.{key}")) is not None:
                return why
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{path}: expected an array, got {type(actual).__name__}"
        if expected and not actual:
            return f"{path}: expected a non-empty array"
        for index, item in enumerate(actual):
            reasons = [shape_mismatch(model, item, f"{path}[{index}]") for model in expected]
            if expected and all(r is not None for r in reasons):
                return reasons[0]
        return None
    if type(expected) is not type(actual):
        return f"{path}: expected {type(expected).__name__}, got {type(actual).__name__}"
    if isinstance(expected, str):
        if _DATE.match(expected) and actual and not _DATE.match(actual):
            return f"{path}: expected a LibreBooking date, got {actual!r}"
        if _DIGITS.match(expected) and not _DIGITS.match(actual) and path.endswith(("Id", "id")):
            return f"{path}: expected a string id, got {actual!r}"
    return None


# ---- adapter against the simulator ------------------------------------------------------------


@dataclass
class Rig:
    state: LibreBookingState
    provider: LibreBookingProvider
    clock: Clock
    url: str
    #: The simulator's requests by route (``"GET /Web/Services/index.php/Resources/"``).
    counts: Counter[str] = field(default_factory=Counter)


MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture(name="make_rig")
async def make_rig_fixture(start_server: Any) -> AsyncIterator[MakeRig]:
    """``rig = await make_rig(now=..., bookings=False, setup=fn, **options)``: a simulator
    (its clock also the adapter's) and an adapter over it, closed after the test."""
    providers: list[LibreBookingProvider] = []

    async def _make(
        *,
        now: datetime = CAPTURE_TIME,
        bookings: bool = False,
        setup: Callable[[LibreBookingState], Any] | None = None,
        credentials: dict[str, Any] | None = None,
        **options: Any,
    ) -> Rig:
        clock = Clock(now)
        app = create_app(0, clock=clock, demo_bookings=bookings)
        state = app[LIBREBOOKING_STATE]
        if setup is not None:
            setup(state)
        url = await start_server(app)
        config = demo_upstreams(url)[0]
        config = replace(
            config,
            credentials=credentials if credentials is not None else config.credentials,
            options={**config.options, **options},
        )
        provider = LibreBookingProvider(config, Runtime(now=clock.now))
        providers.append(provider)
        return Rig(state, provider, clock, url, app[REQUEST_COUNTS])

    yield _make
    for provider in providers:
        await provider.close()
