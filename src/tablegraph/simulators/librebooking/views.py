"""JSON shapes of the LibreBooking simulator, as a real server (2.9) renders them.

Ids and most numbers are strings, booleans often ``0``/``1``, empty dates ``""``, dates
``2026-11-23T12:00:00-0500`` (no colon in the offset). The reservation list is in UTC; a
single reservation, schedules and slots are in the session user's zone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from tablegraph.simulators.librebooking.state import (
    LibreBookingState,
    Reservation,
    Resource,
    Schedule,
    User,
)
from tablegraph.timeutil import zone

Json = dict[str, Any]


def fmt(moment: datetime | None, tz: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(zone(tz)).strftime("%Y-%m-%dT%H:%M:%S%z")


def fmt_minutes(minutes: int) -> str:
    """LibreBooking's duration text: ``"1 hours 30 minutes"``, ``""`` for none."""
    if not minutes:
        return ""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} days"] if days else []
    parts += [f"{hours} hours"] if hours else []
    parts += [f"{mins} minutes"] if mins else []
    return " ".join(parts)


def fmt_dhm(minutes: int) -> str:
    """A resource's notice and buffer as the real server sends them: ``"1d0h0m"``,
    ``"0d1h30m"``; ``""`` for none."""
    if not minutes:
        return ""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return f"{days}d{hours}h{mins}m"


def link(base: str, path: str, title: str) -> Json:
    return {"href": f"{base}/{path}", "title": title}


def resource_json(res: Resource, base: str, attributes: dict[int, str]) -> Json:
    return {
        "links": [link(base, f"Resources/{res.id}", "get_resource")],
        "message": None,
        "resourceId": str(res.id),
        "name": res.name,
        "location": res.location,
        "contact": None,
        "notes": None,
        "minLength": "",
        "maxLength": "",
        "requiresApproval": int(res.requires_approval),
        "allowMultiday": "1" if res.allow_multiday else "0",
        "maxParticipants": None if res.seats is None else str(res.seats),
        "minNoticeAdd": fmt_dhm(res.min_notice_minutes),
        "minNoticeUpdate": fmt_dhm(res.min_notice_minutes),
        "minNoticeDelete": "",
        "maxNotice": fmt_dhm(res.max_notice_minutes),
        "description": res.description,
        "scheduleId": str(res.schedule_id),
        "icsUrl": None,
        "statusId": str(res.status_id),
        "statusReasonId": None,
        "customAttributes": [
            {
                "links": [link(base, f"Attributes/{aid}", "get_custom_attribute")],
                "message": None,
                "id": str(aid),
                "label": label,
                "value": None,
            }
            for aid, label in attributes.items()
        ],
        "typeId": None,
        "groupIds": [],
        "bufferTime": fmt_dhm(res.buffer_minutes),
        "autoReleaseMinutes": None,
        "requiresCheckIn": int(res.requires_check_in),
        "color": "",
        "creditsPerSlot": "0.00",
        "peakCreditsPerSlot": "0.00",
        "maxConcurrentReservations": 1,
    }


def schedule_item(s: Schedule, base: str) -> Json:
    return {
        "links": [link(base, f"Schedules/{s.id}", "get_schedule")],
        "message": None,
        "daysVisible": "7",
        "id": str(s.id),
        "isDefault": "1" if s.is_default else "0",
        "name": s.name,
        "timezone": s.timezone,
        "weekdayStart": "0",
        "availabilityBegin": "",
        "availabilityEnd": "",
        "maxResourcesPerReservation": 0,
        "totalConcurrentReservationsAllowed": 0,
    }


def _label(moment: datetime) -> str:
    return moment.strftime("%I:%M %p").lstrip("0")


def schedule_json(s: Schedule, user: User, today: date) -> Json:
    """One schedule; ``periods`` holds seven arrays indexed by weekday (0 = Sunday), each
    for that weekday's next occurrence from today, in the user's zone."""
    periods: list[list[Json]] = []
    for weekday in range(7):
        offset = (weekday - (today.isoweekday() % 7)) % 7
        day = today + timedelta(days=offset)
        day_periods = []
        for start, end, reservable in s.periods(day):
            local_start = start.astimezone(zone(user.timezone))
            local_end = end.astimezone(zone(user.timezone))
            day_periods.append(
                {
                    "start": fmt(start, user.timezone),
                    "end": fmt(end, user.timezone),
                    "label": _label(local_start),
                    "startTime": local_start.strftime("%H:%M:%S"),
                    "endTime": local_end.strftime("%H:%M:%S"),
                    "isReservable": reservable,
                }
            )
        periods.append(day_periods)
    return {
        "links": [],
        "message": None,
        "daysVisible": "7",
        "id": str(s.id),
        "isDefault": "1" if s.is_default else "0",
        "name": s.name,
        "timezone": s.timezone,
        "weekdayStart": "0",
        "icsUrl": None,
        "availabilityStart": "",
        "availabilityEnd": "",
        "maxResourcesPerReservation": 0,
        "totalConcurrentReservationsAllowed": 0,
        "periods": periods,
    }


