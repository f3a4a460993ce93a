"""What a LibreBooking server says about its schedules and tables, read for the adapter:
schedules (zone, periods; cached), resources that seat guests, their areas, and one day's
``Schedules/{id}/Slots`` as grids.

Tables change while the gateway runs, but rarely: reads that only *offer* (restaurants,
availability) take them from a short cache (``TABLES_TTL``), so an availability search does not
list every resource again for each restaurant; a write reads them afresh (``tables``), and
that read renews the cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from tablegraph.cache import AsyncTTLCache
from tablegraph.errors import NotFound, UpstreamBadResponse
from tablegraph.providers.kit import Caller
from tablegraph.providers.librebooking import availability as slots
from tablegraph.providers.librebooking.parse import to_str_id
from tablegraph.providers.librebooking.payloads import fmt_input
from tablegraph.timeutil import local_day_bounds

Cache = Callable[[str, float], AsyncTTLCache[Any]]
#: How long offering reads keep the resource list: a table added or removed shows in
#: availability within this, and a write never books from it (it reads afresh).
TABLES_TTL = 60.0


class Catalog:
    def __init__(
        self,
        caller: Caller,
        cache: Cache,
        *,
        schedule_ids: list[str],
        duration: timedelta,
        max_advance: timedelta,
    ) -> None:
        self._call = caller
        self.schedule_ids = schedule_ids
        self.duration = duration
        self.max_advance = max_advance
        self._schedules: AsyncTTLCache[dict[str, Any]] = cache("schedules", 300.0)
        self._areas: AsyncTTLCache[dict[str, str]] = cache("areas", 300.0)
        self._tables: AsyncTTLCache[dict[str, list[slots.Table]]] = cache("tables", TABLES_TTL)

    def check(self, schedule_id: str) -> str:
        if schedule_id not in self.schedule_ids:
            raise NotFound(f"unknown restaurant {schedule_id!r}", upstream=self._call.name)
        return schedule_id

    async def schedule(self, schedule_id: str) -> dict[str, Any]:
        async def load() -> dict[str, Any]:
            body = await self._call.json("GET", f"Schedules/{schedule_id}")
            if not isinstance(body, dict) or not body.get("timezone"):
                name = self._call.name
                raise UpstreamBadResponse(f"{name} sent an unusable schedule", upstream=name)
            return body

        return await self._schedules.get_or_load(schedule_id, load)

    async def zone(self, schedule_id: str) -> str:
        self.check(schedule_id)
        return str((await self.schedule(schedule_id))["timezone"])

    async def offered_tables_by_schedule(self) -> dict[str, list[slots.Table]]:
        """``tables_by_schedule`` from the short cache: for reads that only offer."""
        return await self._tables.get_or_load("all", self.tables_by_schedule)

    async def tables_by_schedule(self) -> dict[str, list[slots.Table]]:
        """Every resource that seats guests, by schedule id, smallest first (read now)."""
        body = await self._call.json("GET", "Resources/")
        out: dict[str, list[slots.Table]] = {}
        for raw in body.get("resources") or [] if isinstance(body, dict) else []:
            table = slots.to_table(raw) if isinstance(raw, dict) else None
            sid = to_str_id(raw.get("scheduleId")) if isinstance(raw, dict) else None
            if table is not None and sid is not None:
                out.setdefault(sid, []).append(table)
        for tables in out.values():
            tables.sort(key=lambda t: (t.seats, int(t.id) if t.id.isdigit() else 0, t.id))
        self._areas.set("all", {t.id: t.location or "" for ts in out.values() for t in ts})
        self._tables.set("all", out)
        return out

    async def tables(self, schedule_id: str) -> list[slots.Table]:
        """The schedule's tables (read now: for writes), each with the advance limit the
        adapter enforces."""
        return self._limited((await self.tables_by_schedule()).get(schedule_id, []))

    async def offered_tables(self, schedule_id: str) -> list[slots.Table]:
        """``tables`` from the short cache: for availability."""
        return self._limited((await self.offered_tables_by_schedule()).get(schedule_id, []))

    def _limited(self, tables: list[slots.Table]) -> list[slots.Table]:
        limit = slots.advance_limit(tables, self.max_advance)
        return [replace(t, max_notice=t.max_notice or limit) for t in tables]

    async def areas(self) -> dict[str, str]:
        """Table id → area name (the resource's ``location``), from a recent read."""
        found = self._areas.get("all")
        if found is None:
            await self.offered_tables_by_schedule()
            found = self._areas.get("all") or {}
        return dict(found)

    async def grids(self, schedule_id: str, day: date, tz: str) -> dict[str, slots.Grid]:
        start, end = local_day_bounds(day, tz)
        body = await self._call.json(
            "GET",
            f"Schedules/{schedule_id}/Slots",
            params={
                "startDateTime": fmt_input(start),
                "endDateTime": fmt_input(end + self.duration),
            },
        )
        return slots.read_grids(body)
