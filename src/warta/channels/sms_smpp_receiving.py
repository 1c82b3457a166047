"""What an SMSC sends on its own over an SMPP bind (``deliver_sm``), handed on to Warta:
delivery receipts to ``ProviderEvents.receipt``, citizens' replies (MO) to
``ProviderEvents.inbound``, the parts of a long reply joined first.

``warta.channels.sms_smpp`` binds and sends; for each bind it runs ``SmscReader.read``.
Every bind's reader only queues what it reads; one task per provider hands it on, in
batches, so storing receipts never holds up a read (nor, through smpp34's inbound
backpressure, the SMSC) and never runs inside a send.
Log lines name the provider and the exception's class, never the number or the text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import smpp34

from warta.domain.channels import (
    BatchedProviderEvents,
    InboundSms,
    ProviderEvents,
    Receipt,
)
from warta.domain.receipts import parse_receipt
from warta.domain.sms import Concat, PartCollector, decode_short_message, join_parts
from warta.errors import StoreUnavailable

log = logging.getLogger(__name__)

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

# An idle reader checks this often that its session still lives, in case smpp34's
# "disconnected" event could not be queued.
_IDLE_CHECK = 5.0
# deliver_sm read ahead of the batch being handed on (from all binds); receipts among
# them go on together, in one batch. Beyond that, reading waits.
_READ_AHEAD = 100


@dataclass(frozen=True, slots=True)
class _Reply:
    """One part of a citizen's reply, as it waits for the rest."""

    sender: str
    recipient: str
    text: str


class SmscReader:
    """Reads one provider's deliver_sm, from each of its binds, bind after bind, and hands
    them on to ``events``. The parts of a long reply wait ``concat_timeout`` seconds (by
    ``clock``) for the rest, across binds and rebinds. ``aclose`` hands on what was read."""

    def __init__(
        self,
        provider: str,
        events: ProviderEvents,
        *,
        concat_timeout: float,
        clock: Callable[[], float],
    ) -> None:
        self.provider = provider
        self.events = events
        self._clock = clock
        self._replies: PartCollector[_Reply] = PartCollector(concat_timeout)
        self._queue: asyncio.Queue[smpp34.DeliverSmEvent] = asyncio.Queue(maxsize=_READ_AHEAD)
        self._handing_on: asyncio.Task[None] | None = None

    async def read(self, smsc: smpp34.Smsc, client: smpp34.Client) -> None:
        """Queue every deliver_sm until smpp34 says the session ended. Reading on after
        the loss is noticed matters: receipts queued before it are already acknowledged
        to the SMSC, which will not send them again.

        Reading and handing on overlap: while one batch is being handed on (stored), up to
        ``_READ_AHEAD`` more are read, from every bind, and the receipts among them go on
        together, in one call (one transaction) where the events handler offers
        ``receipt_batch``. Beyond that, reading waits, so smpp34's own backpressure still
        applies."""
        if self._handing_on is None or self._handing_on.done():
            self._handing_on = asyncio.create_task(
                self._hand_on(), name=f"smpp-{self.provider}-receipts"
            )
        pending: asyncio.Future[Any] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(smsc.next())
                done, _ = await asyncio.wait({pending}, timeout=_IDLE_CHECK)
                if not done:
                    if not await client.is_alive():
                        break
                    continue
                event, pending = pending.result(), None
                if isinstance(event, smpp34.Disconnected):
                    break
                await self._queue.put(event)
        finally:
            if pending is not None:
                pending.cancel()

    async def aclose(self, timeout: float) -> None:  # noqa: ASYNC109
        """Once no bind reads any more: hand on what was read (waiting up to ``timeout``
        seconds), then stop."""
        task, self._handing_on = self._handing_on, None
        if task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._queue.join()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _hand_on(self) -> None:
        """Take what the readers queued, everything queued at once, in order."""
        queue = self._queue
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
        if isinstance(self.events, BatchedProviderEvents) and len(receipts) > 1:
            try:
                await self.events.receipt_batch(receipts)
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
                await self._once_stored(partial(self.events.receipt, receipt))
            except Exception as exc:
                self._log_not_handed_on(exc)

    async def _once_stored(self, hand_on: Callable[[], Awaitable[object]]) -> None:
        # The SMSC will not send a receipt or reply again: while the store cannot write,
        # wait for it (what comes next waits in the queue) rather than drop it.
        wait = 0.5
        while True:
            try:
                await hand_on()
                return
            except StoreUnavailable:
                log.warning("SMPP provider %s: a deliver_sm waits for the store", self.provider)
                await asyncio.sleep(wait)
                wait = min(wait * 2, 30.0)

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
        reply = InboundSms(self.provider, parts[0].sender, parts[0].recipient, text)
        await self._once_stored(partial(self.events.inbound, reply))


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
