"""The one interface every delivery channel implements.

A channel turns an ``OutboundMessage`` into a provider call and answers with a
``SendResult`` or raises a ``warta.errors.DeliveryError`` subclass. Vendor exceptions never
leave a channel: they are translated here at the edge, so the pipeline can decide to retry
from the exception class alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

ReceiptStatus = Literal["delivered", "temporary-failure", "permanent-failure"]

ChannelName = Literal["email", "sms", "push", "chat"]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """Everything a channel needs to send one notification, already rendered."""

    notification_id: str
    attempt: int
    channel: ChannelName
    #: email: the address; sms: E.164 number; push: a Web Push subscription as JSON
    #: (``{"endpoint", "keys": {"p256dh", "auth"}}``) or ``fcm:<registration token>``;
    #: chat: ``telegram:<chat id>`` or ``whatsapp:<E.164 number>``.
    to: str
    sender: str  # email From address, SMS sender id, or the agency's name (push, chat)
    body: str  # plain text (SMS text, the email's text/plain part, push and chat text)
    subject: str | None = None  # email subject; push title
    html: str | None = None  # email only: the text/html part
    reply_to: str | None = None  # email only
    #: push and chat: where a tap leads (the citizen's inbox entry for this message).
    url: str | None = None
    urgent: bool = False  # push: Urgency high and Android priority HIGH
    #: push: seconds the push service may hold the message for an offline device.
    ttl: int = 86_400


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the provider said when it took the message.

    ``delivered`` is final (an SMTP relay accepted it); ``sending`` means a delivery
    receipt will follow later (SMPP, push services).
    """

    status: Literal["delivered", "sending"]
    provider_reference: str | None = None
    #: The provider that took it (``name`` of the provider), when a channel has several.
    provider: str | None = None
    #: One provider message id per SMS part, in order, for matching receipts. A receipt
    #: per part arrives; the notification is delivered when every part is.
    parts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery receipt from a provider, already mapped to a Warta status."""

    provider: str
    reference: str  # the provider's message id, as in ``SendResult.parts``
    status: ReceiptStatus
    detail: str | None = None  # provider's own words (``stat:UNDELIV err:001``), no PII


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A text message a citizen sent (SMPP deliver_sm MO, or an HTTP gateway webhook)."""

    provider: str
    sender: str  # the citizen's number as the provider gave it
    recipient: str  # the short code or sender id it was sent to
    text: str


class ProviderEvents(Protocol):
    """Where channels hand what providers tell them on their own: receipts and replies.

    Implemented by ``warta.services.provider_events``; a channel calls it from its reader
    task and must not fail because of it (the implementation logs and keeps going).
    """

    async def receipt(self, receipt: Receipt) -> None: ...

    async def inbound(self, message: InboundSms) -> None: ...


@runtime_checkable
class Channel(Protocol):
    name: ChannelName

    async def send(self, message: OutboundMessage) -> SendResult: ...

    async def aclose(self) -> None: ...
