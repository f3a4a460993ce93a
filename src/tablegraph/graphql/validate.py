"""Argument checks shared by queries and mutations: clear errors, never a crash.

Errors name fields in snake_case (``("party_size",)``), as the model and the adapters do;
``graphql.fields`` turns them into the schema's names."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from tablegraph import ids
from tablegraph.errors import InvalidInput
from tablegraph.timeutil import UTC, local_day_bounds

#: Any party size outside this is nonsense whatever the restaurant (policies narrow it).
PARTY_SIZE_RANGE = (1, 100)
#: Dates further than this from today are refused as input errors.
PAST_DAYS, FUTURE_DAYS = 400, 800
#: Longest booking-list window.
MAX_RANGE = timedelta(days=31)


def global_id(value: str, expected: str | None, field: tuple[str, ...]) -> ids.GlobalId:
    try:
        return ids.decode(value, expected)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field=field, details=exc.details) from None


def party_size(value: int, field: tuple[str, ...] = ("party_size",)) -> int:
    low, high = PARTY_SIZE_RANGE
    if not low <= value <= high:
        raise InvalidInput(f"party size must be between {low} and {high}", field=field)
    return value


def day(value: date, field: tuple[str, ...] = ("date",), *, today: date | None = None) -> date:
    today = today or datetime.now(UTC).date()
    if not today - timedelta(days=PAST_DAYS) <= value <= today + timedelta(days=FUTURE_DAYS):
        raise InvalidInput(
            f"date must be within {PAST_DAYS} days before and {FUTURE_DAYS} days after today",
            field=field,
        )
    return value


def instant(value: datetime, field: tuple[str, ...]) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput("a date-time must carry a UTC offset (e.g. +02:00 or Z)", field=field)
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-12:00 is past year 9999 in UTC
        raise InvalidInput("date-time out of range", field=field) from None
    day(utc.date(), field)
    return value


def local_time(value: time | None, field: tuple[str, ...]) -> time | None:
    """A time of day on the restaurant's clock: an offset would make it an instant."""
    if value is not None and value.tzinfo is not None:
        raise InvalidInput(
            "a time of day takes no UTC offset (the restaurant's local time)", field=field
        )
    return value


def window(
    tz: str, on: date | None, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    """The [start, end) a bookings query covers: a local date, or explicit instants."""
    if on is not None:
        if start is not None or end is not None:
            raise InvalidInput("give either date or from/to, not both", field=("date",))
        return local_day_bounds(day(on), tz)
    if start is None:
        raise InvalidInput("give a date, or from (and optionally to)", field=("from",))
    start = instant(start, ("from",))
    end = instant(end, ("to",)) if end is not None else start + timedelta(days=1)
    if end <= start:
        raise InvalidInput("to must be after from", field=("to",))
    if end - start > MAX_RANGE:
        raise InvalidInput("a booking window may span at most 31 days", field=("to",))
    return start, end


def text(value: str | None, field: tuple[str, ...], *, limit: int = 500) -> str | None:
    if value is None:
        return None
    if len(value) > limit:
        raise InvalidInput(f"at most {limit} characters", field=field)
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise InvalidInput("control characters are not allowed", field=field)
    return value


def cap(first: int | None, limit: int, default: int = 50) -> int:
    if first is None:
        return min(default, limit)
    if first < 0 or first > limit:
        raise InvalidInput(f"first must be between 0 and {limit}", field=("first",))
    return first
