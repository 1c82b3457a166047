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
