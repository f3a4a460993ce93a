"""A circuit breaker per upstream: stop calling an upstream that keeps failing.

CLOSED counts consecutive failures; at ``failure_threshold`` it turns OPEN and every call
fails fast (``CircuitOpen``) for ``reset_seconds``; then it is HALF_OPEN and lets exactly
one probe through: success closes it, failure opens it again for another period.

A *failure* is the upstream not answering usefully: a transport error, a timeout or a 5xx.
Any other answer (2xx-4xx, including 429, which is the upstream alive and limiting us) is a
success. Small enough to own: the Python breaker libraries are either sync-only (pybreaker)
or unmaintained, and none takes an injectable timer, which the tests need.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from tablegraph.errors import CircuitOpen


class CircuitState(enum.Enum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 5
    reset_seconds: float = 10.0


class CircuitBreaker:
    def __init__(
        self,
        upstream: str,
        policy: BreakerPolicy | None = None,
        *,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstream = upstream
        self.policy = policy or BreakerPolicy()
        #: Replaceable: tests move time instead of sleeping.
        self.timer = timer
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        #: How many times it has opened (for /metrics and tests).
        self.opened_count = 0

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self.timer() - self._opened_at < self.policy.reset_seconds:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_in(self) -> float:
        """Seconds until a probe may go through (0 when closed or half-open)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.policy.reset_seconds - (self.timer() - self._opened_at))

    def admit(self) -> None:
        """Let a call through, or raise ``CircuitOpen`` without calling the upstream."""
        state = self.state
        if state is CircuitState.CLOSED:
            return
        if state is CircuitState.HALF_OPEN and not self._probing:
            self._probing = True  # this call is the probe; everyone else keeps failing fast
            return
        wait = round(self.retry_in(), 3)
        raise CircuitOpen(
            f"{self.upstream} is failing; the gateway stopped calling it for a while",
            upstream=self.upstream,
            details={"retryAfterSeconds": wait},
        )

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def failed(self) -> None:
        self._failures += 1
        if self._probing or (
            self._opened_at is None and self._failures >= self.policy.failure_threshold
        ):
            self._opened_at = self.timer()
            self.opened_count += 1
        self._probing = False

    def reset(self) -> None:
        """Close the circuit and forget past failures (an operator's or a test's fresh start)."""
        self.succeeded()

    def abandoned(self) -> None:
        """An admitted call ended without an answer either way (cancelled): free the probe."""
        self._probing = False

    def snapshot(self) -> dict[str, object]:
        return {
            "circuit": self.state.value,
            "consecutiveFailures": self._failures,
            "retryInSeconds": round(self.retry_in(), 3),
        }
