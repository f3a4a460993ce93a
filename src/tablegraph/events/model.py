"""A booking event, and how it is derived from two states of one booking.

An event's ``id`` names the *change*, not the delivery: it is a hash of the upstream, the
booking's native id, the kind and the changed values, and never of where or when the gateway
learnt it. The same reschedule reported by the gateway's own write, by a webhook and by a poll
therefore has one id, and the hub keeps the first. A creation and a cancellation happen once
per booking, so their ids name only the booking and the kind.

``diff`` is pure (no I/O, no clock): tests call it with two ``Booking`` values.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from tablegraph.model import Booking, BookingStatus


class EventKind(enum.Enum):
    CREATED = "CREATED"
    RESCHEDULED = "RESCHEDULED"
    CANCELLED = "CANCELLED"
    STATUS_CHANGED = "STATUS_CHANGED"
    UPDATED = "UPDATED"


class EventSource(enum.Enum):
    GATEWAY = "GATEWAY"
    WEBHOOK = "WEBHOOK"
    POLL = "POLL"


@dataclass(frozen=True)
class Change:
    """One field that changed, its values as text (instants in UTC, lists comma-joined)."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class BookingEvent:
    id: str
    kind: EventKind
    occurred_at: datetime
    source: EventSource
    booking: Booking
    changes: tuple[Change, ...] = ()

    @property
    def stream(self) -> tuple[str, str]:
        """The restaurant's stream: (upstream, native restaurant id)."""
        return (self.booking.upstream, self.booking.restaurant_id)


#: The fields compared between two states, in the order ``changes`` lists them. ``end`` is
#: left out: providers derive it from the start, so it moves with it.
WATCHED = ("status", "start", "party_size", "tables", "notes", "tags")
_MOVES = frozenset({"start", "party_size"})


def _text(booking: Booking, name: str) -> str | None:
    value = getattr(booking, name)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, BookingStatus):
        return value.value
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def changes_between(before: Booking, after: Booking) -> tuple[Change, ...]:
    return tuple(
        Change(name, old, new)
        for name in WATCHED
        if (old := _text(before, name)) != (new := _text(after, name))
    )


def kind_of(changes: tuple[Change, ...], after: Booking) -> EventKind | None:
    """What a set of changes amounts to (``None``: nothing changed)."""
    names = {c.field for c in changes}
    if not names:
        return None
    if "status" in names:
        cancelled = after.status is BookingStatus.CANCELLED
        return EventKind.CANCELLED if cancelled else EventKind.STATUS_CHANGED
    if names & _MOVES:
        return EventKind.RESCHEDULED
    return EventKind.UPDATED


def event_id(booking: Booking, kind: EventKind, changes: tuple[Change, ...] = ()) -> str:
    parts = [booking.upstream, booking.native_id, kind.value]
    if kind not in (EventKind.CREATED, EventKind.CANCELLED):
        parts += [f"{c.field}={c.old}>{c.new}" for c in changes]
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
    return f"evt_{digest}"


def created(booking: Booking, source: EventSource, at: datetime) -> BookingEvent:
    kind = EventKind.CREATED
    return BookingEvent(event_id(booking, kind), kind, at, source, booking)


def diff(
    before: Booking | None, after: Booking, source: EventSource, at: datetime
) -> BookingEvent | None:
    """The event that takes ``before`` to ``after`` (``before is None``: a new booking);
    ``None`` when nothing the gateway watches changed."""
    if before is None:
        return created(after, source, at)
    changes = changes_between(before, after)
    kind = kind_of(changes, after)
    if kind is None:
        return None
    return BookingEvent(event_id(after, kind, changes), kind, at, source, after, changes)


def unseen(after: Booking, source: EventSource, at: datetime) -> BookingEvent:
    """A change to a booking whose earlier state is unknown: cancelled, or updated to this."""
    cancelled = after.status is BookingStatus.CANCELLED
    kind = EventKind.CANCELLED if cancelled else EventKind.UPDATED
    return BookingEvent(event_id(after, kind), kind, at, source, after)
