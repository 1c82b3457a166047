"""SMS over SMPP 3.4, as an ESME bound as a transceiver to one SMSC (smpp34 does the wire).

Each bind carries both ways: ``send`` submits each part of a text (``submit_sm``) and a
reader task takes what the SMSC sends on its own (``deliver_sm``, read in
``sms_smpp_receiving``): delivery receipts go to ``ProviderEvents.receipt``, citizens'
replies (MO) to ``ProviderEvents.inbound``. With ``binds=N`` the channel holds N such
connections, each with its own window; a part goes to the bound one with the fewest
submits waiting, and receipts may come on any of them (SMSCs send them where they like).
Every outcome of a send is translated here (the statuses in ``sms_smpp_status``) into the
``warta.errors.DeliveryError`` tree:

    not bound within ``bind_wait``, channel closed, no submit_sm_resp -> ProviderUnavailable
    window still full of unanswered submits after ``bind_wait``      -> ProviderUnavailable
    ESME_RTHROTTLED / ESME_RMSGQFUL after ``throttle_retries`` retries -> TemporaryFailure
    ESME_RINVDSTADR and the other destination statuses                -> PermanentFailure
    ESME_RSYSERR (the SMSC's own fault)                               -> ProviderUnavailable
    any other command_status                                          -> TechnicalFailure
    text that cannot be encoded, empty text, bad sender               -> ContentFault

A dropped connection is rebound in the background with backoff. A send caught by the drop
resubmits, on another bind or once bound again, only the parts that got no
``submit_sm_resp``: a part the SMSC acknowledged is never sent twice. (A part whose
response was lost on the wire may have reached the SMSC; sending it again is the lesser
harm than losing it.)

Errors and log lines name the provider and the ESME status, never the number or the text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import smpp34

from warta.channels.providers import ProviderConfig
from warta.channels.sms_smpp_config import SmppConfig, source_address
from warta.channels.sms_smpp_receiving import SmscReader
from warta.channels.sms_smpp_status import BUSY, refused, status_name
from warta.domain.channels import ChannelName, OutboundMessage, ProviderEvents, SendResult
from warta.domain.limits import TokenBucket, backoff_delay
from warta.domain.sms import encode_parts
from warta.errors import (
    ContentFault,
    PermanentFailure,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

log = logging.getLogger(__name__)

_DESTINATION = re.compile(r"\+?[0-9]{3,20}")
# How long a send that lost its submit_sm waits for the reader to confirm the session is
# gone before deciding the SMSC just did not answer.
_LOSS_GRACE = 1.0
_UNBIND_TIMEOUT = 2.0


@dataclass(eq=False)
class _Session:
    client: smpp34.Client
    smsc: smpp34.Smsc
    bound_at: float
    lost: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False)
class _Bind:
    """One of a provider's connections: its session while bound, its own window, and how
    many submits hold or wait for a place in it (``busy``: how parts are spread)."""

    number: int
    window: asyncio.Semaphore
    session: _Session | None = None
    busy: int = 0
    attempted: asyncio.Event = field(default_factory=asyncio.Event)  # first bind tried
    runner: asyncio.Task[None] | None = None

    @property
    def bound(self) -> bool:
        return self.session is not None and not self.session.lost.is_set()


class SmppChannel:
    """Send SMS through one SMSC and hand on what it reports; see the module docstring.

    ``start()`` binds eagerly, so receipts and replies flow before the first send; a send
    on a channel not started starts it. ``clock`` paces ``tps`` and times out parts of
    replies; ``rand`` jitters every backoff.
    """

    name: ChannelName = "sms"

    def __init__(
        self,
        config: SmppConfig,
        events: ProviderEvents,
        *,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.provider = config.provider
        self.events = events
        self._clock = clock
        self._rand = rand
        self._binds = [_Bind(n, asyncio.Semaphore(config.window)) for n in range(config.binds)]
        self._turn = 0  # which bind is tried first among the equally busy
        # tps as strict spacing (a bucket of one): SMSCs count per second, not per burst.
        self._bucket = (
            TokenBucket.full(capacity=1, period=1.0 / config.tps, now=clock())
            if config.tps
            else None
        )
        self._reference = random.randrange(256)  # so a restart does not reuse the last ones
        self._reader = SmscReader(
            self.provider, events, concat_timeout=config.concat_timeout, clock=clock
        )
        self._ready = asyncio.Event()  # set while any bind is up (and, once closed, to wake)
        self._closed = False

    @classmethod
    def from_config(
        cls,
        config: ProviderConfig,
        events: ProviderEvents,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> SmppChannel:
        return cls(SmppConfig.from_provider(config), events, clock=clock)

    def __repr__(self) -> str:
        return f"SmppChannel(provider={self.provider!r}, host={self.config.host!r})"

    @property
    def bound(self) -> bool:
        """Whether any of its binds is up."""
        return any(bind.bound for bind in self._binds)

    async def start(self) -> None:
        """Start binding in the background and wait for the first attempts' outcome (every
        bind tries at once); a bind that failed keeps trying with backoff (a warning is
        logged)."""
        self._ensure_running()
        await asyncio.gather(*(bind.attempted.wait() for bind in self._binds))

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != "sms":
            raise TechnicalFailure(f"{message.channel} message routed to the SMS channel")
        if self._closed:
            # Retryable on purpose: a send racing shutdown must not lose the message.
            raise ProviderUnavailable(f"SMPP provider {self.provider} channel is closed")
        if not _DESTINATION.fullmatch(message.to):
            raise PermanentFailure("the SMS recipient is not a phone number")
        self._ensure_running()
        self._reference = (self._reference + 1) % 256
        try:
            encoded = encode_parts(message.body, self._reference)
        except ValueError as exc:
            raise ContentFault(f"the SMS cannot be sent: {exc}") from exc
        if not encoded.parts:
            raise ContentFault("the SMS has no text")
        source, ton, npi = source_address(message.sender, self.config)
        fields: dict[str, Any] = {
            "source_addr": source,
            "source_addr_ton": ton,
            "source_addr_npi": npi,
            "dest_addr_ton": self.config.dest_ton,
            "dest_addr_npi": self.config.dest_npi,
            "esm_class": encoded.esm_class,
            "data_coding": encoded.data_coding,
            "registered_delivery": 1,  # a receipt for every part, success or failure
        }
        deadline: list[float] = []  # set on the first wait for a bind, shared by all parts
        ids = [
            await self._submit(message.to.removeprefix("+"), part, fields, deadline)
            for part in encoded.parts
        ]
        return SendResult(
            status="sending", provider_reference=ids[0], provider=self.provider, parts=tuple(ids)
        )

    async def aclose(self) -> None:
        """Unbind, let the reader hand on what already came, and stop rebinding. Sends
        still waiting for a bind raise ``ProviderUnavailable``."""
        if self._closed:
            return
        self._closed = True
        self._ready.set()  # wakes sends waiting for a bind; they see the channel closed
        await asyncio.gather(*(self._close_bind(bind) for bind in self._binds))
        await self._reader.aclose(_UNBIND_TIMEOUT)

    async def _close_bind(self, bind: _Bind) -> None:
        session, runner = bind.session, bind.runner
        if session is not None:
            try:
                async with asyncio.timeout(_UNBIND_TIMEOUT):
                    await session.smsc.unbind()
            except (TimeoutError, smpp34.SmppError):
                pass  # best effort: the SMSC may be gone already
        if runner is None:
            return
        if session is not None:
            # The SMSC ends the session after the unbind; until then the reader reads on.
            await asyncio.wait({runner}, timeout=_UNBIND_TIMEOUT)
        runner.cancel()  # binding, or backing off: nothing to wait for
        await asyncio.gather(runner, return_exceptions=True)
        if session is not None:
            await _stop(session.client)

    # -- sending ---------------------------------------------------------------------

    async def _submit(
        self, destination: str, payload: bytes, fields: dict[str, Any], deadline: list[float]
    ) -> str:
        throttled = 0
        while True:
            await self._wait_bound(deadline)
            await self._pace()
            bind = self._least_busy()
            if bind is None:
                continue  # every bind dropped meanwhile: wait for one again
            session: _Session | None = None
            try:
                async with self._slot(bind):
                    session = bind.session  # the one it has now: it may have rebound
                    if session is None:
                        continue  # dropped while this waited for its window
                    response = await session.smsc.submit_sm(destination, payload, **fields)
            except smpp34.SmppError as exc:
                if session is None or await self._is_lost(bind, session):
                    continue  # no submit_sm_resp: submit again, on any bind that is up
                # Still connected: a generic_nack, or no answer within smpp34's 30 s.
                raise ProviderUnavailable(
                    f"SMPP provider {self.provider} did not take submit_sm: {_reason(exc)}"
                ) from exc
            except (ValueError, OverflowError, TypeError) as exc:
                raise ContentFault(f"could not build submit_sm: {type(exc).__name__}") from exc
            status = response.command_status
            if status == 0:
                if not response.message_id:
                    # It holds the part, so no retry: sending again would go out twice.
                    raise TechnicalFailure(
                        f"SMPP provider {self.provider} took a part without a message id"
                    )
                return response.message_id
            if status not in BUSY:
                raise refused(self.provider, status)
            throttled += 1
            if throttled > self.config.throttle_retries:
                raise TemporaryFailure(
                    f"SMPP provider {self.provider} still answers {status_name(status)} "
                    f"after {self.config.throttle_retries} retries"
                )
            await asyncio.sleep(
                backoff_delay(
                    throttled,
                    base=self.config.throttle_delay,
                    cap=self.config.throttle_delay * 64,
                    jitter=self._rand(),
                )
            )

    async def _wait_bound(self, deadline: list[float]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._closed:
                raise ProviderUnavailable(f"SMPP provider {self.provider} channel is closed")
            if self.bound:
                return
            if not deadline:
                deadline.append(loop.time() + self.config.bind_wait)
            try:
                async with asyncio.timeout_at(deadline[0]):
                    await self._ready.wait()
            except TimeoutError:
                raise ProviderUnavailable(
                    f"SMPP provider {self.provider} is not bound "
                    f"(waited {self.config.bind_wait:g}s for a bind)"
                ) from None

    def _least_busy(self) -> _Bind | None:
        """The bound bind with the fewest submits holding or awaiting its window; among
        equals, each in turn, so that even a trickle of sends uses every bind."""
        binds = self._binds
        self._turn = (self._turn + 1) % len(binds)
        turn = binds[self._turn :] + binds[: self._turn]
        return min((b for b in turn if b.bound), key=lambda b: b.busy, default=None)

    @contextlib.asynccontextmanager
    async def _slot(self, bind: _Bind) -> AsyncIterator[None]:
        """A place in ``bind``'s window, waited for no longer than ``bind_wait``: an SMSC
        that holds a full window unanswered (hung, still connected) would otherwise keep
        every later send for 30 s per window's worth before it could fail over."""
        bind.busy += 1  # before any wait, so that concurrent sends spread over the binds
        try:
            try:
                if bind.window.locked():  # else a place is free: no timer to arm per part
                    async with asyncio.timeout(self.config.bind_wait):
                        await bind.window.acquire()
                else:
                    await bind.window.acquire()
            except TimeoutError:
                raise ProviderUnavailable(
                    f"SMPP provider {self.provider} answers no submit_sm "
                    f"(waited {self.config.bind_wait:g}s for a place in its window)"
                ) from None
            try:
                yield
            finally:
                bind.window.release()
        finally:
            bind.busy -= 1

    async def _pace(self) -> None:
        bucket = self._bucket
        if bucket is None:
            return
        while True:
            if bucket.take(self._clock()):
                return
            await asyncio.sleep((1.0 - bucket.tokens) * bucket.period / bucket.capacity)

    async def _is_lost(self, bind: _Bind, session: _Session) -> bool:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + _LOSS_GRACE
        while not session.lost.is_set():
            if not await session.client.is_alive():
                self._forget(bind, session)
                break
            if loop.time() >= give_up:
                return False
            await asyncio.sleep(0.05)
        return True

    # -- binding and reading ---------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._closed:
            return
        for bind in self._binds:
            if bind.runner is None or bind.runner.done():
                name = f"smpp-{self.provider}-{bind.number}"
                bind.runner = asyncio.create_task(self._run(bind), name=name)

    async def _run(self, bind: _Bind) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        which = f"bind {bind.number + 1} of {len(self._binds)}"
        while not self._closed:
            try:
                session = await self._bind()
            except Exception as exc:  # smpp34 raises SmppError; anything else alike
                failures += 1
                delay = self._rebind_delay(failures)
                log.warning(
                    "SMPP provider %s: %s failed (%s), retrying in %.1fs",
                    self.provider,
                    which,
                    _reason(exc),
                    delay,
                )
                bind.attempted.set()
                await asyncio.sleep(delay)
                continue
            bind.session = session
            self._ready.set()
            bind.attempted.set()
            log.info("SMPP provider %s: %s up, as a transceiver", self.provider, which)
            try:
                await self._reader.read(session.smsc, session.client)
            except Exception as exc:  # never seen; rebinding beats a dead channel
                log.error("SMPP provider %s: reader stopped (%s)", self.provider, _reason(exc))
            finally:
                self._forget(bind, session)
                await _stop(session.client)
            if self._closed:
                return
            # A bind that held a while starts the backoff afresh; one that keeps dropping
            # at once backs off further each time.
            lived = loop.time() - session.bound_at
            failures = 1 if lived >= self.config.rebind_max else failures + 1
            delay = self._rebind_delay(failures)
            log.warning(
                "SMPP provider %s: %s lost, rebinding in %.1fs", self.provider, which, delay
            )
            await asyncio.sleep(delay)

    async def _bind(self) -> _Session:
        client = smpp34.Client(
            self.config.host,
            self.config.port,
            self.config.system_id,
            self.config.password,
            bind_type="TRX",
            system_type=self.config.system_type,
            tls=self.config.tls,
            window_size=self.config.window,
            connect_timeout_ms=int(self.config.connect_timeout * 1000),
        )
        try:
            smsc = await client.connect()
        except BaseException:
            await _stop(client)
            raise
        return _Session(client, smsc, asyncio.get_running_loop().time())

    def _rebind_delay(self, failures: int) -> float:
        return backoff_delay(
            failures,
            base=self.config.rebind_min * 2,
            cap=self.config.rebind_max,
            jitter=self._rand(),
        )

    def _forget(self, bind: _Bind, session: _Session) -> None:
        session.lost.set()
        if bind.session is session:
            bind.session = None
            if not self._closed and not self.bound:
                self._ready.clear()


def _reason(exc: BaseException) -> str:
    # smpp34's messages are an ESME status or a socket error naming host and port: no
    # personal data, but cut to one short line all the same.
    text = " ".join(str(exc).split())[:120]
    return text or type(exc).__name__


async def _stop(client: smpp34.Client) -> None:
    with contextlib.suppress(smpp34.SmppError):  # already stopped
        await client.stop()
