"""What an agency reads back of its notifications, for GET /v2/notifications, the
console's notification pages and delivery-receipt callbacks: each row with its recipient
and content unsealed.

A one-time code's text is for the citizen's eyes only, so its body is replaced here,
where every reader gets it. A broadcast's attempts carry no content of their own: they
show the content the broadcast shares among them.

A message to a citizen went to a contact routing chose, which may be the citizen's own or
another agency's addition: the agency learns it only if it added that contact itself
(``trust.shown_in_clear``), else it reads it masked (``+62812****7890``), as it sees the
citizen's contacts. Otherwise linking to a citizen and sending them one message would read
their phone and address in clear. A message to an address shows the address the agency
gave.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from warta.deps import Warta
from warta.domain import trust
from warta.errors import NotFound
from warta.services import content
from warta.services.attempts import shared_contents
from warta.services.sending import Caller
from warta.store.models import Notification
from warta.store.uow import UnitOfWork

RECIPIENT_FIELD = "notification.recipient"
SECRET_BODY = "(a one-time code: shown only to the recipient)"

#: The (citizen, channel, contact hash) of the citizen messages whose recipient the reading
#: agency added itself, so sees in clear (``in_clear``).
InClear = frozenset[tuple[uuid.UUID, str, str]]


def _sent_to(row: Notification) -> tuple[uuid.UUID, str, str] | None:
    """The contact a citizen message went to, as its citizen, kind and value hash."""
    if row.citizen_id is None:
        return None
    return row.citizen_id, row.type, row.recipient_hash


async def in_clear(uow: UnitOfWork, agency_id: uuid.UUID, rows: Iterable[Notification]) -> InClear:
    """Of these rows' citizen messages, those whose contact this agency added: one query for
    a page, whatever its size."""
    sent = {key for row in rows if (key := _sent_to(row)) is not None}
    if not sent:
        return frozenset()
    adders = await uow.citizens.contact_adders({c for c, _, _ in sent}, {h for _, _, h in sent})
    return frozenset(
        (citizen_id, kind, value_hash)
        for citizen_id, kind, value_hash, added_by in adders
        if (citizen_id, kind, value_hash) in sent and trust.shown_in_clear(added_by, agency_id)
    )


def readable_in_clear(row: Notification, clear: InClear) -> bool:
    """May the agency read this row's recipient in clear: an address it gave, or a
    citizen's contact it added itself?"""
    sent = _sent_to(row)
    return sent is None or sent in clear


def recipient(app: Warta, row: Notification, clear: InClear) -> str | None:
    """The recipient as the agency may read it: a message to a citizen masked unless its
    contact is in ``clear``; a message to an address as given."""
    value = app.keyring.decrypt(row.recipient_enc, field=RECIPIENT_FIELD) or None
    if value is None or readable_in_clear(row, clear):
        return value
    return trust.mask_contact(row.type, value)


def recipients(
    app: Warta, rows: Iterable[Notification], clear: InClear
) -> dict[uuid.UUID, str | None]:
    """What the console shows as each row's recipient: as ``recipient``, and None for a
    push subscription, whose endpoint means nothing to a person."""
    return {r.id: None if r.type == "push" else recipient(app, r, clear) for r in rows}


@dataclass(frozen=True)
class Shown:
    """A notification and what its agency may read of it."""

    row: Notification
    recipient: str | None
    body: str | None
    subject: str | None


def readable(
    app: Warta,
    row: Notification,
    shared: dict[uuid.UUID, content.ChannelContents],
    clear: InClear,
) -> Shown:
    """``shared``: the content of the broadcasts ``row`` may belong to, by broadcast id;
    ``clear``: ``in_clear`` of the page ``row`` is on."""
    if row.content_enc is not None:
        sealed = content.unseal(app.keyring, row.content_enc)
        if sealed.get("secret"):
            sealed = {"body": SECRET_BODY, "subject": sealed.get("subject")}
    else:
        by_channel = shared.get(row.broadcast_id, {}) if row.broadcast_id else {}
        sealed = by_channel.get(row.type) or {"body": None}
    return Shown(row, recipient(app, row, clear), sealed["body"], sealed.get("subject"))


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
        shared = await shared_contents(app, uow, [row, *attempts])
        clear = await in_clear(uow, caller.agency.id, [row])
    return Detail(readable(app, row, shared, clear), attempts)


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
        shared = await shared_contents(app, uow, rows)
        clear = await in_clear(uow, caller.agency.id, rows)
    return [readable(app, row, shared, clear) for row in rows]
