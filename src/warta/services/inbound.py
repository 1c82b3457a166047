"""Texts citizens send (MO): stored, answered, forwarded to the agency they are for.

Each text is stored encrypted and served by GET /v2/received-text-messages, then
forwarded to the agency's inbound callback. A text that is only a keyword (see
``domain.keywords``) also changes the number's opt-out, for that agency or (SEMUA) for
every agency, and gets a reply naming whom it acted on. A text no agency is for is kept
for the platform, shown to no agency. Neither a text nor its number is ever logged.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from warta.domain import keywords, recipients
from warta.domain.channels import InboundSms, OutboundMessage
from warta.errors import DeliveryError, InvalidInput, NotFound
from warta.services.sending import PLATFORM_SMS_SENDER
from warta.store.models import Agency, Callback, ReceivedText

if TYPE_CHECKING:
    from warta.deps import Warta
    from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)
NUMBER_FIELD = "received.user_number"
CONTENT_FIELD = "received.content"
_replies: set[asyncio.Task[None]] = set()  # keeps reply tasks alive until they finish
#: How long after an agency texted a phone from the platform's sender id the phone's
#: replies to it are that agency's.
REPLY_WINDOW = timedelta(days=7)
HELP_INTERVAL = timedelta(days=1)


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


async def receive_sms(app: Warta, message: InboundSms) -> ReceivedText:
    """A provider's MO: find the agency it is for, store it, act on a keyword, answer.

    A text to an agency's own sender id is that agency's. Any other number is the
    platform's (``WARTA``, which every agency without a sender id of its own shares): the
    text is for the agency that last texted this phone from it within ``REPLY_WINDOW``, or
    for none (kept for the platform, shown to no agency, answered with the platform's help).
    """
    try:
        sender = recipients.normalise_phone(message.sender)
    except InvalidInput:
        sender = message.sender.strip()  # a foreign or short number: keep it as given
    keyword = keywords.parse(message.text)
    phone_hash = app.keyring.lookup_hash(sender)
    now = app.clock()
    async with app.uow() as uow:
        agency = await _agency_for(app, uow, message.recipient, sender, now)
        # The platform's help once a day at most: an automated sender answering it would
        # otherwise trade texts with Warta for ever.
        helped = agency is None and await uow.received_texts.unclaimed_from(
            phone_hash, since=now - HELP_INTERVAL
        )
        row = _stored(app, agency, sender, message.text)
        callback = _forward(app, agency, row) if agency is not None else None
        await uow.received_texts.store(row, callback)
        await _act(uow, keyword, agency, phone_hash, now)
        await uow.commit()
    if callback:
        await app.queue.submit("callback", [callback.id])
    if keyword and keyword.everyone:
        _reply(app, agency, sender, keywords.reply(keyword, ""))
    elif agency is None and not helped:
        _reply(app, None, sender, keywords.platform_help(keyword))
    elif agency is not None and keyword:
        _reply(app, agency, sender, keywords.reply(keyword, agency.name))
    return row


async def _agency_for(
    app: Warta, uow: UnitOfWork, recipient: str, sender: str, now: datetime
) -> Agency | None:
    """The agency whose own sender id was texted; else the one that texted ``sender``
    last from the platform's, within ``REPLY_WINDOW``; else none."""
    agency = await uow.agencies.by_sms_sender(recipient.strip())
    if agency is not None:
        return agency
    hashes = app.keyring.lookup_hashes(sender)
    return await uow.notifications.last_platform_texter(hashes, since=now - REPLY_WINDOW)


async def _act(
    uow: UnitOfWork,
    keyword: keywords.Keyword | None,
    agency: Agency | None,
    phone_hash: str,
    now: datetime,
) -> None:
    """A keyword's opt-out or opt-in: for every agency (SEMUA), or the one the text is for."""
    if keyword is None or keyword.action == "help":
        return
    if keyword.everyone:
        if keyword.action == "stop":
            await uow.sms.opt_out_everywhere(phone_hash, now)
        else:
            await uow.sms.opt_in_everywhere(phone_hash)
    elif agency is not None:
        if keyword.action == "stop":
            await uow.sms.opt_out(agency.id, phone_hash, now)
        else:
            await uow.sms.opt_in(agency.id, phone_hash)


def _stored(app: Warta, agency: Agency | None, sender: str, content: str) -> ReceivedText:
    return ReceivedText(
        id=uuid.uuid4(),
        agency_id=agency.id if agency is not None else None,
        notify_number=_number_of(agency),
        user_number_enc=app.keyring.encrypt(sender, field=NUMBER_FIELD),
        user_number_hash=app.keyring.lookup_hash(sender),
        content_enc=app.keyring.encrypt(content, field=CONTENT_FIELD),
        created_at=app.clock(),
    )


def _number_of(agency: Agency | None) -> str:
    """The sender id the citizen texted: the agency's own, or the platform's."""
    return (agency.sms_sender if agency is not None else None) or PLATFORM_SMS_SENDER


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


def _reply(app: Warta, agency: Agency | None, to: str, text: str) -> None:
    """Answer a text straight through the SMS channel, in the background, from the number
    the citizen texted.

    Not a stored notification: the reply has no template and no agency asked for it. If
    it fails it is logged (never the number or the text) and lost; the opt-out itself is
    already committed.
    """

    async def send() -> None:
        message = OutboundMessage(
            notification_id=f"reply-{uuid.uuid4()}",
            attempt=1,
            channel="sms",
            to=to,
            sender=_number_of(agency),
            body=text,
        )
        try:
            await app.channels["sms"].send(message)
        except DeliveryError as exc:
            log.warning("automatic SMS reply failed: %s", type(exc).__name__)

    task = asyncio.create_task(send())
    _replies.add(task)
    task.add_done_callback(_replies.discard)
