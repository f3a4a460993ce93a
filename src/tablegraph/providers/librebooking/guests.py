"""Guests as LibreBooking users: found by e-mail, created when missing — by an administrator
account only.

A real server answers ``POST Users/`` from a plain user with the same ``text/html`` 401 as an
expired session. Sent through the session flow, that 401 would log in again and replay on every
create; so the adapter sends it once *without* the replay, checks with one authenticated read
that the session itself is fine, and from then on knows the account may not create users (it
books under the integration account, the guest's name in the title and contact in the
description — ``mapping.title_guest``). Without ``timezone`` the server answers 500 and
creates nothing, so the restaurant's zone is always sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from tablegraph.errors import UpstreamAuthError, UpstreamBadResponse
from tablegraph.model import Guest, GuestData
from tablegraph.providers.kit import Batch, Caller, batch_by_key, in_key_order
from tablegraph.providers.librebooking.auth import SessionAuth
from tablegraph.providers.librebooking.errors import ERRORS
from tablegraph.providers.librebooking.mapping import TITLE_GUEST, title_guest, to_guest
from tablegraph.providers.librebooking.parse import to_str_id
from tablegraph.providers.librebooking.payloads import RawReservation, RawUser, user_body

#: From this many ids on, one ``GET Users/`` beats one ``GET Users/{id}`` per guest.
LIST_FROM = 4


class Users:
    def __init__(self, caller: Caller, auth: SessionAuth, *, create: bool) -> None:
        self._call = caller
        self._auth = auth
        #: None until the server has told: may this account create users?
        self.may_create: bool | None = None if create else False

    async def find(self, email: str) -> RawUser | None:
        body = await self._call.json("GET", "Users/", params={"email": email})
        for user in body.get("users") or [] if isinstance(body, dict) else []:
            if (
                isinstance(user, dict)
                and str(user.get("emailAddress", "")).lower() == email.lower()
            ):
                return user  # type: ignore[return-value]
        return None

    async def ensure(self, guest: GuestData, timezone: str) -> RawUser | None:
        """The guest's user (created when missing and allowed), or None: a title guest."""
        if not guest.email:
            return None
        found = await self.find(guest.email)
        if found is not None or self.may_create is False:
            return found
        body = user_body(
            first_name=guest.first_name,
            last_name=guest.last_name,
            email=guest.email,
            phone=guest.phone,
            locale=guest.locale,
            timezone=timezone,
        )
        created = await self._create(body)
        if created is None:
            return None
        uid = to_str_id(created.get("userId")) if isinstance(created, dict) else None
        if uid is None:
            return await self.find(guest.email)
        user = await self._call.json("GET", f"Users/{uid}")
        return user if isinstance(user, dict) else None  # type: ignore[return-value]

    async def _create(self, body: dict[str, object]) -> object | None:
        client = self._call.client
        for _ in range(2):
            headers = await self._auth.headers(client)
            response = await client.request(
                "POST",
                self._call.prefix + "Users/",
                json=body,
                headers=headers,
                authenticated=False,  # a 401 here is an answer, not a reason to log in again
            )
            if response.status_code < 400:
                self.may_create = True
                return response.json() if response.content.strip() else None
            error = ERRORS.error_for(response, self._call.name)
            if not isinstance(error, UpstreamAuthError):
                raise error
            before = self._auth.logins
            await self._call.json("GET", f"Users/{self._auth.user_id}")  # renews a dead session
            if self._auth.logins == before:  # the session was fine: not an administrator
                self.may_create = False
                return None
        raise UpstreamBadResponse(
            f"{self._call.name} refused to create a user twice", upstream=self._call.name
        )

    async def get(
        self, ids: Sequence[str], *, read: Callable[[str], Awaitable[RawReservation]]
    ) -> Batch[Guest]:
        """Users by id, and title guests (``r-<reference>``) from their reservation."""
        titled = [i for i in ids if i.startswith(TITLE_GUEST)]

        async def title(gid: str) -> Guest | None:
            raw = await read(gid.removeprefix(TITLE_GUEST))
            ref = str(raw["referenceNumber"])
            return title_guest(self._call.name, ref, raw.get("title"), raw.get("description"))

        found = dict(zip(titled, await batch_by_key(titled, title), strict=True))
        users = await self._users(ids)
        return [found.get(i, u) for i, u in zip(ids, users, strict=True)]

    async def _users(self, ids: Sequence[str]) -> Batch[Guest]:
        users = [i for i in ids if i.isdigit()]
        if len(set(users)) >= LIST_FROM:
            body = await self._call.json("GET", "Users/")
            found = {
                g.native_id: g
                for raw in (body.get("users") or [] if isinstance(body, dict) else [])
                if isinstance(raw, dict) and (g := to_guest(self._call.name, raw)) is not None
            }
            return in_key_order(list(ids), found)

        async def one(uid: str) -> Guest | None:
            if not uid.isdigit():
                return None
            body = await self._call.json("GET", f"Users/{uid}")
            return to_guest(self._call.name, body) if isinstance(body, dict) else None

        return await batch_by_key(ids, one)

    async def search(self, search: str | None, limit: int) -> list[Guest]:
        params = {"email": search} if search and "@" in search else None
        body = await self._call.json("GET", "Users/", params=params)
        needle = (search or "").lower()
        out = []
        for raw in body.get("users") or [] if isinstance(body, dict) else []:
            guest = to_guest(self._call.name, raw) if isinstance(raw, dict) else None
            if guest is None:
                continue
            text = " ".join(filter(None, [guest.first_name, guest.last_name, guest.email])).lower()
            if needle and needle not in text:
                continue
            out.append(guest)
        return out[: max(0, limit)]
