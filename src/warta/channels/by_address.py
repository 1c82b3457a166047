"""One channel name over several services, chosen by the form of the address.

A citizen's push contact is a Web Push subscription (the portal installed as an app) or
an FCM token (the official app); a chat contact is a Telegram chat or a WhatsApp number.
Routing picks ``push`` or ``chat``; which service carries it is the address's business:

    {"endpoint": ...}     -> Web Push         fcm:<token>          -> FCM
    telegram:<chat id>    -> Telegram         whatsapp:<+62...>    -> WhatsApp
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from warta.domain.channels import Channel, ChannelName, OutboundMessage, SendResult
from warta.errors import TechnicalFailure
from warta.store.outbox import CapturedMessage, Outbox

#: Web Push subscriptions are stored as their JSON, which is the only form starting so.
WEB_PUSH_PREFIX = "{"


def service_of(address: str) -> str:
    """``"telegram:123"`` -> ``"telegram"``; a subscription's JSON -> ``"webpush"``."""
    if address.startswith(WEB_PUSH_PREFIX):
        return "webpush"
    service, colon, _ = address.partition(":")
    return service if colon else ""


def shown(address: str) -> str:
    """An address as /dev/outbox shows it: a subscription by the end of its endpoint."""
    if address.startswith(WEB_PUSH_PREFIX):
        try:
            endpoint = str(json.loads(address).get("endpoint", ""))
        except ValueError:
            endpoint = ""
        return f"webpush:…{endpoint[-12:]}"
    if address.startswith("fcm:"):
        return f"fcm:{address[4:16]}…"
    return address


class AddressRouter:
    """A ``Channel`` that hands each message to the service its address names.

    With an ``outbox`` (``make run``, local peers) every message a service accepted is
    also shown at /dev/outbox, as the capture sinks show email and SMS.
    """

    def __init__(
        self, name: ChannelName, services: Mapping[str, Channel], outbox: Outbox | None = None
    ) -> None:
        self.name = name
        self.services = dict(services)
        self.outbox = outbox

    async def send(self, message: OutboundMessage) -> SendResult:
        service = service_of(message.to)
        channel = self.services.get(service)
        if channel is None:
            # Our configuration, not the citizen: no escalation blame on the contact.
            raise TechnicalFailure(f"no {self.name} service is set up for {service or '?'}")
        result = await channel.send(message)
        if self.outbox is not None:
            self.outbox.add(
                CapturedMessage(
                    channel=self.name,
                    to=shown(message.to),
                    sender=f"{message.sender} ({service})",
                    subject=message.subject,
                    body=message.body if message.url is None else f"{message.body}\n{message.url}",
                    html=None,
                    notification_id=message.notification_id,
                )
            )
        return result

    async def aclose(self) -> None:
        for channel in self.services.values():
            await channel.aclose()
