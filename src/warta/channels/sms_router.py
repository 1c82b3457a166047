"""The SMS channel the pipeline sees: several providers behind one ``send``.

Each send goes to the provider ``domain.failover.Balancer`` picks; if that provider is
down or busy (``ProviderUnavailable``, ``TemporaryFailure``) or misconfigured
(``TechnicalFailure``) the next one is tried at once, so a dead provider delays a message
by one failed attempt and loses nothing; an SMPP provider known to be down (not bound) is
tried only after the bound ones, so it does not even cost that. A ``PermanentFailure`` is
about the number, not the provider, and ends the send. If every provider fails, the last
error goes back to the pipeline, which retries later with backoff.

Only a provider's faults feed its health in the balancer: a ``ContentFault`` (text that
cannot be encoded, no text, a sender the protocol cannot carry) is the message's fault and
would fail on any provider alike, so it is never counted against one, else a batch of bad
messages could demote a healthy provider. The next provider is still tried (another
protocol may carry the message), uncounted as well.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from warta.domain.channels import ChannelName, OutboundMessage, SendResult
from warta.domain.failover import Balancer
from warta.errors import ContentFault, DeliveryError, PermanentFailure, ProviderUnavailable

log = logging.getLogger(__name__)


class SmsProvider(Protocol):
    name: ChannelName
    provider: str

    async def send(self, message: OutboundMessage) -> SendResult: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Binds(Protocol):
    """A provider holding a standing connection (SMPP): ``bound`` while it can submit."""

    @property
    def bound(self) -> bool: ...


class SmsRouter:
    name: ChannelName = "sms"

    def __init__(
        self,
        providers: Sequence[SmsProvider],
        balancer: Balancer,
        *,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.providers = {p.provider: p for p in providers}
        self.balancer = balancer
        self._clock = clock
        self._rand = rand

    async def start(self) -> None:
        for provider in self.providers.values():
            await provider.start()

    async def send(self, message: OutboundMessage) -> SendResult:
        last: DeliveryError = ProviderUnavailable("no SMS provider configured")
        for name in self._order():
            try:
                result = await self.providers[name].send(message)
            except PermanentFailure:
                self.balancer.record_send(name, True, self._clock())  # the provider worked
                raise
            except DeliveryError as exc:
                if not isinstance(exc, ContentFault):  # only the provider's faults count
                    self.balancer.record_send(name, False, self._clock())
                log.warning(
                    "SMS provider %s failed (%s: %s), trying the next",
                    name,
                    type(exc).__name__,
                    exc,
                )
                last = exc
                continue
            self.balancer.record_send(name, True, self._clock())
            return result
        raise last

    def _order(self) -> list[str]:
        """The balancer's order, with providers not bound now (an SMSC that is down) moved
        last: the others take the message at once, not after the dead one's ``bind_wait``
        (10 s for every batch of sends, which held a whole outage's traffic back). A
        provider passed over is not counted as failing; it is tried when no other takes it."""
        order = self.balancer.order(self._clock(), self._rand())
        down = {n for n, p in self.providers.items() if isinstance(p, Binds) and not p.bound}
        return [n for n in order if n not in down] + [n for n in order if n in down]

    def providers_up(self) -> dict[str, bool]:
        """Whether each provider could take a message now: an SMPP provider while bound,
        an HTTP gateway (no standing connection) while failover has not demoted it."""
        now = self._clock()
        return {
            name: p.bound if isinstance(p, Binds) else not self.balancer.is_demoted(name, now)
            for name, p in self.providers.items()
        }

    def observe_receipt(self, provider: str, latency: float) -> None:
        """A receipt came ``latency`` seconds after the send: feeds slow-provider demotion."""
        self.balancer.record_receipt(provider, latency, self._clock())

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()
