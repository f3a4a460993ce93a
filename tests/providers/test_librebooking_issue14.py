"""Issue 14's adapter fixes against the simulator, which now answers as the real server does
(the same fixes against the real server: ``tests/real/test_issue14_real.py``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

import pytest

from tablegraph.errors import InvalidInput, PolicyViolation
from tablegraph.model import GuestData, NewBooking
from tablegraph.providers.kit import Runtime
from tablegraph.providers.librebooking import LibreBookingProvider
from tablegraph.settings import Secret
from tablegraph.simulators.librebooking import LibreBookingState, demo_upstreams
from tablegraph.timeutil import zone
from tests.providers.librebooking_support import MakeRig

NY = zone("America/New_York")
PLAIN = {"username": Secret("user"), "password": Secret("password")}


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=NY)


def _rules(state: LibreBookingState) -> None:
    """Schedule 3 (New York, 17:00–22:00) with one table held to a day's notice, an hour's
    buffer and 20 days ahead — the real server's ``"1d0h0m"`` forms on the wire."""
    state.add_schedule("Rules", "America/New_York", time(17), time(22))
    state.add_resource(
        3,
        "Rules",
        4,
        location="Garden",
        min_notice_minutes=24 * 60,
        buffer_minutes=60,
        max_notice_minutes=20 * 24 * 60,
    )


def _request(start: datetime, email: str | None = "new@example.org", **kw: object) -> NewBooking:
    guest = GuestData("Ada", "Lovelace", email, phone="+1 212 555 0101")
    return NewBooking("3", start, 2, guest, f"k-{start:%d%H%M}", **kw)  # type: ignore[arg-type]


async def test_item1_plain_account_books_new_guests_with_one_login(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_rules, schedule_ids=["3"], credentials=PLAIN)
    for day in (24, 25, 26):
        await rig.provider.create_booking(_request(_at(day, 17), email=f"g{day}@example.org"))
    assert rig.provider.health_details() == {"logins": 1, "createsUsers": False}
    assert not [u for u in rig.state.users.values() if u.email.startswith("g2")]


async def test_item1_admin_creates_the_guest_with_a_timezone(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_rules, schedule_ids=["3"])
    booking = await rig.provider.create_booking(_request(_at(24, 17)))
    [user] = [u for u in rig.state.users.values() if u.email == "new@example.org"]
    assert user.timezone == "America/New_York"
    assert booking.guest_id == str(user.id)


async def test_item2_a_refusal_the_adapter_did_not_foresee_keeps_the_servers_sentence(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig(setup=_rules, schedule_ids=["3"], credentials=PLAIN)
    behind = Runtime(now=lambda: rig.clock.now() - timedelta(days=2))
    config = replace(demo_upstreams(rig.url)[0], credentials=PLAIN, options={"schedule_ids": ["3"]})
    provider = LibreBookingProvider(config, behind)
    try:
        with pytest.raises(PolicyViolation) as refused:
            await provider.create_booking(_request(_at(21, 18)))  # today: inside the notice
        assert refused.value.message.startswith("This reservation requires advance notice.")
        assert refused.value.details["providerStatus"] == 400
    finally:
        await provider.close()


async def test_item3_notice_buffer_and_limit_offered_and_enforced(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_rules, schedule_ids=["3"])  # an administrator account
    assert await rig.provider.get_availability("3", _at(21, 0).date(), 2) == []  # notice
    assert await rig.provider.get_availability("3", _at(22, 0).date() + timedelta(days=25), 2) == []
    with pytest.raises(PolicyViolation, match="too soon"):
        await rig.provider.create_booking(_request(_at(21, 18)))
    await rig.provider.create_booking(_request(_at(28, 18)))
    starts = [
        s.start.strftime("%H:%M")
        for s in await rig.provider.get_availability("3", _at(28, 0).date(), 2)
    ]
    assert "17:00" not in starts and "20:00" not in starts  # the hour's buffer both sides
    [restaurant] = await rig.provider.list_restaurants()
    assert (restaurant.policy.min_lead_minutes, restaurant.policy.max_advance_days) == (1440, 20)


async def test_item5_guest_without_email_is_the_titles_guest(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_rules, schedule_ids=["3"])
    booking = await rig.provider.create_booking(_request(_at(24, 19), email=None))
    assert booking.guest_id is None and booking.guest is not None
    assert (booking.guest.first_name, booking.guest.last_name) == ("Ada", "Lovelace")
    assert booking.guest.phone == "+1 212 555 0101"
    [again] = await rig.provider.get_guests([booking.guest.native_id])
    assert again == booking.guest


async def test_item8_duration_off_the_grid_is_refused(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_rules, schedule_ids=["3"])
    with pytest.raises(InvalidInput, match="multiple of 30"):
        await rig.provider.create_booking(_request(_at(24, 17), duration_minutes=45))
