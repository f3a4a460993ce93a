"""Guests derived from resOS bookings (resOS has no verified guest endpoint).

A guest's identity is the normalized E.164 phone, else the lower-cased e-mail; its native id
is ``<restaurant id>/phone:+45…`` or ``<restaurant id>/email:…``, so one guest's bookings
can be found again with a ``customQuery``. Only bookings inside a window around today
(``guest_lookback_days`` / ``guest_lookahead_days``) are searched.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from tablegraph.model import Guest
from tablegraph.providers.kit import Caller, Page, offset_pages
from tablegraph.providers.resos import endpoints as api
from tablegraph.providers.resos.mapping import to_guests
from tablegraph.providers.resos.options import Options, RestaurantConfig
from tablegraph.providers.resos.payloads import RawBooking
from tablegraph.providers.resos.queries import identity_term, search_hit, search_term
from tablegraph.timeutil import local_day_bounds, to_zone

#: A guest search reads at most this many pages of the newest bookings.
SEARCH_PAGES = 5
Window = tuple[datetime, datetime]


def window(r: RestaurantConfig, now: datetime, options: Options) -> Window:
    today = to_zone(now, r.timezone).date()
    start, _ = local_day_bounds(today - timedelta(days=options.guest_lookback_days), r.timezone)
    _, end = local_day_bounds(today + timedelta(days=options.guest_lookahead_days), r.timezone)
    return start, end


async def find_guest(
    caller: Caller, r: RestaurantConfig, native_id: str, identity: str, within: Window
) -> Guest | None:
    """The guest of this identity, from its bookings (None: no booking of theirs)."""
    if not identity.startswith(("phone:", "email:")):
        return None
    raws = await api.bookings(caller, *within, identity_term(identity))
    return to_guests(caller.name, r.id, raws).get(native_id)


async def search_guests(
    caller: Caller, r: RestaurantConfig, search: str | None, limit: int, within: Window
) -> list[Guest]:
    """The guests of the most recent bookings (newest first, at most ``SEARCH_PAGES`` pages,
    stopping once ``limit`` guests are found); ``visit_count`` is left unknown when the scan
    stopped before the oldest booking."""
    needle = (search or "").strip().lower()
    scanned: list[RawBooking] = []
    complete = False

    def found() -> list[Guest]:
        guests = to_guests(caller.name, r.id, scanned).values()
        return [g for g in guests if not needle or search_hit(g, needle)]

    async def page(offset: int, size: int) -> Page[RawBooking]:
        nonlocal complete
        if scanned and len(found()) >= limit:
            return Page([])  # enough guests: an empty page ends the paging
        rows = await api.bookings_page(
            caller, *within, offset, size, custom_query=search_term(needle), newest_first=True
        )
        scanned.extend(rows.rows)
        complete = len(rows.rows) < size
        return rows

    await offset_pages(page, page_size=api.PAGE, max_rows=SEARCH_PAGES * api.PAGE)
    guests = found() if complete else [replace(g, visit_count=None) for g in found()]
    guests.sort(key=lambda g: (g.last_name or "", g.first_name or "", g.native_id))
    return guests[: max(0, limit)]
