"""A local SMSC: a real SMPP 3.4 server that captures SMS instead of delivering them.

Used by ``make run`` when no SMS provider is configured, and by the tests as the SMPP
peer. The protocol engine is smpp34's ``Server`` (not code of this project); this module
only decides the answers: it takes each ``submit_sm``, joins the parts of a long text by
their UDH, records the whole text in an ``Outbox`` and sends a delivery receipt for every
part. Test controls make it throttle, refuse, hold answers, drop connections or play a
citizen's reply (MO).

smpp34's server listens on a private free port behind a TCP relay on the public one
(``smsc_relay``), so that ``drop_connections``/``stop`` can cut ESMEs off. The receipts
are kept and sent by ``smsc_receipts``. The server accepts any system_id and password.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from typing import Any
from uuid import uuid4

import smpp34

from warta.channels.smsc_receipts import ReceiptForm, Receipts, SubmittedPart
from warta.channels.smsc_relay import Relay, free_port
from warta.domain.sms import PartCollector, decode_short_message, encode_parts, join_parts
from warta.store.outbox import CapturedMessage, Outbox

log = logging.getLogger(__name__)

#: Receipt state per destination number (with or without ``+``), or a function of it.
ReceiptRule = Mapping[str, str] | Callable[[str], str]

_THROTTLED = 0x58
_SYSTEM_ERROR = 0x08
_INVALID_LENGTH = 0x01
_KEEP = 10_000
# Parts of a long text wait this long for the rest, then are forgotten unrecorded.
_PARTS_TIMEOUT = 600.0


class LocalSmsc:
    """An SMSC on ``host`` (port 0: a free one, kept across ``stop``/``start``).

    ``receipt_status`` gives the receipt state per destination (default ``DELIVRD``);
    receipts go ``receipt_delay`` seconds after each part, as receipt text (Appendix B)
    or as the ``receipted_message_id``/``message_state`` TLVs. A receipt finding no
    bound ESME waits for the next bind, as an SMSC queues them. ``receipt_first`` sends
    each receipt before the ``submit_sm_resp`` of its part, as a fast network can make it
    look to the ESME.
    """

    def __init__(
        self,
        outbox: Outbox | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        system_id: str = "WARTA-SMSC",
        receipt_delay: float = 0.0,
        receipt_form: ReceiptForm = "text",
        receipt_status: ReceiptRule | None = None,
        receipt_first: bool = False,
    ) -> None:
        self.outbox = outbox if outbox is not None else Outbox()
        self.host = host
        self.port = port
        self.system_id = system_id
        self.receipt_delay = receipt_delay
        self.receipt_status: ReceiptRule = receipt_status if receipt_status is not None else {}
        self.receipt_first = receipt_first
        #: The newest parts taken, oldest first; ``receipts``: (message id, state) sent.
        #: Bounded like the outbox, so a long ``make run`` does not grow without end.
        self.parts: deque[SubmittedPart] = deque(maxlen=_KEEP)
        self._receipts = Receipts(receipt_form, self._receiver, keep=_KEEP)
        self.binds = 0  # ESME binds accepted, reconnects included
        self._server: smpp34.Server | None = None
        self._relay = Relay()
        self._esmes: dict[str, smpp34.Esme] = {}
        self._dropped: set[str] = set()  # sessions cut off: what they still send is lost
        self._tasks: set[asyncio.Task[None]] = set()  # receipts on their way
        self._serving: asyncio.Task[None] | None = None
        self._texts: PartCollector[SubmittedPart] = PartCollector(_PARTS_TIMEOUT)
        self._throttle = 0
        self._rejects: builtins.list[int] = []
        self._holding = False
        self._held: builtins.list[smpp34.SubmitSmEvent] = []
        self._reference = 0
        self._changed = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> tuple[str, int]:
        if self._relay.running:
            raise RuntimeError("the local SMSC is already running")
        for attempt in range(3):  # the free port may be taken before smpp34 binds it
            inner_port = free_port(self.host)
            server = smpp34.Server(self.host, inner_port, system_id=self.system_id)
            try:
                await server.start()
                break
            except smpp34.SmppError:
                if attempt == 2:
                    raise
        self._server = server
        self._serving = asyncio.create_task(self._serve(server), name="local-smsc")
        self.host, self.port = await self._relay.start(
            self.host, self.port, (self.host, inner_port)
        )
        return self.host, self.port

    async def stop(self) -> None:
        """Close the port and cut every ESME off; ``start()`` comes back on the same port."""
        if not self._relay.running:
            return
        await self._relay.stop()
        tasks = [*self._tasks, *filter(None, [self._serving])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._serving = None
        if self._server is not None:
            await self._server.stop()
            self._server = None
        self._esmes.clear()
        self._held.clear()  # dropped undecided: smpp34 refuses them to a closed socket

    async def __aenter__(self) -> LocalSmsc:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def url(self, name: str = "local", **options: str) -> str:
        """The provider URL a ``SmppChannel`` binds with: ``smpp://warta:local@host:port?...``."""
        query = "&".join(f"{k}={v}" for k, v in {"name": name, **options}.items())
        return f"smpp://warta:local@{self.host}:{self.port}?{query}"

    # -- what it received --------------------------------------------------------------

    @property
    def receipts(self) -> deque[tuple[str, str]]:
        """The newest receipts sent, oldest first: (message id, state)."""
        return self._receipts.sent

    @property
    def messages(self) -> builtins.list[CapturedMessage]:
        """Whole texts taken, oldest first."""
        return builtins.list(reversed(self.outbox.list("sms")))

    @property
    def bound(self) -> int:
        return len(self._esmes)

    @property
    def held(self) -> int:
        return len(self._held)

    async def wait_bound(self, count: int = 1, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await self._wait(lambda: self.bound >= count, timeout, f"{count} bound ESME(s)")

    async def wait_held(self, count: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await self._wait(lambda: self.held >= count, timeout, f"{count} held submit_sm")

    # -- test and dev controls ---------------------------------------------------------

    def throttle(self, count: int) -> None:
        """Answer the next ``count`` submit_sm with ESME_RTHROTTLED."""
        self._throttle += count

    def reject_next(self, count: int, status: int) -> None:
        """Answer the next ``count`` submit_sm (after any throttling) with ``status``."""
        self._rejects.extend([status] * count)

    def hold(self) -> None:
        """Take submit_sm but answer none until ``release`` (or lose them to a drop)."""
        self._holding = True

    def release(self, count: int | None = None) -> None:
        """Answer the oldest ``count`` held submit_sm and keep holding new ones; with no
        count, answer all and stop holding."""
        if count is None:
            self._holding = False
            count = len(self._held)
        answer, self._held = self._held[:count], self._held[count:]
        for event in answer:
            self._answer(event)
        self._notify()

    async def drop_connections(self, count: int | None = None) -> None:
        """Cut every ESME off at once, mid-window (or only the ``count`` oldest
        connections, and keep holding for the others). What was held, or still in
        flight on those connections, is lost unanswered, so the ESME must submit it
        again; what was answered before is kept. (A part answered a moment before the
        cut, its response still on the wire, would be kept and submitted again: real
        SMPP's grey zone. Use ``hold`` first for a test that counts duplicates.)"""
        if count is None:
            self._dropped.update(self._esmes)
            await self._relay.cut()
            held, self._held = self._held, []
            self._holding = False
        else:
            before = set(self._esmes)
            await self._relay.cut(count)
            # The relay cannot tell which sessions it cut; smpp34 says so as they end.
            await self._wait(lambda: len(before - set(self._esmes)) >= count, 5.0, "the cut")
            cut = before - set(self._esmes)
            self._dropped.update(cut)
            held = [e for e in self._held if e.session_id in cut]
            self._held = [e for e in self._held if e.session_id not in cut]
        for event in held:
            event.reject(_SYSTEM_ERROR)  # to a closed socket: nobody reads it

    async def play_inbound(self, sender: str, text: str, recipient: str = "WARTA") -> None:
        """Send a citizen's text (MO) to a bound ESME, in parts with a UDH (and UCS-2)
        when it needs them, as a phone network would. Waits up to 5 s for a bind: an ESME
        may know it is bound a moment before this server has seen it."""
        try:
            await self._wait(lambda: self._receiver() is not None, 5.0, "a bound ESME")
        except TimeoutError:
            raise RuntimeError("no ESME is bound to the local SMSC") from None
        esme = self._receiver()
        if esme is None:
            raise RuntimeError("no ESME is bound to the local SMSC")
        self._reference = (self._reference + 1) % 256
        encoded = encode_parts(text, self._reference)
        source, source_ton, source_npi = _address(sender)
        _, dest_ton, dest_npi = _address(recipient)
        for part in encoded.parts:
            response = await esme.deliver_sm(
                recipient,
                part,
                source_addr=source,
                source_addr_ton=source_ton,
                source_addr_npi=source_npi,
                dest_addr_ton=dest_ton,
                dest_addr_npi=dest_npi,
                esm_class=encoded.esm_class,
                data_coding=encoded.data_coding,
            )
            if not response.is_success:
                raise RuntimeError(f"the ESME refused deliver_sm: 0x{response.command_status:08X}")

    # -- serving -----------------------------------------------------------------------

    async def _serve(self, server: smpp34.Server) -> None:
        while True:
            event = await server.next()
            try:
                if isinstance(event, smpp34.Esme):
                    self._esmes[event.session_id] = event
                    self.binds += 1
                    for part, state in self._receipts.take_unsent():
                        self._spawn(self._receipts.send(part, state))
                elif isinstance(event, smpp34.Unbound):
                    self._esmes.pop(event.session_id, None)
                elif event.session_id in self._dropped:
                    event.reject(_SYSTEM_ERROR)  # read off a cut connection: answer lost
                elif self._holding:
                    self._held.append(event)
                else:
                    self._answer(event)
            except Exception:
                log.exception("local SMSC: could not handle %s", type(event).__name__)
            self._notify()

    def _answer(self, event: smpp34.SubmitSmEvent) -> None:
        if self._throttle:
            self._throttle -= 1
            event.reject(_THROTTLED)
            return
        if self._rejects:
            event.reject(self._rejects.pop(0))
            return
        try:
            text, concat = decode_short_message(
                event.short_message, event.data_coding, event.esm_class
            )
        except ValueError:
            event.reject(_INVALID_LENGTH)
            return
        part = SubmittedPart(
            uuid4().hex,
            event.source_addr,
            event.source_addr_ton,
            event.source_addr_npi,
            event.destination_addr,
            event.dest_addr_ton,
            event.dest_addr_npi,
            event.esm_class,
            event.data_coding,
            event.registered_delivery,
            event.short_message,
            text,
            concat,
        )
        state = self._state_for(part.destination_addr)
        wants_receipt = bool(event.registered_delivery & 0x03)
        if wants_receipt and self.receipt_first:
            self._spawn(self._receipt_then_accept(event, part, state))
            return
        self._accept(event, part, state)
        if wants_receipt:
            self._spawn(self._receipts.send(part, state, self.receipt_delay))

    def _accept(self, event: smpp34.SubmitSmEvent, part: SubmittedPart, state: str) -> None:
        event.accept(part.message_id)
        self.parts.append(part)
        if part.concat is None or part.concat.total <= 1:
            self._record([part], state)
            return
        now = asyncio.get_running_loop().time()
        self._texts.expire(now)
        whole = self._texts.add((part.source_addr, part.destination_addr), part.concat, part, now)
        if whole is not None:
            self._record(whole, state)

    async def _receipt_then_accept(
        self, event: smpp34.SubmitSmEvent, part: SubmittedPart, state: str
    ) -> None:
        await self._receipts.send(part, state)
        self._accept(event, part, state)

    def _record(self, parts: builtins.list[SubmittedPart], state: str) -> None:
        first = parts[0]
        to = first.destination_addr
        if first.dest_addr_ton == 1 and not to.startswith("+"):
            to = f"+{to}"
        self.outbox.add(
            CapturedMessage(
                channel="sms",
                to=to,
                sender=first.source_addr,
                subject=None,
                body=join_parts([p.text for p in parts]),
                html=None,
                notification_id=None,
                reference=tuple(p.message_id for p in parts),
                data_coding=first.data_coding,
                receipt=state,
            )
        )

    def _state_for(self, destination: str) -> str:
        rule = self.receipt_status
        if callable(rule):
            return rule(destination)
        return rule.get(destination) or rule.get(f"+{destination}") or "DELIVRD"

    def _receiver(self) -> smpp34.Esme | None:
        live = [e for e in self._esmes.values() if e.session_id not in self._dropped]
        return next((e for e in live if e.can_receive), None)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(self, ready: Callable[[], bool], seconds: float, what: str) -> None:
        try:
            async with asyncio.timeout(seconds):
                while not ready():
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(f"waited {seconds}s for {what}") from None


def _address(address: str) -> tuple[str, int, int]:
    digits = address.removeprefix("+")
    return (digits, 1, 1) if digits.isdigit() else (address, 5, 0)
