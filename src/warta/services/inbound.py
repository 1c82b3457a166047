"""Texts citizens send to an agency's number (MO): stored, answered, forwarded.

Each text is stored encrypted and served by GET /v2/received-text-messages, then
forwarded to the agency's inbound callback. A text that is only a keyword (see
``domain.keywords``) also changes the number's opt-out for that agency and gets a reply.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from warta.domain import keywords, recipients
from warta.domain.channels import InboundSms, OutboundMessage
from warta.errors import DeliveryError, InvalidInput, NotFound
from warta.store.models import Agency, Callback, ReceivedText

if TYPE_CHECKING:
    from warta.deps import Warta
    from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)
NUMBER_FIELD = "received.user_number"
CONTENT_FIELD = "received.content"
_replies: set[asyncio.Task[None]] = set()  # keeps reply tasks alive until they finish


async def receive_text(
    app: Warta, agency_id: uuid.UUID, from_number: str, content: str
) -> ReceivedText:
    sender = recipients.normalise_phone(from_number)
    async with app.uow() as uow:
        agency = await uow.agencies.get(agency_id)
        if agency is None:
            raise NotFound("No agency with id %(agency_id)s", agency_id=agency_id)
        row = _stored(app, agency, sender, content)
        callback = _forward(app, agency, row)
        await uow.received_texts.store(row, callback)
        await uow.commit()
    if callback:
        await app.queue.submit("callback", [callback.id])
    return row


async def receive_sms(app: Warta, message: InboundSms) -> ReceivedText | None:
    """A provider's MO: find the agency by the number it was sent to, store, act."""
    try:
        sender = recipients.normalise_phone(message.sender)
    except InvalidInput:
        sender = message.sender.strip()  # a foreign or short number: keep it as given
    keyword = keywords.parse(message.text)
    async with app.uow() as uow:
        agency = await _agency_for(uow, message.recipient)
        if agency is None:
            log.warning(
                "inbound SMS from provider %s to %r matches no agency's sender id; dropped",
                message.provider,
                message.recipient,
            )
            return None
        row = _stored(app, agency, sender, message.text)
        callback = _forward(app, agency, row)
        await uow.received_texts.store(row, callback)
        phone_hash = app.keyring.lookup_hash(sender)
        if keyword and keyword.action == "stop":
            await uow.sms.opt_out(agency.id, phone_hash, app.clock())
        elif keyword and keyword.action == "start":
            await uow.sms.opt_in(agency.id, phone_hash)
        await uow.commit()
    if callback:
        await app.queue.submit("callback", [callback.id])
    if keyword:
        log.info("keyword %s for agency %s", keyword.action, agency.id)
        _reply(app, agency, sender, keywords.reply(keyword, agency.name))
    return row


async def _agency_for(uow: UnitOfWork, recipient: str) -> Agency | None:
    """The agency whose SMS sender id the text was sent to; with one agency, that one."""
    found = await uow.agencies.by_sms_sender(recipient.strip())
    return found if found is not None else await uow.agencies.the_only_one()


def _stored(app: Warta, agency: Agency, sender: str, content: str) -> ReceivedText:
    return ReceivedText(
        id=uuid.uuid4(),
        agency_id=agency.id,
        notify_number=agency.sms_sender or "WARTA",
        user_number_enc=app.keyring.encrypt(sender, field=NUMBER_FIELD),
        user_number_hash=app.keyring.lookup_hash(sender),
        content_enc=app.keyring.encrypt(content, field=CONTENT_FIELD),
        created_at=app.clock(),
    )


@dataclass(frozen=True)
class Received:
    """A stored text as its agency reads it back."""

    row: ReceivedText
    user_number: str
    content: str


async def received(
    app: Warta, agency_id: uuid.UUID, older_than: uuid.UUID | None, limit: int
) -> list[Received]:
    """The agency's texts, newest first; with ``older_than``, those before that one."""
    async with app.uow() as uow:
        anchor = None
        if older_than is not None:
            anchor = await uow.received_texts.get(agency_id, older_than)
            if anchor is None:
                raise NotFound()
        rows = await uow.received_texts.page(agency_id, anchor, limit)
    return [
        Received(
            row,
            app.keyring.decrypt(row.user_number_enc, field=NUMBER_FIELD),
            app.keyring.decrypt(row.content_enc, field=CONTENT_FIELD),
        )
        for row in rows
    ]


def _forward(app: Warta, agency: Agency, row: ReceivedText) -> Callback | None:
    if not agency.inbound_callback_url:
        return None
    now = app.clock()
    return Callback(
        id=uuid.uuid4(),
        received_text_id=row.id,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def _reply(app: Warta, agency: Agency, to: str, text: str) -> None:
    """Answer a keyword straight through the SMS channel, in the background.

    Not a stored notification: the reply has no template and no agency asked for it. If
    it fails it is logged and lost; the opt-out itself is already committed.
    """

    async def send() -> None:
        message = OutboundMessage(
            notification_id=f"reply-{uuid.uuid4()}",
            attempt=1,
            channel="sms",
            to=to,
            sender=agency.sms_sender or "WARTA",
            body=text,
        )
        try:
            await app.channels["sms"].send(message)
        except DeliveryError as exc:
            log.warning("keyword reply for agency %s failed: %s", agency.id, type(exc).__name__)

    task = asyncio.create_task(send())
    _replies.add(task)
    task.add_done_callback(_replies.discard)
