"""One channel name over several services, chosen by the form of the address.

A citizen's push contact is a Web Push subscription (the portal installed as an app) or
an FCM token (the official app); a chat contact is a Telegram chat or a WhatsApp number.
Routing picks ``push`` or ``chat``; which service carries it is the address's business:

    {"endpoint": ...}     -> Web Push         fcm:<token>          -> FCM
    telegram:<chat id>    -> Telegram         whatsapp:<+62...>    -> WhatsApp
"""

from __future__ import annotations

from collections.abc import Mapping

from warta.channels.base import Channel, ChannelName, OutboundMessage, SendResult
from warta.errors import TechnicalFailure

#: Web Push subscriptions are stored as their JSON, which is the only form starting so.
WEB_PUSH_PREFIX = "{"


def service_of(address: str) -> str:
    """``"telegram:123"`` -> ``"telegram"``; a subscription's JSON -> ``"webpush"``."""
    if address.startswith(WEB_PUSH_PREFIX):
        return "webpush"
    service, colon, _ = address.partition(":")
    return service if colon else ""


class AddressRouter:
    """A ``Channel`` that hands each message to the service its address names."""

    def __init__(self, name: ChannelName, services: Mapping[str, Channel]) -> None:
        self.name = name
        self.services = dict(services)

    async def send(self, message: OutboundMessage) -> SendResult:
        service = service_of(message.to)
        channel = self.services.get(service)
        if channel is None:
            # Our configuration, not the citizen: no escalation blame on the contact.
            raise TechnicalFailure(f"no {self.name} service is set up for {service or '?'}")
        return await channel.send(message)

    async def aclose(self) -> None:
        for channel in self.services.values():
            await channel.aclose()
