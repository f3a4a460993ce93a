"""What tests and the soak run need of a simulator beyond the provider's public API, declared
once per kind (``tablegraph.simulators.<kind>.harness.HARNESS``).

With this, the shared suites (contract, chaos, fuzz, soak, concurrency, lost answers) hold no
per-provider code: a new provider kind joins them by shipping its simulator with a harness.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

from tablegraph.settings import UpstreamConfig

#: Authenticated headers for raw HTTP calls to the simulator (as the provider's client would).
Login = Callable[[httpx.AsyncClient, UpstreamConfig], Awaitable[dict[str, str]]]
#: Give a restaurant exactly ``n`` fresh four-seat tables, each bookable alone.
LeaveTables = Callable[[web.Application, str, int], None]
#: Assert that an error answer has the provider's own error shape for ``status``.
ErrorShape = Callable[[httpx.Response, int], None]


@dataclass(frozen=True)
class Harness:
    #: Regex of the create request's path (``Fault.path``; counted by the chaos suite).
    create_path: str
    #: A cheap authenticated GET with a deterministic JSON answer.
    probe_path: str
    login: Login
    leave_tables: LeaveTables
    error_shape: ErrorShape
    #: Whether the provider's credentials expire (sessions, OAuth tokens); API keys do not.
    credentials_expire: bool
    #: ``Retry-After`` unit in seconds (resOS: milliseconds).
    retry_after_unit: float = 1.0
    #: ``create_app`` options that lift the simulator's own rate limit.
    unlimited: Mapping[str, Any] = field(default_factory=dict)
    #: Upstream options that lift the adapter's own client-side request budget.
    unlimited_upstream: Mapping[str, Any] = field(default_factory=dict)


def harness_of(kind: str) -> Harness:
    from importlib import import_module

    found: Harness = import_module(f"tablegraph.simulators.{kind}.harness").HARNESS
    return found
