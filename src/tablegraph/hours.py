"""Is the restaurant open at a moment? Read from its ``OpeningHours``, on its own calendar.

The booking service asks this when a provider refuses a time as unavailable: some providers
cannot tell "closed" from "full", and a start while the restaurant is closed is a policy
refusal (``OUTSIDE_POLICY``), not a taken slot. A special day replaces the week's periods of
its date (closed all day, or its own hours); a period whose closing time is not after its
opening runs past midnight into the next date.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from tablegraph.model import OpeningHours
from tablegraph.timeutil import zone


def _spans(hours: OpeningHours, day: date) -> list[tuple[time, time]]:
    special = next((s for s in hours.special_days if s.day == day), None)
    if special is not None:
        if special.closed or special.opens is None or special.closes is None:
            return []
        return [(special.opens, special.closes)]
    return [(p.opens, p.closes) for p in hours.weekly if p.day_of_week == day.isoweekday()]


def open_at(hours: OpeningHours, moment: datetime, tz: str) -> bool | None:
    """True if some opening period holds ``moment`` (opening included, closing excluded);
    None when the hours say nothing (no weekly periods and no special days)."""
    if not hours.weekly and not hours.special_days:
        return None
    local = moment.astimezone(zone(tz))
    for day in (local.date() - timedelta(days=1), local.date()):
        for opens, closes in _spans(hours, day):
            start = datetime.combine(day, opens, tzinfo=local.tzinfo)
            end = datetime.combine(day, closes, tzinfo=local.tzinfo)
            if end <= start:
                end += timedelta(days=1)
            if start <= local < end:
                return True
    return False
