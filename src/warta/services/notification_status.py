"""What an agency reads back of its notifications, for GET /v2/notifications and the
console's notification page: each row with its recipient and content unsealed.

A one-time code's text is for the citizen's eyes only, so its body is replaced here,
where every reader gets it. A broadcast's attempts carry no content of their own: they
show the content the broadcast shares among them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from warta.deps import Warta
from warta.errors import NotFound
from warta.services import content, routing
from warta.services.sending import Caller
from warta.store.models import Notification

RECIPIENT_FIELD = "notification.recipient"
SECRET_BODY = "(a one-time code: shown only to the recipient)"


@dataclass(frozen=True)
class Shown:
    """A notification and what its agency may read of it."""

    row: Notification
    recipient: str | None
    body: str | None
    subject: str | None


def readable(
    app: Warta, row: Notification, shared: dict[uuid.UUID, content.ChannelContents]
) -> Shown:
    """``shared``: the content of the broadcasts ``row`` may belong to, by broadcast id."""
    recipient = app.keyring.decrypt(row.recipient_enc, field=RECIPIENT_FIELD) or None
    if row.content_enc is not None:
        sealed = content.unseal(app.keyring, row.content_enc)
        if sealed.get("secret"):
            sealed = {"body": SECRET_BODY, "subject": sealed.get("subject")}
    else:
        by_channel = shared.get(row.broadcast_id, {}) if row.broadcast_id else {}
        sealed = by_channel.get(row.type) or {"body": None}
    return Shown(row, recipient, sealed["body"], sealed.get("subject"))


@dataclass(frozen=True)
class Detail:
    shown: Shown
    #: Every attempt of the message, first first, when it is a send to a citizen.
    attempts: Sequence[Notification]


async def one(app: Warta, caller: Caller, notification_id: uuid.UUID) -> Detail:
    async with app.uow() as uow:
        row = await uow.notifications.get(caller.agency.id, notification_id)
        if row is None:
            raise NotFound()
        attempts = await uow.notifications.attempts(row.message_id) if row.message_id else []
        shared = await routing.shared_contents(app, uow, [row, *attempts])
    return Detail(readable(app, row, shared), attempts)


async def page(
    app: Warta,
    caller: Caller,
    *,
    template_type: str | None,
    statuses: Iterable[str],
    reference: str | None,
    older_than: uuid.UUID | None,
    limit: int,
) -> list[Shown]:
    """Newest first; a test key sees only test sends, other keys none of them.
    ``older_than``: the last id of the page before (an unknown one is not found)."""
    async with app.uow() as uow:
        anchor = None
        if older_than is not None:
            anchor = await uow.notifications.get(caller.agency.id, older_than)
            if anchor is None:
                raise NotFound()
        rows = await uow.notifications.page(
            caller.agency.id,
            test_only=caller.key_type == "test",
            template_type=template_type,
            statuses=statuses,
            reference=reference,
            older_than=anchor,
            limit=limit,
        )
        shared = await routing.shared_contents(app, uow, rows)
    return [readable(app, row, shared) for row in rows]