def _people(state: LibreBookingState, ids: list[int]) -> list[Any] | dict[str, str]:
    # Observed: [] when empty, an object keyed by user id otherwise.
    if not ids:
        return []
    return {str(i): state.users[i].full_name for i in ids if i in state.users}


def list_item(state: LibreBookingState, r: Reservation, resource_id: int, base: str) -> Json:
    """A reservation as the list (and the slots) show it: always UTC."""
    res = state.resources[resource_id]
    owner = state.users.get(r.owner_id)
    buffer = timedelta(minutes=res.buffer_minutes)
    minutes = int((r.end - r.start).total_seconds() // 60)
    return {
        "links": [
            link(base, f"Resources/{res.id}", "get_resource"),
            link(base, f"Reservations/{r.ref}", "get_reservation"),
            link(base, f"Users/{r.owner_id}", "get_user"),
            link(base, f"Schedules/{res.schedule_id}", "get_schedule"),
        ],
        "message": None,
        "referenceNumber": r.ref,
        "startDate": fmt(r.start, "UTC"),
        "endDate": fmt(r.end, "UTC"),
        "firstName": owner.first_name if owner else "",
        "lastName": owner.last_name if owner else "",
        "resourceName": res.name,
        "title": r.title,
        "description": r.description,
        "requiresApproval": r.pending,
        "isRecurring": r.series is not None,
        "scheduleId": str(res.schedule_id),
        "userId": str(r.owner_id),
        "resourceId": str(res.id),
        "duration": fmt_minutes(minutes),
        "bufferTime": fmt_minutes(res.buffer_minutes),
        "bufferedStartDate": fmt(r.start - buffer, "UTC"),
        "bufferedEndDate": fmt(r.end + buffer, "UTC"),
        "participants": _people(state, r.participants),
        "invitees": _people(state, r.invitees),
        "participatingGuests": list(r.participating_guests),
        "invitedGuests": list(r.invited_guests),
        "startReminder": None if r.start_reminder is None else str(r.start_reminder),
        "endReminder": None,
        "color": "",
        "textColor": "",
        "checkInDate": fmt(r.check_in, "UTC"),
        "checkOutDate": fmt(r.check_out, "UTC"),
        "originalEndDate": "",
        "isCheckInEnabled": res.requires_check_in,
        "autoReleaseMinutes": None,
        "resourceStatusId": str(res.status_id),
        "creditsConsumed": None,
    }


def _user_ref(u: User, base: str) -> Json:
    return {
        "links": [link(base, f"Users/{u.id}", "get_user")],
        "message": None,
        "userId": str(u.id),
        "firstName": u.first_name,
        "lastName": u.last_name,
        "emailAddress": u.email,
    }


def reservation_json(state: LibreBookingState, r: Reservation, user: User, base: str) -> Json:
    """A single reservation: in the session user's zone; ``resources`` is an object."""
    tz = user.timezone
    first = state.resources[r.resource_ids[0]]
    owner = state.users[r.owner_id]
    checked_in = r.check_in is not None
    return {
        "links": [link(base, f"Schedules/{first.schedule_id}", "get_schedule")],
        "message": None,
        "referenceNumber": r.ref,
        "startDate": fmt(r.start, tz),
        "endDate": fmt(r.end, tz),
        "title": r.title,
        "description": r.description,
        "requiresApproval": r.pending,
        "isRecurring": r.series is not None,
        "scheduleId": str(first.schedule_id),
        "resourceId": str(first.id),
        "owner": _user_ref(owner, base),
        "participants": [_user_ref(state.users[i], base) for i in r.participants],
        "invitees": [_user_ref(state.users[i], base) for i in r.invitees],
        "customAttributes": [
            {
                "links": [link(base, f"Attributes/{aid}", "get_custom_attribute")],
                "message": None,
                "id": str(aid),
                "label": label,
                "value": r.attributes.get(aid),
            }
            for aid, label in state.reservation_attributes.items()
        ],
        "recurrenceRule": _recurrence_json(r),
        "attachments": [],
        "resources": {
            str(rid): {
                "links": [link(base, f"Resources/{rid}", "get_resource")],
                "message": None,
                "id": str(rid),
                "name": state.resources[rid].name,
                "type": None,
                "groups": [],
            }
            for rid in r.resource_ids
        },
        "accessories": [],
        "startReminder": (
            None if r.start_reminder is None else {"value": r.start_reminder, "interval": "minutes"}
        ),
        "endReminder": None,
        "allowParticipation": r.allow_participation,
        "checkInDate": fmt(r.check_in, tz),
        "checkOutDate": fmt(r.check_out, tz),
        "originalEndDate": "",
        "isCheckInAvailable": first.requires_check_in and not checked_in,
        "isCheckoutAvailable": checked_in and r.check_out is None,
        "autoReleaseMinutes": None,
    }


def _recurrence_json(r: Reservation) -> Json:
    """Observed: ``interval`` a string, the termination date in UTC (``+0000``)."""
    rule = r.series
    if rule is None:
        return {
            "type": "none",
            "interval": None,
            "monthlyType": None,
            "weekdays": None,
            "repeatTerminationDate": "",
        }
    return {
        "type": rule.type,
        "interval": str(rule.interval),
        "monthlyType": None,
        "weekdays": None,
        "repeatTerminationDate": fmt(rule.until, "UTC"),
    }


def user_json(u: User, base: str, *, detail: bool = False) -> Json:
    out: Json = {
        "links": [link(base, f"Users/{u.id}", "get_user")],
        "message": None,
        "id": str(u.id),
        "userName": u.username,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "emailAddress": u.email,
        "phoneNumber": u.phone,
        "dateCreated": fmt(u.created, u.timezone),
        "lastLogin": "",
        "statusId": "1",
        "timezone": u.timezone,
        "organization": None,
        "position": None,
        "language": u.language,
        "customAttributes": [],
        "currentCredits": "0.00",
        "reservationColor": "",
    }
    if detail:
        out.pop("dateCreated")
        out.update({"icsUrl": None, "defaultScheduleId": None, "permissions": [], "groups": []})
    return out


def slots_json(
    state: LibreBookingState,
    schedule_id: int,
    first: date,
    last: date,
    user: User,
    base: str,
    resource_id: int | None,
) -> Json:
    """``dates[] → resources[] → slots[]``: free slots one by one, a booking as one merged
    slot with its list item (UTC) embedded, closed hours as long non-reservable slots."""
    schedule = state.schedules.get(schedule_id)
    resources = state.schedule_resources(schedule_id) if schedule else []
    if resource_id is not None:
        resources = [r for r in resources if r.id == resource_id]
    layout_source = schedule or next(iter(state.schedules.values()), None)
    tz = user.timezone
    dates: list[Json] = []
    day = first
    while day <= last and layout_source is not None:
        periods = layout_source.periods(day)
        day_json: Json = {"links": [], "message": None, "date": fmt(periods[0][0], tz)}
        resources_json = []
        for res in resources:
            bookings = state.on_resource(res.id)
            slots: list[Json] = []
            i = 0
            buffer = timedelta(minutes=res.buffer_minutes)
            while i < len(periods):
                p_start, p_end, reservable = periods[i]
                booking = next((b for b in bookings if b.start < p_end and p_start < b.end), None)
                if booking is None and reservable and _buffered(bookings, p_start, p_end, buffer):
                    # Observed: the buffer around a booking is one merged non-reservable slot.
                    span = 1
                    while (
                        i + span < len(periods)
                        and periods[i + span][2]
                        and _buffered(bookings, *periods[i + span][:2], buffer)
                        and not any(
                            b.start < periods[i + span][1] and periods[i + span][0] < b.end
                            for b in bookings
                        )
                    ):
                        span += 1
                    end = periods[i + span - 1][1]
                    slots.append(_slot(p_start, end, span, False, False, tz, None, None))
                    i += span
                    continue
                if booking is None or not reservable:
                    slots.append(_slot(p_start, p_end, 1, False, reservable, tz, None, ""))
                    i += 1
                    continue
                span = 1
                while (
                    i + span < len(periods)
                    and periods[i + span][2]
                    and periods[i + span][0] < booking.end
                ):
                    span += 1
                owner = state.users.get(booking.owner_id)
                slots.append(
                    _slot(
                        p_start,
                        periods[i + span - 1][1],
                        span,
                        True,
                        False,
                        tz,
                        list_item(state, booking, res.id, base),
                        owner.full_name if owner else "",
                    )
                )
                i += span
            resources_json.append(
                {
                    "links": [link(base, f"Resources/{res.id}", "get_resource")],
                    "message": None,
                    "slots": slots,
                    "resourceId": str(res.id),
                    "resourceName": res.name,
                }
            )
        day_json["resources"] = resources_json
        dates.append(day_json)
        day += timedelta(days=1)
    return {
        "links": [link(base, f"Schedules/{schedule_id}", "get_schedule")],
        "message": None,
        "dates": dates,
    }


def _buffered(
    bookings: list[Reservation], start: datetime, end: datetime, buffer: timedelta
) -> bool:
    return bool(buffer) and any(start < b.end + buffer and b.start - buffer < end for b in bookings)


def _slot(
    start: datetime,
    end: datetime,
    span: int,
    reserved: bool,
    reservable: bool,
    tz: str,
    reservation: Json | None,
    label: str | None,
) -> Json:
    return {
        "links": [],
        "message": None,
        "slotSpan": span,
        "isReserved": reserved,
        "label": label,
        "isReservable": reservable,
        "color": "#ffffff" if reserved else None,
        "startDateTime": fmt(start, tz),
        "endDateTime": fmt(end, tz),
        "reservation": reservation,
    }
