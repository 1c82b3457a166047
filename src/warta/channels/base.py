"""The one interface every delivery channel implements.

A channel turns an ``OutboundMessage`` into a provider call and answers with a
``SendResult`` or raises a ``warta.errors.DeliveryError`` subclass. Vendor exceptions never
leave a channel: they are translated here at the edge, so the pipeline can decide to retry
from the exception class alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

ChannelName = Literal["email", "sms"]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """Everything a channel needs to send one notification, already rendered."""

    notification_id: str
    attempt: int
    channel: ChannelName
    to: str  # E.164 phone number or email address
    sender: str  # email From address, or SMS sender id
    body: str  # plain text (SMS text, or the email's text/plain part)
    subject: str | None = None  # email only
    html: str | None = None  # email only: the text/html part
    reply_to: str | None = None  # email only


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the provider said when it took the message.

    ``delivered`` is final (an SMTP relay accepted it); ``sending`` means a delivery
    receipt will follow later (SMPP, push services).
    """

    status: Literal["delivered", "sending"]
    provider_reference: str | None = None


@runtime_checkable
class Channel(Protocol):
    name: ChannelName

    async def send(self, message: OutboundMessage) -> SendResult: ...

    async def aclose(self) -> None: ...
