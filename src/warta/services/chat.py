"""What chat services tell Warta: Telegram updates and WhatsApp webhooks.

Telegram: a bot cannot write first, so a citizen links a chat by opening
``t.me/<bot>?start=<code>`` (the code made here, shown in the portal); the ``/start``
update that carries it makes a verified chat contact ``telegram:<chat id>``, the
citizen's own (proof ``chat-link``: the link was made in their signed-in portal). WhatsApp:
status webhooks settle attempts by their ``wamid`` (``read`` ends escalation), and a
citizen's own message opens the 24-hour window in which free text may be sent.

Anything else a citizen writes (or a quick reply they tap) goes to the chatbot
(``services.chatbot.engine``), whose answer comes back in the same chat. Nothing a citizen
wrote is logged.

A photo (the guided complaint's optional step) is downloaded from the chat service, at
most ``case_photo_max_bytes``, and goes to the chatbot with its caption as the text; the
case's filing checks and strips it. One that cannot be fetched or is too big is left out
(its error's class logged, nothing of it) and the caption answered alone.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from datetime import timedelta
from typing import TYPE_CHECKING

from warta.channels.telegram import TelegramChannel, link_url, new_link_code
from warta.channels.whatsapp import WhatsAppChannel
from warta.domain.channels import Channel, Routes
from warta.errors import BadRequest, DeliveryError, InvalidInput
from warta.services import citizens
from warta.services.chatbot import engine, outbound
from warta.services.chatbot.types import Incoming
from warta.services.receipts import settle_references
from warta.store.models import ChatLink

if TYPE_CHECKING:
    from warta.channels.whatsapp import WebhookEvents
    from warta.deps import Warta

log = logging.getLogger(__name__)

LINK_TTL = timedelta(minutes=30)
#: WhatsApp lets a business send free text only this long after the citizen wrote.
WHATSAPP_WINDOW = timedelta(hours=24)
LINKED_ID = "Akun Telegram Anda sudah terhubung dengan Warta. Pemberitahuan akan datang ke sini."
LINK_FAILED_ID = (
    "Kode tautan tidak berlaku atau sudah kedaluwarsa. Buat tautan baru di portal Warta."
)


def _link_hash(app: Warta, code: str) -> str:
    return app.keyring.lookup_hash(f"telegram-link:{code}")


async def telegram_link(app: Warta, citizen_id: uuid.UUID) -> str:
    """A one-time ``t.me`` link that ties the chat it is opened in to this citizen."""
    bot = telegram(app)
    if bot is None:
        raise BadRequest("Telegram is not set up on this Warta")
    code = new_link_code()
    now = app.clock()
    async with app.uow() as uow:
        uow.chat.add(
            ChatLink(
                code_hash=_link_hash(app, code),
                citizen_id=citizen_id,
                expires_at=now + LINK_TTL,
                created_at=now,
            )
        )
        await uow.commit()
    return link_url(bot.config, code)


async def telegram_start(app: Warta, chat_id: str, code: str) -> bool:
    """``/start <code>``: link the chat to the code's citizen. False if the code is spent,
    expired or unknown (the citizen is told so in the chat)."""
    now = app.clock()
    address = f"telegram:{chat_id}"
    async with app.uow() as uow:
        link = await uow.chat.take_link(_link_hash(app, code))  # one use, even a late one
        citizen_id = link.citizen_id if link is not None and link.expires_at > now else None
        if citizen_id is not None:
            contact = await citizens.proven_contact(
                app, uow, citizen_id, "chat", address, now, proof="chat-link"
            )
            contact.last_inbound_at = now  # the citizen just wrote from this chat
        await uow.commit()
    await _reply(app, chat_id, LINK_FAILED_ID if citizen_id is None else LINKED_ID)
    return citizen_id is not None


async def telegram_text(
    app: Warta,
    chat_id: str,
    text: str = "",
    option: str | None = None,
    photo: bytes | None = None,
) -> None:
    """A message (or a tapped quick reply, or a photo with its caption as ``text``) to
    the bot: the chatbot answers in the chat."""
    address = f"telegram:{chat_id}"
    incoming = Incoming("telegram", address, text, option=option, photo=photo)
    answer = await engine.handle(app, incoming)
    await outbound.deliver(
        app, "telegram", address, None, answer.text, answer.options, answer.language
    )


async def telegram_photo(app: Warta, file_id: str) -> bytes | None:
    """The photo a citizen sent the bot (``Update.file_id``), or None when it cannot be
    had: too big, gone, or Telegram unreachable."""
    bot = telegram(app)
    if bot is None:
        return None
    return await _fetched("telegram", bot.download(file_id, app.settings.case_photo_max_bytes))


async def _fetched(service: str, download: Awaitable[bytes]) -> bytes | None:
    try:
        return await download
    except (DeliveryError, InvalidInput) as exc:  # the caption is still answered
        log.warning("%s photo not downloaded (%s)", service, type(exc).__name__)
        return None


async def _reply(app: Warta, chat_id: str, text: str) -> None:
    bot = telegram(app)
    if bot is None:
        return
    try:
        await bot.reply(chat_id, text)
    except DeliveryError as exc:  # the citizen can write again; nothing is owed
        log.warning("telegram reply not sent (%s)", type(exc).__name__)


def telegram(app: Warta) -> TelegramChannel | None:
    """The Telegram bot, when this Warta has one."""
    found = _chat_service(app, "telegram")
    return found if isinstance(found, TelegramChannel) else None


def whatsapp(app: Warta) -> WhatsAppChannel | None:
    """The WhatsApp Cloud API number, when this Warta has one."""
    found = _chat_service(app, "whatsapp")
    return found if isinstance(found, WhatsAppChannel) else None


def _chat_service(app: Warta, name: str) -> Channel | None:
    chat = app.channels.get("chat")
    return chat.services.get(name) if isinstance(chat, Routes) else None


# -- WhatsApp ------------------------------------------------------------------------------


async def whatsapp_events(app: Warta, events: WebhookEvents) -> None:
    """Statuses settle attempts; reads end escalation; inbound messages open the window
    and are answered by the chatbot."""
    now = app.clock()
    callbacks: list[uuid.UUID] = []
    async with app.uow() as uow:
        if events.receipts:
            callbacks = await settle_references(app, uow, events.receipts)
        if events.reads:
            read = await uow.notifications.messages_of("whatsapp", events.reads)
            await uow.notifications.mark_read(read, now)
        for message in events.inbound:
            await uow.chat.wrote(app.keyring.lookup_hash(f"whatsapp:{message.sender}"), now)
        await uow.commit()
    if callbacks:
        await app.queue.submit("callback", callbacks)
    channel = whatsapp(app)
    max_bytes = app.settings.case_photo_max_bytes
    for message in events.inbound:
        address = f"whatsapp:{message.sender}"
        photo = None
        if message.media_id is not None and channel is not None:
            photo = await _fetched("whatsapp", channel.download(message.media_id, max_bytes))
        incoming = Incoming("whatsapp", address, message.text, option=message.option, photo=photo)
        answer = await engine.handle(app, incoming)
        await outbound.deliver(
            app, "whatsapp", address, None, answer.text, answer.options, answer.language
        )


async def whatsapp_window_open(app: Warta, number: str) -> bool:
    """Did this number write to us in the last 24 hours (free text allowed)?"""
    since = app.clock() - WHATSAPP_WINDOW
    async with app.uow() as uow:
        return await uow.chat.wrote_since(app.keyring.lookup_hash(f"whatsapp:{number}"), since)


async def forget_expired_links(app: Warta) -> None:
    """Links nobody opened in time (the sweeper calls this)."""
    async with app.uow() as uow:
        await uow.chat.forget_links_expired_by(app.clock())
        await uow.commit()
