"""HTTP layer of the LibreBooking simulator: ``/Web/Services/index.php/…`` as a real server
answers it (see ``shared/providers/librebooking.md`` and its captures).

Quirks reproduced on purpose: HTTP 200 with ``isAuthenticated:false`` on a failed login; a
``text/html`` 401 for every auth failure; 500 HTML pages for bodies PHP cannot read (missing
``allowParticipation``/``termsAccepted``, malformed JSON at login); 200 with an empty body
for update/delete/approve of unknown references and for Slots without dates; 404 HTML for
unknown routes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tablegraph.simulators.common import CLOCK, Clock, new_app
from tablegraph.simulators.faults import Fault, FaultProfile
from tablegraph.simulators.librebooking import views
from tablegraph.simulators.librebooking.state import (
    LibreBookingState,
    RecurrenceRule,
    Reservation,
    ReservationError,
    ServerFault,
    User,
)
from tablegraph.timeutil import zone

PREFIX = "/Web/Services/index.php"
LIBREBOOKING_STATE = web.AppKey("librebooking_state", LibreBookingState)
_USER = web.RequestKey("librebooking_user", User)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_SLIM_ERROR = (
    "<html><head><title>Slim Application Error</title></head><body>"
    "<h1>Slim Application Error</h1><p>The application could not run because of the "
    "following error:</p><h2>Details</h2><div><strong>Code:</strong> 2</div><div><strong>"
    "Message:</strong> {message}</div><div><strong>File:</strong> {file}</div><h2>Trace</h2>"
    "<pre>#0 {file}: Slim\\Slim::handleErrors()\n#1 {{main}}</pre></body></html>"
)
_NOT_FOUND_PAGE = (
    "<!DOCTYPE html><html><head><title>404 Page Not Found</title></head><body>"
    "<h1>404 Page Not Found</h1><p>The page you are looking for could not be found.</p>"
    "</body></html>"
)
_RESOURCE_ATTRIBUTES = {2: "Seating notes"}
_ADMIN_ROUTES = {("POST", f"{PREFIX}/Users/"), ("POST", f"{PREFIX}/Users/{{userId}}")}


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def _empty() -> web.Response:
    # Observed: "Content-type: text/html; charset=UTF-8", zero-length body.
    return web.Response(status=200, body=b"", content_type="text/html", charset="UTF-8")


def _html(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/html", charset="UTF-8")


def _slim_500(message: str, file: str) -> web.Response:
    return _html(500, _SLIM_ERROR.format(message=message, file=file))


def _errors(errors: list[str]) -> web.Response:
    return _json(
        {"links": [], "message": "There were errors processing your request", "errors": errors},
        400,
    )


def _not_found() -> web.Response:
    return _json({"links": [], "message": "The requested resource was not found"}, 404)


def _base(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}{PREFIX}"


def _unauthorized(request: web.Request) -> web.Response:
    return _html(
        401,
        "You must be authenticated in order to access this service.<br/>"
        f"{_base(request)}/Authentication/Authenticate",
    )


def _fault_error(status: int) -> web.Response:
    """PHP's Slim page for a 500; otherwise the web server's own HTML error page."""
    if status == 500:
        return _slim_500("Simulated failure", "/var/www/librebooking/lib/Database/Database.php")
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return _html(
        status,
        f"<!DOCTYPE html><html><head><title>{status} {reason}</title></head><body>"
        f"<h1>{reason}</h1><hr><address>Apache Server</address></body></html>",
    )


def _expire_sessions(app: web.Application) -> None:
    app[LIBREBOOKING_STATE].expire_sessions()


#: LibreBooking has no rate limit of its own: a 429 burst is the front web server's HTML page
#: with ``Retry-After`` in seconds. Sessions expire.
FAULT_PROFILE = FaultProfile(
    "LibreBooking",
    _fault_error,
    lambda _seconds: _fault_error(429),
    expire_credentials=_expire_sessions,
)


@web.middleware
async def librebooking_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route
    if request.match_info.http_exception is not None:
        if isinstance(request.match_info.http_exception, web.HTTPNotFound):
            return _html(404, _NOT_FOUND_PAGE)
        return await handler(request)
    template = route.resource.canonical if route.resource is not None else request.path
    if template.startswith(PREFIX) and not template.startswith(f"{PREFIX}/Authentication/"):
        state = request.app[LIBREBOOKING_STATE]
        user = state.session_user(
            request.headers.get("X-Booked-SessionToken"), request.headers.get("X-Booked-UserId")
        )
        if user is None:
            return _unauthorized(request)
        if (request.method, template) in _ADMIN_ROUTES and not user.is_admin:
            return _unauthorized(request)
        request[_USER] = user
    return await handler(request)


# ---- input parsing (as LibreBooking does it) ----------------------------------------------

_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def parse_input_date(text: Any, user: User, now: datetime) -> datetime:
    """A value with ``T`` and an offset is exact; ``T`` without one is UTC; a space means the
    user's zone; anything unparseable silently becomes "now"."""
    if not isinstance(text, str) or not text.strip():
        return now
    s = text.strip()
    try:
        if "T" in s:
            m = _OFFSET.search(s)
            if m is None:
                return datetime.fromisoformat(s).replace(tzinfo=UTC)
            off = m.group(1)
            if off.upper() == "Z":
                off = "+00:00"
            elif ":" not in off:
                off = off[:3] + ":" + off[3:]
            return datetime.fromisoformat(s[: m.start()] + off)
        return datetime.fromisoformat(s).replace(tzinfo=zone(user.timezone))
    except ValueError:
        return now


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    return json.loads(raw) if raw else None


