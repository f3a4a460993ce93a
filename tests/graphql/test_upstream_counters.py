"""``upstreams { requestsSent details }`` count the request they answer: sibling fields resolve
concurrently, so counters read while they run lagged one response (issue 14 item 8: the
LibreBooking login of the very request that asked read 0)."""

from __future__ import annotations

from typing import Any

from .stacks import start_stack

COUNTERS = "upstreams { name requestsSent details }"
WITH_RESTAURANTS = "{ restaurants(first: 5) { edges { node { name } } } " + COUNTERS + " }"
ALIASED = """{ restaurants(first: 5) { edges { node { name } } }
  up: upstreams { ...Counters } }
fragment Counters on Upstream { sent: requestsSent d: details }"""


async def test_counters_include_the_requests_own_login_and_calls(start_server: Any) -> None:
    stack, close = await start_stack("librebooking", start_server)
    try:
        alone = (await stack.api.data("{ " + COUNTERS + " }"))["upstreams"]
        first = (await stack.api.data(WITH_RESTAURANTS))["upstreams"]
        sent_after_first = stack.provider.requests_sent
    finally:
        await close()
    assert [u["details"]["logins"] for u in alone] == [0]  # nothing was asked upstream yet
    [counters] = first
    assert counters["details"]["logins"] == 1  # the login this very request made
    assert counters["requestsSent"] == sent_after_first > 0


async def test_aliases_and_fragments_are_counted_too(start_server: Any) -> None:
    stack, close = await start_stack("librebooking", start_server)
    try:
        [counters] = (await stack.api.data(ALIASED))["up"]
        sent = stack.provider.requests_sent
    finally:
        await close()
    assert counters["d"]["logins"] == 1 and counters["sent"] == sent > 0
