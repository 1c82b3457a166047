"""Real local peers for a `warta serve` subprocess, that a synchronous test can stop and
start: an SMTP relay (aiosmtpd, ``CaptureSmtpServer``) and SMSCs (``LocalSmsc``, the
project's SMPP server), each on its own fixed port, all on one event loop in a background
thread. A stopped peer refuses connections, as a relay or SMSC that is down does, and
comes back on the same port.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from warta.channels.capture import CaptureHandler, CaptureSmtpServer
from warta.channels.smsc import LocalSmsc
from warta.store.outbox import Outbox

T = TypeVar("T")

#: Enough for every message one test sends: the outboxes must not drop the oldest.
_KEEP = 10_000


@dataclass(frozen=True)
class Arrival:
    """One message a peer took: whom it was for, and when (UTC)."""

    key: str  # an email's notification id; an SMS's phone number (E.164)
    at: datetime
    peer: str


class Peers:
    """The relay ``smtp`` and the SMSCs named in ``smscs``; see the module docstring."""

    def __init__(self, smscs: tuple[str, ...]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="peers", daemon=True)
        self._thread.start()
        self.relay = CaptureSmtpServer(CaptureHandler(Outbox(_KEEP)))
        self.smscs = {name: LocalSmsc(Outbox(_KEEP)) for name in smscs}

    def run(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float = 30.0) -> T:
        """Run a coroutine on the peers' loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(make(), self._loop).result(timeout)

    def read(self, get: Callable[[], T]) -> T:
        """Call ``get`` on the peers' loop: their state is only touched from there."""

        async def call() -> T:
            return get()

        return self.run(call)

    def start(self) -> None:
        self.run(self.relay.start)
        for smsc in self.smscs.values():
            self.run(smsc.start)

    def close(self) -> None:
        try:
            self.run(self.relay.stop)
            for smsc in self.smscs.values():
                self.run(smsc.stop)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    # -- what a test reads -----------------------------------------------------------

    @property
    def smtp_url(self) -> str:
        return f"smtp://{self.relay.host}:{self.relay.port}?starttls=off"

    def smpp_url(self, name: str, **options: object) -> str:
        smsc = self.smscs[name]
        query = "&".join(f"{k}={v}" for k, v in {"name": name, **options}.items())
        return f"smpp://warta:rahasia@{smsc.host}:{smsc.port}?{query}"

    def emails(self) -> list[Arrival]:
        """Every email the relay took, oldest first, by notification id."""
        taken = self.read(lambda: self.relay.handler.outbox.list("email"))
        return [Arrival(m.notification_id or "", m.captured_at, "smtp") for m in reversed(taken)]

    def sms(self) -> list[Arrival]:
        """Every whole text any SMSC took, oldest first, by phone number."""
        taken = self.read(
            lambda: [(name, m) for name, s in self.smscs.items() for m in s.outbox.list("sms")]
        )
        arrivals = [Arrival(m.to, m.captured_at, name) for name, m in taken]
        return sorted(arrivals, key=lambda a: a.at)

    def bound(self, name: str) -> int:
        """ESMEs bound to SMSC ``name`` right now."""
        return self.read(lambda: self.smscs[name].bound)
