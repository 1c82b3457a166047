"""What the local capture sinks received (the dev outbox), kept in this process's memory.

On purpose never on disk: a captured message holds personal data (a phone number, an
address, personalised text). The capture SMTP server, the local SMSC and the local push
and chat peers add to it; /dev/outbox and the tests read it.
"""

from __future__ import annotations

import asyncio
import builtins
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from warta.domain.channels import ChannelName
from warta.errors import ConfigurationError


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CapturedMessage:
    channel: ChannelName
    to: str
    sender: str
    subject: str | None
    body: str
    html: str | None
    notification_id: str | None
    captured_at: datetime = field(default_factory=_utcnow)
    #: SMS through ``LocalSmsc``: the message id of each part, the SMPP data_coding
    #: (0 GSM-7, 8 UCS-2) and the receipt state it answers with (``DELIVRD``, ``UNDELIV``).
    reference: tuple[str, ...] = ()
    data_coding: int | None = None
    receipt: str | None = None


class Outbox:
    """The newest ``maxlen`` captured messages; older ones fall off the end.

    Use it from the event loop's thread only (``wait_for`` wakes on ``add``).
    """

    def __init__(self, maxlen: int = 1000) -> None:
        if maxlen < 1:
            raise ConfigurationError(f"Outbox maxlen must be at least 1, got {maxlen}")
        self._messages: deque[CapturedMessage] = deque(maxlen=maxlen)
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def maxlen(self) -> int:
        return self._messages.maxlen or 0

    def __len__(self) -> int:
        return len(self._messages)

    def add(self, message: CapturedMessage) -> None:
        self._messages.append(message)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    def list(self, channel: ChannelName | None = None) -> builtins.list[CapturedMessage]:
        """Captured messages, newest first, optionally only those of one channel."""
        return [m for m in reversed(self._messages) if channel in (None, m.channel)]

    def clear(self) -> None:
        self._messages.clear()

    # A timeout argument (ASYNC109) on purpose: a test reads better as
    # ``await outbox.wait_for(3, timeout=1)`` than wrapped in ``asyncio.timeout``.
    async def wait_for(
        self,
        count: int,
        timeout: float = 15.0,  # noqa: ASYNC109 (a loaded CI machine: returns on arrival)
    ) -> builtins.list[CapturedMessage]:
        """Wait until at least ``count`` messages are held, then return them newest first.

        Raises ``TimeoutError`` saying how many arrived; ``ValueError`` if ``count`` could
        never be reached because it is above ``maxlen``.
        """
        if count > self.maxlen:
            raise ValueError(f"cannot wait for {count} messages: the outbox keeps {self.maxlen}")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                while len(self._messages) < count:
                    waiter = loop.create_future()
                    self._waiters.add(waiter)
                    try:
                        await waiter
                    finally:
                        self._waiters.discard(waiter)
        except TimeoutError:
            raise TimeoutError(
                f"waited {timeout}s for {count} messages, the outbox holds {len(self)}"
            ) from None
        return self.list()
