"""The one interface every delivery channel implements, and the words for what passes it.

The channel adapters live in ``warta.channels``; this module is only types (and the
check that a name is a channel's), so that services, the pipeline and the dependencies
type (``warta.deps``) can name a channel without importing one. ``ChannelName`` is the
one spelling of a channel everywhere in Warta.

A channel turns an ``OutboundMessage`` into a provider call and answers with a
``SendResult`` or raises a ``warta.errors.DeliveryError`` subclass. Vendor exceptions never
leave a channel: they are translated here at the edge, so the pipeline can decide to retry
from the exception class alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol, TypeGuard, get_args, runtime_checkable

ReceiptStatus = Literal["delivered", "temporary-failure", "permanent-failure"]

ChannelName = Literal["email", "sms", "push", "chat"]
#: Every channel's name, to check one read from a row, a request or a template against.
CHANNEL_NAMES: Final[frozenset[str]] = frozenset(get_args(ChannelName))


def is_channel(name: str) -> TypeGuard[ChannelName]:
    """Whether ``name`` names a channel: ``"sms"`` does, a ``"multi"`` template's type not."""
    return name in CHANNEL_NAMES


def channel_named(name: str) -> ChannelName:
    """``name`` as a channel's name, for a value that must be one (a single-channel
    template's type, a stored attempt's): anything else is a bug, not bad input."""
    if not is_channel(name):
        raise ValueError(f"{name!r} is not a channel")
    return name


@dataclass(frozen=True, slots=True)
class Option:
    """A quick reply offered with a chat message: a button (Telegram, WhatsApp, the
    portal) or a numbered line (SMS). ``id`` comes back when it is chosen (at most 64
    bytes of UTF-8: Telegram's callback_data); ``title`` is what the button says."""

    id: str
    title: str


#: The email header naming the notification (the bounce reader finds it in a returned copy).
NOTIFICATION_ID_HEADER: Final = "X-Warta-Notification-Id"


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
    #: chat and SMS: quick replies offered with it (``domain.quick_replies`` fits them
    #: to each channel's limits).
    options: tuple[Option, ...] = ()
    #: email only: more header fields, as (name, value), e.g. List-Unsubscribe (RFC 8058).
    headers: tuple[tuple[str, str], ...] = ()
    #: email only: the envelope sender (MAIL FROM, which becomes Return-Path), where
    #: bounces go; None sends from the From address.
    return_path: str | None = None


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
class BatchedProviderEvents(ProviderEvents, Protocol):
    """Events that can also take several receipts in one call (one transaction)."""

    async def receipt_batch(self, receipts: Sequence[Receipt]) -> None: ...


@runtime_checkable
class Channel(Protocol):
    name: ChannelName

    async def send(self, message: OutboundMessage) -> SendResult: ...

    async def aclose(self) -> None: ...


# -- Optional capabilities ------------------------------------------------------------------
# Declared, not probed with getattr: renaming a method then fails type checking instead of
# silently turning the feature off.


@runtime_checkable
class Startable(Protocol):
    """A channel that connects before its first send (an SMPP bind), so receipts and
    replies flow from the start."""

    async def start(self) -> object: ...


@runtime_checkable
class ObservesReceipts(Protocol):
    """A channel that learns from receipt latency (the SMS router's failover balancer)."""

    def observe_receipt(self, provider: str, latency: float) -> None: ...


@runtime_checkable
class ReportsProviders(Protocol):
    """A channel over providers that can say which could take a message now (the SMS
    router), for ``GET /health/ready``."""

    def providers_up(self) -> Mapping[str, bool]: ...


@runtime_checkable
class Routes(Protocol):
    """A channel that hands each address to one of several services by its form
    (``telegram:...``, ``whatsapp:...``, ``fcm:...``)."""

    services: Mapping[str, Channel]
