"""What services, the pipeline and the API are handed: the ``Warta`` dependencies type.

A leaf on purpose: it names channels, queues and stores by their protocols and imports no
service, pipeline or channel module, so any layer can take a ``Warta`` without pulling in
the rest of the program. Only the composition root (``warta.bootstrap``) builds one; tests
build one through it with fakes.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, ParamSpec, Protocol, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from warta.domain.channels import Channel, ChannelName, ProviderEvents
from warta.security.crypto import Keyring
from warta.settings import Settings
from warta.store.cache import Caches
from warta.store.group_insert import GroupInsert
from warta.store.outbox import Outbox
from warta.store.quotas import Quotas
from warta.store.uow import UnitOfWork

if TYPE_CHECKING:  # loaded only where the peers run (make run)
    from warta.devpeers.running import DevPeers

#: The provider name of the development SMSC, in ``sms_parts`` and the dev outbox.
LOCAL_SMSC = "local-smsc"

TaskName = Literal["deliver", "callback", "fan_out"]
TASKS: tuple[TaskName, ...] = ("deliver", "callback", "fan_out")

#: Which line a delivery waits in: its channel, or ``urgent`` for urgent messages of any
#: channel, which go ahead of everything else (a national broadcast never delays them).
Lane = Literal["email", "sms", "push", "chat", "urgent"]


_CHANNEL_LANES: dict[str, Lane] = {"email": "email", "sms": "sms", "push": "push", "chat": "chat"}


def lane_of(channel: str, priority: str) -> Lane | None:
    """The lane of one notification row, from its ``type`` and ``priority`` columns."""
    return "urgent" if priority == "urgent" else _CHANNEL_LANES.get(channel)


def utc_now() -> datetime:
    return datetime.now(UTC)


class WorkQueue(Protocol):
    """Where work waits (``pipeline/queue.py``): only ids cross it, never personal data."""

    #: Whose worker takes what waits here (``name#boot``), named in new rows' leases so a
    #: restart takes them back at once; None when no worker in this process does.
    owner: str | None
    #: True when the queue drops an id already waiting in it (the embedded queue): the
    #: sweeper may then queue a due row on every sweep. A broker does not, so the sweeper
    #: leases what it queues there, lest every sweep publish the backlog again.
    remembers: bool

    async def submit(
        self, task: TaskName, ids: Sequence[uuid.UUID], *, lane: Lane | None = None
    ) -> None:
        """Queue ``ids`` for ``task``. ``lane``: a hint for deliveries (None: unknown, or
        several channels mixed; the queue decides)."""


P = ParamSpec("P")
T = TypeVar("T")


class Offload(Protocol):
    """Worker processes for CPU-heavy pure work, off the event loop (``services.offload``)."""

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T: ...

    async def aclose(self) -> None: ...


class LocalSmsc(Protocol):
    """The development SMSC (``channels/smsc.py``), as /dev/outbox plays a citizen on it."""

    async def play_inbound(self, sender: str, text: str, *, recipient: str) -> None: ...


@dataclass
class Warta:
    """Everything a request handler or task needs, built once per process."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keyring: Keyring
    #: Filled by the composition root after this object exists: the provider-event
    #: handler the SMS channels are built with needs the ``Warta`` first.
    channels: MutableMapping[ChannelName, Channel]
    queue: WorkQueue
    http: httpx.AsyncClient
    caches: Caches
    new_notifications: GroupInsert
    #: What the local capture sinks received (shown at /dev/outbox; empty in production).
    outbox: Outbox = field(default_factory=Outbox)
    #: Where channels report receipts and inbound texts (``services.provider_events``).
    events: ProviderEvents | None = None
    #: Every SMS provider by name, for its webhooks and for failover.
    sms_providers: Mapping[str, Channel] = field(default_factory=dict)
    #: The development SMSC started when no SMS provider is configured.
    local_smsc: LocalSmsc | None = None
    #: Local push and chat services started for those without credentials (dev only).
    local_peers: DevPeers | None = None
    #: The Web Push public key (base64url) the portal subscribes browsers with.
    vapid_public_key: str | None = None
    #: Reads uploads and checks bulk rows; None: in the event loop (``services.offload``).
    offload: Offload | None = None
    clock: Callable[[], datetime] = utc_now
    random: Callable[[], float] = random.random
    quotas: Quotas = field(default_factory=Quotas)
    #: Servers the composition root started (capture SMTP, local SMSC, peers), stopped
    #: after the channels on ``aclose``.
    closers: list[Callable[[], Awaitable[object]]] = field(default_factory=list)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    async def aclose(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()
        for close in self.closers:
            await close()
        await self.http.aclose()
        await self.engine.dispose()
