"""A FixMyStreet user's own update on a request its app filed (Open311's
``POST servicerequestupdates``), as the reporter's answer to the case.

Only the app that filed a case may speak for its reporter: another app's key, or any key
on a case filed elsewhere (the portal, the case API), finds no such case. FixMyStreet
sends each update with its own ``update_id`` and sends it again when it did not hear back:
the repeat is answered with the first answer and changes nothing. A reporter saying a
case that is already closed on Warta's side is fixed (``FIXED``, ``CLOSED``) asks for
nothing, so nothing is recorded; saying it is fixed adds the words to a resolved case
without reopening it; saying it is not (``OPEN``, ``REOPEN``) reopens a resolved case;
any other update answers the agency or is added to the case
(``lifecycle.citizen_reply``).
"""

from __future__ import annotations

import uuid

from warta.deps import Warta
from warta.domain import cases as rules
from warta.domain.open311 import Open311Status
from warta.errors import NotFound
from warta.services.cases import lifecycle
from warta.services.cases.types import Actor


async def reporter_update(
    app: Warta,
    key_id: uuid.UUID,
    tracking_id: str,
    update_id: str,
    message: str,
    says: Open311Status,
) -> str:
    """The id of the case event the update made (or made before), or ``update_id``
    itself when it asked for nothing."""
    async with app.uow() as uow:
        case = await uow.cases.by_tracking_id(tracking_id)
        if case is None or case.open311_key_id is None or case.open311_key_id != key_id:
            raise NotFound(
                "service_request_id %(id)s: no such request filed with this api_key",
                id=rules.format_tracking_id(tracking_id),
            )
        repeat = await uow.cases.event_by_update_id(case.id, update_id)
        if repeat is not None:
            return str(repeat.id)
        case_id, status = case.id, case.status
    if says == "closed" and status in rules.TERMINAL:
        return update_id
    made = await lifecycle.citizen_reply(
        app, Actor("open311", id=key_id), case_id, message,
        update_id=update_id, reopen=says == "open",
    )  # fmt: skip
    return str(next(e.id for e in made.events if e.update_id == update_id))
