"""SMS over SMPP 3.4, as an ESME bound as a transceiver to one SMSC (smpp34 does the wire).

One bind carries both ways: ``send`` submits each part of a text (``submit_sm``) and a
reader task takes what the SMSC sends on its own (``deliver_sm``): delivery receipts go to
``ProviderEvents.receipt``, citizens' replies (MO) to ``ProviderEvents.inbound``. Every
outcome is translated here into the ``warta.errors.DeliveryError`` tree:

    not bound within ``bind_wait``, channel closed, no submit_sm_resp -> ProviderUnavailable
    ESME_RTHROTTLED / ESME_RMSGQFUL after ``throttle_retries`` retries -> TemporaryFailure
    ESME_RINVDSTADR and the other destination statuses                -> PermanentFailure
    ESME_RSYSERR (the SMSC's own fault)                               -> ProviderUnavailable
    any other command_status, empty text, bad sender                  -> TechnicalFailure

A dropped connection is rebound in the background with backoff. A send caught by the drop
waits for the new bind and resubmits only the parts that got no ``submit_sm_resp``: a part
the SMSC acknowledged is never sent twice. (A part whose response was lost on the wire may
have reached the SMSC; sending it again is the lesser harm than losing it.)

Errors and log lines name the provider and the ESME status, never the number or the text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import smpp34

from warta.channels.base import (
    ChannelName,
    InboundSms,
    OutboundMessage,
    ProviderEvents,
    Receipt,
    SendResult,
)
from warta.channels.providers import ProviderConfig
from warta.channels.sms_smpp_config import SmppConfig, source_address
from warta.domain.limits import TokenBucket, backoff_delay
from warta.domain.receipts import parse_receipt
from warta.domain.sms import (
    Concat,
    PartCollector,
    decode_short_message,
    encode_parts,
    join_parts,
)
from warta.errors import (
    DeliveryError,
    PermanentFailure,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

log = logging.getLogger(__name__)

#: SMPP 3.4 command_status names (section 5.1.3), for messages and logs.
ESME_NAMES: Mapping[int, str] = {
    0x00: "ESME_ROK", 0x01: "ESME_RINVMSGLEN", 0x02: "ESME_RINVCMDLEN",
    0x03: "ESME_RINVCMDID", 0x04: "ESME_RINVBNDSTS", 0x05: "ESME_RALYBND",
    0x06: "ESME_RINVPRTFLG", 0x07: "ESME_RINVREGDLVFLG", 0x08: "ESME_RSYSERR",
    0x0A: "ESME_RINVSRCADR", 0x0B: "ESME_RINVDSTADR", 0x0C: "ESME_RINVMSGID",
    0x0D: "ESME_RBINDFAIL", 0x0E: "ESME_RINVPASWD", 0x0F: "ESME_RINVSYSID",
    0x11: "ESME_RCANCELFAIL", 0x13: "ESME_RREPLACEFAIL", 0x14: "ESME_RMSGQFUL",
    0x15: "ESME_RINVSERTYP", 0x33: "ESME_RINVNUMDESTS", 0x34: "ESME_RINVDLNAME",
    0x40: "ESME_RINVDESTFLAG", 0x42: "ESME_RINVSUBREP", 0x43: "ESME_RINVESMCLASS",
    0x44: "ESME_RCNTSUBDL", 0x45: "ESME_RSUBMITFAIL", 0x48: "ESME_RINVSRCTON",
    0x49: "ESME_RINVSRCNPI", 0x50: "ESME_RINVDSTTON", 0x51: "ESME_RINVDSTNPI",
    0x53: "ESME_RINVSYSTYP", 0x54: "ESME_RINVREPFLAG", 0x55: "ESME_RINVNUMMSGS",
    0x58: "ESME_RTHROTTLED", 0x61: "ESME_RINVSCHED", 0x62: "ESME_RINVEXPIRY",
    0x63: "ESME_RINVDFTMSGID", 0x64: "ESME_RX_T_APPN", 0x65: "ESME_RX_P_APPN",
    0x66: "ESME_RX_R_APPN", 0x67: "ESME_RQUERYFAIL", 0xC0: "ESME_RINVOPTPARSTREAM",
    0xC1: "ESME_ROPTPARNOTALLWD", 0xC2: "ESME_RINVPARLEN", 0xC3: "ESME_RMISSINGOPTPARAM",
    0xC4: "ESME_RINVOPTPARAMVAL", 0xFE: "ESME_RDELIVERYFAILURE", 0xFF: "ESME_RUNKNOWNERR",
}  # fmt: skip
_BUSY = frozenset({0x14, 0x58})  # queue full, throttled: wait and submit again
_NUMBER_REFUSED = frozenset({0x0B, 0x50, 0x51, 0xFE})  # the destination is the problem
_SMSC_FAULT = frozenset({0x08})  # the SMSC's own error: it may work later, or elsewhere

TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
_TLV_MESSAGE_PAYLOAD = 0x0424
_TLV_SAR_MSG_REF_NUM = 0x020C
_TLV_SAR_TOTAL_SEGMENTS = 0x020E
_TLV_SAR_SEGMENT_SEQNUM = 0x020F
# esm_class bits 2-5 say what a deliver_sm is: 0 a text from a phone, 0x04 a delivery
# receipt, 0x20 an intermediate notification; 0x08/0x10 are handset acks we do not use.
_ESM_TYPE = 0x3C
_ESM_RECEIPTS = frozenset({0x04, 0x20})

_DESTINATION = re.compile(r"\+?[0-9]{3,20}")
# How long a send that lost its submit_sm waits for the reader to confirm the session is
# gone before deciding the SMSC just did not answer.
_LOSS_GRACE = 1.0
# An idle reader checks this often that its session still lives, in case smpp34's
# "disconnected" event could not be queued.
_IDLE_CHECK = 5.0
_UNBIND_TIMEOUT = 2.0
# deliver_sm read ahead of the one being handed on; receipts among them go on together.
_READ_AHEAD = 100


@dataclass(frozen=True, slots=True)
class _Reply:
    """One part of a citizen's reply, as it waits for the rest."""

    sender: str
    recipient: str
    text: str