# ---- authentication -------------------------------------------------------------------------


async def authenticate(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    try:
        body = await _body(request)
    except ValueError:
        return _slim_500(
            "Trying to get property 'username' of non-object", "AuthenticationWebService.php"
        )
    if not isinstance(body, dict) or "username" not in body or "password" not in body:
        return _slim_500("Undefined property: stdClass::$username", "AuthenticationWebService.php")
    session = state.authenticate(str(body.get("username") or ""), str(body.get("password") or ""))
    if session is None:
        return _json(
            {
                "links": [],
                "message": "Login failed. Invalid username or password.",
                "sessionToken": None,
                "sessionExpires": None,
                "userId": None,
                "isAuthenticated": False,
                "version": None,
            }
        )
    return _json(
        {
            "links": [{"href": f"{_base(request)}/Authentication/SignOut", "title": "logout"}],
            "message": None,
            "sessionToken": session.token,
            "sessionExpires": views.fmt(session.expires, "UTC"),
            "userId": str(session.user_id),
            "isAuthenticated": True,
            "version": "2.9",
        }
    )


async def sign_out(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    try:
        body = await _body(request)
    except ValueError:
        body = None
    token = body.get("sessionToken") if isinstance(body, dict) else None
    state.sign_out(token if isinstance(token, str) else None)
    return _json({"links": [], "message": None, "signedOut": True})


# ---- schedules and resources ----------------------------------------------------------------


async def list_schedules(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    base = _base(request)
    return _json(
        {
            "links": [],
            "message": None,
            "schedules": [views.schedule_item(s, base) for s in state.schedules.values()],
        }
    )


async def get_schedule(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    user: User = request[_USER]
    schedule = state.schedules.get(_int(request.match_info["scheduleId"]) or -1)
    if schedule is None:
        return _not_found()
    today = state.now().astimezone(zone(user.timezone)).date()
    return _json(views.schedule_json(schedule, user, today))


async def get_slots(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    user: User = request[_USER]
    q = request.query
    if not q.get("startDateTime") or not q.get("endDateTime"):
        return _empty()
    now = state.now()
    start = parse_input_date(q["startDateTime"], user, now)
    end = parse_input_date(q["endDateTime"], user, now)
    schedule_id = _int(request.match_info["scheduleId"]) or -1
    schedule = state.schedules.get(schedule_id)
    tz = zone(schedule.timezone if schedule else user.timezone)
    # Observed: the day after the end date is laid out as well.
    first: date = start.astimezone(tz).date()
    last: date = end.astimezone(tz).date() + timedelta(days=1)
    resource_id = _int(q.get("resourceId")) if q.get("resourceId") else None
    return _json(
        views.slots_json(state, schedule_id, first, last, user, _base(request), resource_id)
    )


async def list_resources(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    base = _base(request)
    return _json(
        {
            "links": [],
            "message": None,
            "resources": [
                views.resource_json(r, base, _RESOURCE_ATTRIBUTES)
                for r in sorted(state.resources.values(), key=lambda r: r.id)
            ],
        }
    )


async def get_resource(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    res = state.resources.get(_int(request.match_info["resourceId"]) or -1)
    if res is None:
        return _not_found()
    return _json(views.resource_json(res, _base(request), _RESOURCE_ATTRIBUTES))


async def resources_availability(request: web.Request) -> web.Response:
    """Observed: computed for the current time whatever ``dateTime`` says, the id in the path
    ignored (``?resourceId=`` filters), ``resources`` an array of arrays (here: one per
    schedule — the grouping itself was not observed)."""
    state = request.app[LIBREBOOKING_STATE]
    user: User = request[_USER]
    base = _base(request)
    wanted = _int(request.query.get("resourceId")) if request.query.get("resourceId") else None
    now = state.now()
    groups: dict[int, list[dict[str, Any]]] = {}
    for res in sorted(state.resources.values(), key=lambda r: r.id):
        if wanted is not None and res.id != wanted:
            continue
        bookings = state.on_resource(res.id)
        current = next((b for b in bookings if b.start <= now < b.end), None)
        upcoming = next((b for b in bookings if b.start > now), None)
        groups.setdefault(res.schedule_id, []).append(
            {
                "links": [],
                "message": None,
                "available": current is None,
                "resource": {
                    "links": [
                        views.link(base, f"Resources/{res.id}", "get_resource"),
                        views.link(base, f"Schedules/{res.schedule_id}", "get_schedule"),
                    ],
                    "message": None,
                    "resourceId": str(res.id),
                    "name": res.name,
                    "scheduleId": str(res.schedule_id),
                    "statusId": str(res.status_id),
                    "statusReasonId": None,
                },
                "availableAt": views.fmt(current.end, user.timezone) if current else "",
                "availableUntil": (
                    views.fmt(upcoming.start, user.timezone) if current is None and upcoming else ""
                ),
            }
        )
    return _json({"links": [], "message": None, "resources": list(groups.values())})


# ---- reservations ---------------------------------------------------------------------------


async def list_reservations(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    user: User = request[_USER]
    q = request.query
    now = state.now()
    start = parse_input_date(q["startDateTime"], user, now) if q.get("startDateTime") else now
    end = (
        parse_input_date(q["endDateTime"], user, now)
        if q.get("endDateTime")
        else start + timedelta(days=14)
    )
    owner = _int(q.get("userId")) if q.get("userId") else None
    resource = _int(q.get("resourceId")) if q.get("resourceId") else None
    schedule = _int(q.get("scheduleId")) if q.get("scheduleId") else None
    base = _base(request)
    items = []
    for r in sorted(state.live(), key=lambda r: (r.start, r.ref)):
        if not (r.start <= end and r.end >= start):  # window edges are inclusive
            continue
        if owner is not None and r.owner_id != owner:
            continue
        for rid in r.resource_ids:
            res = state.resources[rid]
            if resource is not None and rid != resource:
                continue
            if schedule is not None and res.schedule_id != schedule:
                continue
            items.append(views.list_item(state, r, rid, base))
    return _json(
        {
            "links": [],
            "message": None,
            "reservations": items,
            "startDateTime": views.fmt(start, "UTC") if items else None,
            "endDateTime": views.fmt(end, "UTC") if items else None,
        }
    )


async def get_reservation(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    r = state.get_live(request.match_info["referenceNumber"])
    if r is None:
        return _not_found()
    return _json(views.reservation_json(state, r, request[_USER], _base(request)))


def _write_links(base: str, ref: str) -> list[dict[str, str]]:
    return [
        views.link(base, f"Reservations/{ref}", "get_reservation"),
        views.link(base, f"Reservations/{ref}", "update_reservation"),
    ]


def _reservation_fields(
    state: LibreBookingState, body: dict[str, Any], user: User
) -> tuple[list[int], datetime, datetime, int]:
    primary = _int(body.get("resourceId"))
    if primary is None:
        raise ReservationError(["Missing or invalid resourceId"])
    if primary not in state.resources:  # observed for a numeric id the server does not know
        raise ReservationError(["There were problems with your reservation request."])
    ids = [primary]
    for extra in body.get("resources") or []:
        rid = _int(extra)
        if rid is None or rid not in state.resources:
            # Observed: an unknown additional resource kills the request (500).
            raise ServerFault(
                "There was an error executing your query\\nColumn 'resource_id' cannot be null",
                "/var/www/librebooking/lib/Database/MySQL/MySqlConnection.php",
            )
        if rid not in ids:
            ids.append(rid)
    now = state.now()
    start = parse_input_date(body.get("startDateTime"), user, now).astimezone(UTC)
    end = parse_input_date(body.get("endDateTime"), user, now).astimezone(UTC)
    owner = _int(body.get("userId"))
    if owner is None or owner not in state.users:
        owner = user.id
    return ids, start, end, owner


def _attribute_values(body: dict[str, Any]) -> dict[int, str]:
    out: dict[int, str] = {}
    for attr in body.get("customAttributes") or []:
        aid = _int(attr.get("attributeId")) if isinstance(attr, dict) else None
        if aid is not None and attr.get("attributeValue") is not None:
            out[aid] = str(attr["attributeValue"])
    return out


def _recurrence(body: dict[str, Any], user: User, now: datetime) -> RecurrenceRule | None:
    rule = body.get("recurrenceRule")
    if not isinstance(rule, dict) or str(rule.get("type") or "none") == "none":
        return None
    until = rule.get("repeatTerminationDate")
    return RecurrenceRule(
        type=str(rule.get("type")),
        interval=_int(rule.get("interval")) or 1,
        until=parse_input_date(until, user, now) if until else now,
    )


def _apply(r: Reservation, body: dict[str, Any], state: LibreBookingState) -> None:
    r.title = str(body.get("title") or "")
    r.description = str(body.get("description") or "")
    r.participants = [
        i for i in (_int(x) for x in body.get("participants") or []) if i in state.users
    ]
    r.invitees = [i for i in (_int(x) for x in body.get("invitees") or []) if i in state.users]
    r.participating_guests = [str(x) for x in body.get("participatingGuests") or []]
    r.invited_guests = [str(x) for x in body.get("invitedGuests") or []]
    r.allow_participation = bool(body.get("allowParticipation"))
    reminder = body.get("startReminder")
    r.start_reminder = _int(reminder.get("value")) if isinstance(reminder, dict) else None
    for aid, value in _attribute_values(body).items():
        if aid in state.attributes:
            r.attributes[aid] = value


async def create_reservation(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    user: User = request[_USER]
    try:
        body = await _body(request)
    except ValueError:
        return _slim_500("Trying to get property of non-object", "ReservationSaveController.php")
    if not isinstance(body, dict):
        return _slim_500("Trying to get property of non-object", "ReservationSaveController.php")
    for prop in ("allowParticipation", "termsAccepted"):
        if prop not in body:
            return _slim_500(
                f"Undefined property: stdClass::${prop}",
                "/var/www/librebooking/WebServices/Controllers/ReservationSaveController.php",
            )
    try:
        ids, start, end, owner = _reservation_fields(state, body, user)
        rule = _recurrence(body, user, state.now())
        # Observed: each occurrence is a reservation of its own, with its own reference.
        occurrences = state.occurrences(start, end, rule, user.timezone)
        for s, e in occurrences:
            state.validate(user, ids, s, e, attributes=_attribute_values(body))
    except ReservationError as exc:
        return _errors(exc.errors)
    except ServerFault as exc:
        return _slim_500(exc.message, exc.file)
    created: list[Reservation] = []
    for s, e in occurrences:
        occurrence = Reservation(
            ref=state.new_reference(),
            owner_id=owner,
            resource_ids=ids,
            start=s,
            end=e,
            pending=state.pending_for(user, ids),
            created=state.now(),
            series=rule,
        )
        _apply(occurrence, body, state)
        state.reservations[occurrence.ref] = occurrence
        created.append(occurrence)
    r = created[0]
    return _json(
        {
            "links": _write_links(_base(request), r.ref),
            "message": "The reservation was created",
            "referenceNumber": r.ref,
            "isPendingApproval": r.pending,
        },
        201,
    )


async def update_reservation(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    user: User = request[_USER]
    r = state.get_live(request.match_info["referenceNumber"])
    if r is None:
        return _empty()
    try:
        body = await _body(request)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _slim_500("Trying to get property of non-object", "ReservationSaveController.php")
    for prop in ("allowParticipation", "termsAccepted"):
        if prop not in body:
            return _errors(
                [
                    f"Undefined property: stdClass::${prop}\n#0 /var/www/librebooking/"
                    "WebServices/Controllers/ReservationSaveController.php(689): "
                    "Slim\\Slim::handleErrors()\n#1 {main}"
                ]
            )
    try:
        ids, start, end, owner = _reservation_fields(state, body, user)
        state.validate(user, ids, start, end, exclude=r.ref, attributes=_attribute_values(body))
    except ReservationError as exc:
        return _errors(exc.errors)
    except ServerFault as exc:
        return _slim_500(exc.message, exc.file)
    r.resource_ids, r.start, r.end, r.owner_id = ids, start, end, owner
    r.pending = r.pending or state.pending_for(user, ids)
    _apply(r, body, state)
    return _json(
        {
            "links": _write_links(_base(request), r.ref),
            "message": "The reservation was updated",
            "referenceNumber": r.ref,
            "isPendingApproval": r.pending,
        }
    )


async def delete_reservation(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    r = state.get_live(request.match_info["referenceNumber"])
    if r is None:
        return _empty()
    r.deleted = True  # soft delete: GET answers 404 from now on
    return _json({"links": [], "message": "The item was deleted"})


async def approve_reservation(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    r = state.get_live(request.match_info["referenceNumber"])
    if r is None or not r.pending:  # observed: re-approving answers 200 with an empty body
        return _empty()
    r.pending = False
    return _json(
        {
            "links": [views.link(_base(request), f"Reservations/{r.ref}", "get_reservation")],
            "message": "The reservation was approved",
            "referenceNumber": r.ref,
        }
    )


async def check_in(request: web.Request) -> web.Response:
    """Observed on PHP 8.2: a deprecation notice in LibreBooking's check-in rule becomes a 500
    Slim page, and nothing is checked in."""
    return _check_fault("ReservationCanBeCheckedInRule")


async def check_out(request: web.Request) -> web.Response:
    """As check-in: 500, nothing changes."""
    return _check_fault("ReservationCanBeCheckedOutRule")


def _check_fault(rule: str) -> web.Response:
    return _slim_500(
        f"Creation of dynamic property {rule}::$userSession is deprecated",
        f"/var/www/librebooking/lib/Application/Reservation/Validation/{rule}.php",
    )


# ---- users ----------------------------------------------------------------------------------

_USER_FILTERS = {
    "username": "username",
    "email": "email",
    "firstName": "first_name",
    "lastName": "last_name",
    "phone": "phone",
}


async def list_users(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    base = _base(request)
    users = []
    for u in state.users.values():
        if all(
            str(getattr(u, attr)).lower() == request.query[key].lower()
            for key, attr in _USER_FILTERS.items()
            if key in request.query
        ):
            users.append(views.user_json(u, base))
    return _json({"users": users, "links": [], "message": None})


async def get_user(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    u = state.users.get(_int(request.match_info["userId"]) or -1)
    if u is None:
        return _not_found()
    return _json(views.user_json(u, _base(request), detail=True))


async def create_user(request: web.Request) -> web.Response:
    state = request.app[LIBREBOOKING_STATE]
    try:
        body = await _body(request)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _slim_500("Trying to get property of non-object", "UsersWriteWebService.php")
    if not body.get("timezone"):
        # Observed: the required-field validator trims a null timezone, and PHP 8.2's
        # deprecation notice becomes a 500 page before any validation message.
        return _slim_500(
            "trim(): Passing null to parameter #1 ($string) of type string is deprecated",
            "/var/www/librebooking/lib/Common/Validators/RequiredValidator.php",
        )
    errors = [
        f"{label} is required"
        for key, label in (
            ("emailAddress", "Email address"),
            ("firstName", "First name"),
            ("lastName", "Last name"),
            ("password", "Password"),
        )
        if not body.get(key)
    ]
    email = str(body.get("emailAddress") or "")
    username = str(body.get("userName") or email)
    if email and any(u.email.lower() == email.lower() for u in state.users.values()):
        errors.append("The email address you entered is already registered")
    if any(u.username.lower() == username.lower() for u in state.users.values()):
        errors.append("The username you entered is already registered")
    if errors:
        return _errors(errors)
    user = state.add_user(
        username=username,
        email=email,
        first_name=str(body["firstName"]),
        last_name=str(body["lastName"]),
        password=str(body["password"]),
        timezone=str(body["timezone"]),
        phone=str(body.get("phone") or ""),
        language=str(body.get("language") or "en_us"),
        created=state.now(),
    )
    base = _base(request)
    return _json(
        {
            "links": [
                views.link(base, f"Users/{user.id}", "get_user"),
                views.link(base, f"Users/{user.id}", "update_user"),
            ],
            "message": None,
            "userId": user.id,  # observed: an int here, a string everywhere else
        },
        201,
    )


# ---- test control ---------------------------------------------------------------------------


async def sim_expire_sessions(request: web.Request) -> web.Response:
    expired = request.app[LIBREBOOKING_STATE].expire_sessions()
    return _json({"expired": expired})


def create_app(
    seed: int = 0,
    *,
    clock: Clock | None = None,
    demo_bookings: bool = True,
    faults: Iterable[Fault] = (),
    **options: Any,
) -> web.Application:
    """The simulated server, seeded deterministically from ``seed`` and the clock's date;
    ``faults`` are injected from the start (see ``simulators.faults``)."""
    app = new_app(clock, librebooking_middleware, profile=FAULT_PROFILE, faults=faults)
    state = LibreBookingState(app[CLOCK], seed)
    state.seed_demo(with_bookings=demo_bookings)
    app[LIBREBOOKING_STATE] = state
    p = PREFIX
    r = app.router
    r.add_post(f"{p}/Authentication/Authenticate", authenticate)
    r.add_post(f"{p}/Authentication/SignOut", sign_out)
    r.add_get(f"{p}/Schedules/", list_schedules)
    r.add_get(f"{p}/Schedules/{{scheduleId}}", get_schedule)
    r.add_get(f"{p}/Schedules/{{scheduleId}}/Slots", get_slots)
    r.add_get(f"{p}/Resources/", list_resources)
    r.add_get(f"{p}/Resources/Availability", resources_availability)
    r.add_get(f"{p}/Resources/{{resourceId}}/Availability", resources_availability)
    r.add_get(f"{p}/Resources/{{resourceId}}", get_resource)
    r.add_get(f"{p}/Reservations/", list_reservations)
    r.add_post(f"{p}/Reservations/", create_reservation)
    r.add_get(f"{p}/Reservations/{{referenceNumber}}", get_reservation)
    r.add_post(f"{p}/Reservations/{{referenceNumber}}", update_reservation)
    r.add_delete(f"{p}/Reservations/{{referenceNumber}}", delete_reservation)
    r.add_post(f"{p}/Reservations/{{referenceNumber}}/Approval", approve_reservation)
    r.add_post(f"{p}/Reservations/{{referenceNumber}}/CheckIn", check_in)
    r.add_post(f"{p}/Reservations/{{referenceNumber}}/CheckOut", check_out)
    r.add_get(f"{p}/Users/", list_users)
    r.add_post(f"{p}/Users/", create_user)
    r.add_get(f"{p}/Users/{{userId}}", get_user)
    r.add_post("/_sim/expire-sessions", sim_expire_sessions)
    return app
