"""Sending the bot's (or staff's) answer back on the channel the citizen wrote on.

Not a stored notification: an answer belongs to the conversation (kept there, sealed),
no agency template made it, and a failure is logged (never the text or the address) and
the citizen can write again. Quick replies are fitted to each channel's limits by the
channel itself; SMS gets them as a numbered menu in the text.
"""

from __future__ import annotations

import logging
import uuid

from warta.deps import Warta
from warta.domain import quick_replies
from warta.domain.channels import Option, OutboundMessage
from warta.errors import DeliveryError
from warta.services.sending import PLATFORM_SMS_SENDER
from warta.store.models import Agency

log = logging.getLogger(__name__)


async def deliver(
    app: Warta,
    channel: str,
    address: str,
    agency: Agency | None,
    text: str,
    options: tuple[Option, ...],
    language: str = "id",
) -> None:
    """Send on ``channel`` (telegram, whatsapp, sms); the portal and the API read their
    answers from the response and the conversation instead."""
    if channel in ("portal", "api"):
        return
    if channel == "sms":
        body = quick_replies.with_sms_menu(text, options, "en" if language == "en" else "id")
        message = OutboundMessage(
            notification_id=f"chat-{uuid.uuid4()}", attempt=1, channel="sms", to=address,
            sender=(agency.sms_sender if agency else None) or PLATFORM_SMS_SENDER, body=body,
        )  # fmt: skip
    else:
        message = OutboundMessage(
            notification_id=f"chat-{uuid.uuid4()}", attempt=1, channel="chat", to=address,
            sender=agency.name if agency else "Warta", body=text, options=options,
        )  # fmt: skip
    sender = app.channels.get("sms" if channel == "sms" else "chat")
    if sender is None:
        return
    try:
        await sender.send(message)
    except DeliveryError as exc:
        log.warning("chat answer not sent on %s: %s", channel, type(exc).__name__)