@dataclass(eq=False)
class _Session:
    client: smpp34.Client
    smsc: smpp34.Smsc
    bound_at: float
    lost: asyncio.Event = field(default_factory=asyncio.Event)


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
        self._window = asyncio.Semaphore(config.window)
        # tps as strict spacing (a bucket of one): SMSCs count per second, not per burst.
        self._bucket = (
            TokenBucket.full(capacity=1, period=1.0 / config.tps, now=clock())
            if config.tps
            else None
        )
        self._reference = random.randrange(256)  # so a restart does not reuse the last ones
        self._replies: PartCollector[_Reply] = PartCollector(config.concat_timeout)
        self._session: _Session | None = None
        self._ready = asyncio.Event()  # set while bound (and, once closed, to wake waiters)
        self._attempted = asyncio.Event()  # the first bind attempt has an outcome
        self._runner: asyncio.Task[None] | None = None
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
        return self._session is not None and not self._session.lost.is_set()

    async def start(self) -> None:
        """Start binding in the background and wait for the first attempt's outcome; if it
        failed, the channel keeps trying with backoff (a warning is logged)."""
        self._ensure_running()
        await self._attempted.wait()

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
            raise TechnicalFailure(f"the SMS cannot be sent: {exc}") from exc
        if not encoded.parts:
            raise TechnicalFailure("the SMS has no text")
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
        session, runner = self._session, self._runner
        if session is not None:
            try:
                async with asyncio.timeout(_UNBIND_TIMEOUT):
                    await session.smsc.unbind()
            except (TimeoutError, smpp34.SmppError):
                pass  # best effort: the SMSC may be gone already
        if runner is None:
            return
        if session is not None:
            # The SMSC ends the session after the unbind; until then the reader drains.
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
            session = await self._bound_session(deadline)
            await self._pace()
            try:
                async with self._window:
                    response = await session.smsc.submit_sm(destination, payload, **fields)
            except smpp34.SmppError as exc:
                if await self._is_lost(session):
                    continue  # no submit_sm_resp: submit again once bound again
                # Still connected: a generic_nack, or no answer within smpp34's 30 s.
                raise ProviderUnavailable(
                    f"SMPP provider {self.provider} did not take submit_sm: {_reason(exc)}"
                ) from exc
            except (ValueError, OverflowError, TypeError) as exc:
                raise TechnicalFailure(f"could not build submit_sm: {type(exc).__name__}") from exc
            status = response.command_status
            if status == 0:
                if not response.message_id:
                    # It holds the part, so no retry: sending again would go out twice.
                    raise TechnicalFailure(
                        f"SMPP provider {self.provider} took a part without a message id"
                    )
                return response.message_id
            if status not in _BUSY:
                raise _refused(self.provider, status)
            throttled += 1
            if throttled > self.config.throttle_retries:
                raise TemporaryFailure(
                    f"SMPP provider {self.provider} still answers {_status_name(status)} "
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

    async def _bound_session(self, deadline: list[float]) -> _Session:
        loop = asyncio.get_running_loop()
        while True:
            if self._closed:
                raise ProviderUnavailable(f"SMPP provider {self.provider} channel is closed")
            session = self._session
            if session is not None and not session.lost.is_set():
                return session
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

    async def _pace(self) -> None:
        bucket = self._bucket
        if bucket is None:
            return
        while True:
            if bucket.take(self._clock()):
                return
            await asyncio.sleep((1.0 - bucket.tokens) * bucket.period / bucket.capacity)

    async def _is_lost(self, session: _Session) -> bool:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + _LOSS_GRACE
        while not session.lost.is_set():
            if not await session.client.is_alive():
                self._forget(session)
                break
            if loop.time() >= give_up:
                return False
            await asyncio.sleep(0.05)
        return True

    # -- binding and reading ---------------------------------------------------------

    def _ensure_running(self) -> None:
        if (self._runner is None or self._runner.done()) and not self._closed:
            self._runner = asyncio.create_task(self._run(), name=f"smpp-{self.provider}")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while not self._closed:
            try:
                session = await self._bind()
            except Exception as exc:  # smpp34 raises SmppError; anything else alike
                failures += 1
                delay = self._rebind_delay(failures)
                log.warning(
                    "SMPP provider %s: bind failed (%s), retrying in %.1fs",
                    self.provider,
                    _reason(exc),
                    delay,
                )
                self._attempted.set()
                await asyncio.sleep(delay)
                continue
            self._session = session
            self._ready.set()
            self._attempted.set()
            log.info("SMPP provider %s: bound as a transceiver", self.provider)
            try:
                await self._read(session)
            except Exception as exc:  # never seen; rebinding beats a dead channel
                log.error("SMPP provider %s: reader stopped (%s)", self.provider, _reason(exc))
            finally:
                self._forget(session)
                await _stop(session.client)
            if self._closed:
                return
            # A bind that held a while starts the backoff afresh; one that keeps dropping
            # at once backs off further each time.
            lived = loop.time() - session.bound_at
            failures = 1 if lived >= self.config.rebind_max else failures + 1
            delay = self._rebind_delay(failures)
            log.warning(
                "SMPP provider %s: connection lost, rebinding in %.1fs", self.provider, delay
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

    def _forget(self, session: _Session) -> None:
        session.lost.set()
        if self._session is session:
            self._session = None
            if not self._closed:
                self._ready.clear()

    async def _read(self, session: _Session) -> None:
        """Hand on every deliver_sm until smpp34 says the session ended. Reading on after
        the loss is noticed matters: receipts queued before it are already acknowledged
        to the SMSC, which will not send them again.

        Reading and handing on overlap: while one batch is being handed on (stored), up to
        ``_READ_AHEAD`` more are read, and the receipts among them go on together, in one
        call (one transaction) where the events handler offers ``receipt_batch``. Beyond
        that, reading waits, so smpp34's own backpressure still applies."""
        queue: asyncio.Queue[smpp34.DeliverSmEvent] = asyncio.Queue(maxsize=_READ_AHEAD)
        handing_on = asyncio.ensure_future(self._hand_on(queue))
        pending: asyncio.Future[Any] | None = None
        ended = False
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(session.smsc.next())
                done, _ = await asyncio.wait({pending}, timeout=_IDLE_CHECK)
                if not done:
                    if not await session.client.is_alive():
                        break
                    continue
                event, pending = pending.result(), None
                if isinstance(event, smpp34.Disconnected):
                    break
                await queue.put(event)
            ended = True
        finally:
            if pending is not None:
                pending.cancel()
            try:
                if ended:
                    await queue.join()  # what was read is handed on before the reader ends
            finally:
                handing_on.cancel()
                await asyncio.gather(handing_on, return_exceptions=True)

    async def _hand_on(self, queue: asyncio.Queue[smpp34.DeliverSmEvent]) -> None:
        """Take what the reader queued, everything queued at once, in order."""
        while True:
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await self._dispatch(batch)
            except Exception as exc:  # never seen: _dispatch logs what it cannot hand on
                self._log_not_handed_on(exc)
            finally:
                for _ in batch:
                    queue.task_done()

    async def _dispatch(self, events: list[smpp34.DeliverSmEvent]) -> None:
        receipts: list[Receipt] = []
        for event in events:
            try:
                tlvs = {tlv.tag: tlv for tlv in event.tlvs}
                kind = event.esm_class & _ESM_TYPE
                if kind in _ESM_RECEIPTS or TLV_RECEIPTED_MESSAGE_ID in tlvs:
                    receipt = self._receipt(event, tlvs)
                    if receipt is not None:
                        receipts.append(receipt)
                elif kind == 0:
                    await self._hand_on_receipts(receipts)  # in the order they came
                    receipts = []
                    await self._on_reply(event, tlvs)
            except Exception as exc:
                self._log_not_handed_on(exc)
        await self._hand_on_receipts(receipts)
        try:
            for parts in self._replies.expire(self._clock()):
                log.warning("SMPP provider %s: a long reply came incomplete", self.provider)
                await self._hand_on_reply(parts)
        except Exception as exc:
            self._log_not_handed_on(exc)

    def _log_not_handed_on(self, exc: Exception) -> None:
        # The SMSC has its deliver_sm_resp already (smpp34 answers before we see the
        # PDU), so this cannot be refused for a resend: log without the content.
        log.error(
            "SMPP provider %s: could not hand on a deliver_sm (%s)",
            self.provider,
            type(exc).__name__,
        )

    def _receipt(self, event: smpp34.DeliverSmEvent, tlvs: dict[int, smpp34.Tlv]) -> Receipt | None:
        message_id = tlvs.get(TLV_RECEIPTED_MESSAGE_ID)
        state = tlvs.get(TLV_MESSAGE_STATE)
        report = parse_receipt(
            event.short_message.decode("latin-1"),
            receipted_message_id=None if message_id is None else message_id.as_string(),
            message_state=None if state is None else state.as_int(),
        )
        if report.status is None:
            return None  # ENROUTE, ACCEPTD: a final receipt follows
        return Receipt(self.provider, report.message_id, report.status, report.detail)

    async def _hand_on_receipts(self, receipts: list[Receipt]) -> None:
        """Several receipts in one call where the handler can take them so (one
        transaction instead of one each); one by one otherwise, or if that call fails,
        so that one receipt the handler cannot take does not cost the others."""
        if not receipts:
            return
        batch = getattr(self.events, "receipt_batch", None)
        if batch is not None and len(receipts) > 1:
            try:
                await batch(receipts)
                return
            except Exception as exc:
                log.warning(
                    "SMPP provider %s: %d receipts could not be handed on together (%s); "
                    "trying one by one",
                    self.provider,
                    len(receipts),
                    type(exc).__name__,
                )
        for receipt in receipts:
            try:
                await self.events.receipt(receipt)
            except Exception as exc:
                self._log_not_handed_on(exc)

    async def _on_reply(self, event: smpp34.DeliverSmEvent, tlvs: dict[int, smpp34.Tlv]) -> None:
        payload = event.short_message
        if not payload and _TLV_MESSAGE_PAYLOAD in tlvs:
            payload = tlvs[_TLV_MESSAGE_PAYLOAD].value
        text, concat = decode_short_message(payload, event.data_coding, event.esm_class)
        concat = concat or _sar_concat(tlvs)
        part = _Reply(event.source_addr, event.destination_addr, text)
        if concat is None or concat.total <= 1:
            await self._hand_on_reply([part])
            return
        key = (part.sender, part.recipient)
        parts = self._replies.add(key, concat, part, self._clock())
        if parts is not None:
            await self._hand_on_reply(parts)

    async def _hand_on_reply(self, parts: list[_Reply]) -> None:
        text = join_parts([part.text for part in parts])
        await self.events.inbound(
            InboundSms(self.provider, parts[0].sender, parts[0].recipient, text)
        )


def _sar_concat(tlvs: dict[int, smpp34.Tlv]) -> Concat | None:
    """Some SMSCs number the parts of a long reply in SAR TLVs instead of a UDH."""
    values = [tlvs.get(tag) for tag in (_TLV_SAR_MSG_REF_NUM, _TLV_SAR_TOTAL_SEGMENTS)]
    sequence = tlvs.get(_TLV_SAR_SEGMENT_SEQNUM)
    if values[0] is None or values[1] is None or sequence is None:
        return None
    numbers = [values[0].as_int(), values[1].as_int(), sequence.as_int()]
    if None in numbers:
        return None
    reference, total, seq = (int(n or 0) for n in numbers)
    return Concat(reference, total, seq)


def _status_name(status: int) -> str:
    return f"{ESME_NAMES.get(status, 'ESME status')} (0x{status:08X})"


def _refused(provider: str, status: int) -> DeliveryError:
    message = f"SMPP provider {provider} refused submit_sm: {_status_name(status)}"
    if status in _NUMBER_REFUSED:
        return PermanentFailure(message)
    if status in _SMSC_FAULT:
        return ProviderUnavailable(message)
    return TechnicalFailure(message)


def _reason(exc: BaseException) -> str:
    # smpp34's messages are an ESME status or a socket error naming host and port: no
    # personal data, but cut to one short line all the same.
    text = " ".join(str(exc).split())[:120]
    return text or type(exc).__name__


async def _stop(client: smpp34.Client) -> None:
    with contextlib.suppress(smpp34.SmppError):  # already stopped
        await client.stop()
