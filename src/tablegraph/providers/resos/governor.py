"""A client-side request budget per resOS API key: N requests per fixed calendar minute,
shared by every worker of the gateway and divided fairly between its clients.

resOS resets its limit "every minute as opposed to a minute from the first request", so the
budget is a fixed window aligned to the minute (not a sliding token bucket). The window's
count lives in the gateway's store (``stores.budget.SharedBudget``), so workers sharing the
store spend one budget together; without a store (adapter tests) a private in-memory one
stands in, through the same code. Requests over the budget wait in a priority queue until
the next window: mutations (priority 0) are granted before queued browsing reads
(priority 1), and those before background polls for booking events (priority 2).

Fairness between clients (``tablegraph.requester``: the client a request is answered for):
within a priority level queued requests are granted round robin per client, not first come
first served. And one client cannot spend the whole window before another has asked: part of
each window (``reserve``, a fraction of the budget) is held back from any client past its
fair share — the budget divided by one more than the clients seen in the window — and
released evenly as the window runs, so a client arriving after another's burst finds room at
once. The reserve is held only while other clients use the key (in this window or the one
before): a gateway with one active client keeps the whole minute for it.
Mutations and the gateway's own work (no client: start-up probes, background polls) are
never held back. The shares are counted in the store too, so they hold across workers.
Time and sleeping are injectable so tests move a fake clock instead of waiting a minute.

The governor hears from resOS twice: ``RateLimitObserver`` (a transport wrapper) reads the
``Retry-After`` every answer carries and keeps the window aligned with resOS' minute; a 429
reaches ``exhaust`` through the upstream client's ``on_rate_limited`` hook and holds the
queue until the reset, instead of each queued request drawing its own 429 (another process
may share the key).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import httpx

from tablegraph import deadline, requester
from tablegraph.stores.base import Store
from tablegraph.stores.budget import SharedBudget
from tablegraph.stores.memory import MemoryStore
from tablegraph.upstream_transport import upstream_transport

MUTATION = 0
READ = 1
BACKGROUND = 2

Now = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
#: The gateway's own work (no client) in the per-client queues.
_GATEWAY = ""


class RateGovernor:
    def __init__(
        self,
        budget: int = 100,
        *,
        window_seconds: float = 60.0,
        now: Now = time.time,
        sleep: Sleep = asyncio.sleep,
        store: Store | None = None,
        name: str = "resos",
        reserve: float = 0.0,
    ) -> None:
        if budget < 1:
            raise ValueError("budget must be at least 1")
        if not 0.0 <= reserve <= 1.0:
            raise ValueError("reserve must be between 0 and 1")
        self.budget = budget
        self.window_seconds = window_seconds
        #: Units of each window held back from clients past their share (released evenly).
        self.reserve = math.floor(budget * reserve)
        self._now = now
        self._sleep = sleep
        self._shared = SharedBudget(
            store if store is not None else MemoryStore(clock=now),
            name,
            budget,
            window_seconds,
            clock=now,
        )
        self._window = -1
        #: The window's total as last seen in the store (a hint: other workers take too).
        self._used = 0
        #: Requests this process sent in the current window (carried over if it moves).
        self._mine = 0
        #: Units still to be counted in the current window (see ``sync``).
        self._carry = 0
        #: Seconds past the local minute at which the upstream's window resets (clock skew).
        self._phase = 0.0
        self._blocked_until = 0.0
        #: Waiters by priority, then by client in round-robin order.
        self._queues: dict[int, OrderedDict[str, deque[asyncio.Future[None]]]] = {}
        self._pump: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._taking = asyncio.Lock()
        #: Grants by priority, for /metrics and tests.
        self.granted = {MUTATION: 0, READ: 0}

    # ---- state ------------------------------------------------------------------------------

    def _roll(self) -> float:
        now = self._now()
        window = math.floor((now - self._phase) / self.window_seconds)
        if window != self._window:
            self._window = window
            self._used = self._mine = 0
        if self._blocked_until and now >= self._blocked_until:
            self._blocked_until = 0.0  # the upstream's own window has reset
            self._used = 0
        return now

    def _has_room(self) -> bool:
        now = self._roll()
        return now >= self._blocked_until and self._used < self.budget

    def now(self) -> float:
        """The governor's clock (the calendar's seconds, injectable)."""
        return self._now()

    def remaining(self) -> int:
        if not self._has_room():
            return 0
        return self.budget - self._used

    def resets_in(self) -> float:
        now = self._roll()
        if self._blocked_until:
            return self._blocked_until - now
        return self._window_end() - now

    def _window_end(self) -> float:
        return (self._window + 1) * self.window_seconds + self._phase

    def _held(self) -> int:
        """Units of the current window still held back from clients past their share."""
        if not self.reserve:
            return 0
        left = min(max(self.resets_in() / self.window_seconds, 0.0), 1.0)
        return math.floor(self.reserve * left)

    def _next_release(self) -> float:
        """Seconds until the reserve next shrinks (or the window resets)."""
        held, resets_in = self._held(), self.resets_in()
        if not held:
            return resets_in
        # held = floor(reserve * resets_in / window) drops below ``held`` once resets_in
        # falls below held * window / reserve.
        return max(min(resets_in - held * self.window_seconds / self.reserve, resets_in), 0.0)

    def sync(self, upstream_resets_in: float) -> None:
        """Align the window with the upstream's, which every resOS answer announces in its
        ``Retry-After``. Requests already counted stay counted."""
        now = self._now()
        phase = (now + upstream_resets_in) % self.window_seconds
        drift = (phase - self._phase) % self.window_seconds
        if min(drift, self.window_seconds - drift) < 0.5:
            return  # within network latency: keep the window steady
        self._phase = phase
        window = math.floor((now - self._phase) / self.window_seconds)
        if window != self._window:
            # What this process sent counts in the window it now knows it was sent in.
            self._window = window
            self._carry += self._mine

    @property
    def waiting(self) -> dict[int, int]:
        out = {MUTATION: 0, READ: 0}
        for priority, clients in self._queues.items():
            waiters = sum(1 for q in clients.values() for f in q if not f.done())
            if waiters:
                out[priority] = out.get(priority, 0) + waiters
        return out

    def details(self) -> dict[str, Any]:
        return {
            "budgetPerMinute": self.budget,
            "remaining": self.remaining(),
            "resetsInSeconds": round(self.resets_in(), 3),
            "queued": sum(self.waiting.values()),
        }

    # ---- use --------------------------------------------------------------------------------

    async def acquire(self, priority: int = READ) -> None:
        """Wait until this request may be sent; counts it against the current window.

        Raises ``TimeoutError`` at once when the budget cannot have room before the request's
        deadline, and when the deadline passes while queued (the place in line is given up).
        """
        client = requester.current() or _GATEWAY
        if self._has_room() and await self._take(priority, client):
            return
        left = deadline.remaining()
        if left is not None and not self._has_room() and self.resets_in() >= left:
            raise TimeoutError("no room in the rate budget before the deadline")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        clients = self._queues.setdefault(priority, OrderedDict())
        clients.setdefault(client, deque()).append(future)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run_pump())
        async with asyncio.timeout(left):
            await future

    def exhaust(self, retry_after: float | None) -> None:
        """The upstream said 429: nothing more until it resets (``retry_after`` seconds)."""
        now = self._roll()
        if retry_after is not None and retry_after > 0:
            self._blocked_until = max(self._blocked_until, now + retry_after)
        if retry_after is None or self._window_end() - now <= retry_after + 0.5:
            # Our window ends no later than the upstream's block: mark it spent for every
            # worker, so they stop too instead of each drawing a 429 of its own.
            self._used = self.budget
            self._spawn(self._shared.add(self._window, self.budget))

    def close(self) -> None:
        """Stop the pump; waiters still queued are cancelled."""
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()
        for clients in self._queues.values():
            for queue in clients.values():
                for future in queue:
                    if not future.done():
                        future.cancel()
        self._queues.clear()
        for task in self._tasks:
            task.cancel()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            task = asyncio.get_running_loop().create_task(work)
        except RuntimeError:  # no loop (a synchronous test): nothing to tell other workers
            work.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _take(self, priority: int, client: str) -> bool:
        """Count one request of ``client`` in the current window if the rules allow it."""
        self._roll()
        window = self._window
        if self._carry:
            carry, self._carry = self._carry, 0
            await self._shared.add(window, carry)
        counted = self._counted(client)
        # Mutations are never held back; other requests past their client's share are.
        past_share = None if priority == MUTATION else self.budget - self._held()
        async with self._taking:  # one at a time here: no take sees another's passing unit
            taken, total = await self._shared.take_in(window, client=counted, past_share=past_share)
        if window != self._window:  # the window rolled (or moved) while we asked
            if taken:
                await self._shared.give_back(window, counted)
            return False
        if not taken:
            self._used = max(self._used, total - 1)  # all spent, or all a client past its share may
            return False
        self._used = max(self._used, total)
        self._mine += 1
        self.granted[priority] = self.granted.get(priority, 0) + 1
        return True

    def _counted(self, client: str) -> str | None:
        """The name under which ``client``'s share is counted (None: shares are not kept)."""
        return client if self.reserve and client != _GATEWAY else None

    async def _grant_next(self) -> bool:
        """Grant the first waiter the rules allow: by priority, round robin between clients."""
        for priority in sorted(self._queues):
            clients = self._queues[priority]
            for client in list(clients):
                queue = clients[client]
                while queue and queue[0].done():  # its waiter gave up (deadline, cancel)
                    queue.popleft()
                if not queue:
                    del clients[client]
                    continue
                if not self._has_room():
                    return False
                if await self._take(priority, client):
                    future = queue.popleft()
                    if future.done():  # gave up while the store answered
                        await self._shared.give_back(self._window, self._counted(client))
                        self._mine -= 1
                        self.granted[priority] -= 1
                        return True
                    future.set_result(None)
                    if queue:
                        clients.move_to_end(client)  # the next of this level is someone else's
                    else:
                        del clients[client]
                    return True
            if not clients:
                del self._queues[priority]
        return False

    def _queued(self) -> bool:
        return any(f for c in self._queues.values() for q in c.values() for f in q if not f.done())

    async def _run_pump(self) -> None:
        while self._queued():
            if await self._grant_next():
                continue
            if not self._queued():
                return
            wait = self.resets_in() if not self._has_room() else self._next_release()
            await self._sleep(max(wait, 0.001))


#: Seconds after which an answer's ``Retry-After`` is too old to place resOS' minute by (the
#: window would move by the delay, and back with the next quick answer).
SLOW_ANSWER = 0.5


class RateLimitObserver(httpx.AsyncBaseTransport):
    """Aligns the key's governor with resOS' minute from the ``Retry-After`` (milliseconds)
    of every quick answer but a 429 (that one is the client's ``on_rate_limited`` →
    ``exhaust``)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, governor: RateGovernor) -> None:
        self._inner = inner
        self._governor = governor

    @classmethod
    def around(
        cls, inner: httpx.AsyncBaseTransport | None, governor: RateGovernor, connections: int
    ) -> RateLimitObserver:
        """Observe ``inner`` (the runtime's transport), else a pool of ``connections``."""
        if inner is None:
            inner = upstream_transport(connections)
        if inner is None:  # a proxy in the environment: httpx's own transport
            limits = httpx.Limits(
                max_connections=connections, max_keepalive_connections=connections
            )
            inner = httpx.AsyncHTTPTransport(limits=limits)
        return cls(inner, governor)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = self._governor.now()
        response = await self._inner.handle_async_request(request)
        if self._governor.now() - sent > SLOW_ANSWER:
            return response  # its Retry-After was counted down before the wait: stale
        if response.status_code != 429:
            try:
                resets_in = float(response.headers.get("Retry-After", "")) / 1000
            except ValueError:
                return response  # no or an unreadable Retry-After: nothing to learn
            if math.isfinite(resets_in) and resets_in >= 0:
                self._governor.sync(resets_in)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
