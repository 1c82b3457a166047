"""A lean SMSC sink for the SMS benchmark: take every submit_sm, count it, send its receipt.

Run as its own process so its CPU is not charged to whoever is being measured:

    python bench/smsc_sink.py [--receipt-delay 0]

It prints one line, ``READY <smpp port> <control port>``, once both servers listen on
127.0.0.1. The SMPP side is smpp34's ``Server`` (the library ``SmppChannel`` and the
benchmark's ceiling are clients of), used directly rather than through
``warta.channels.smsc.LocalSmsc``: that one relays every byte through an asyncio TCP proxy,
decodes and joins texts and keeps an in-memory outbox bounded at 1000 entries (and its
parts at 10 000), all of which is development and test comfort a sink does not need, and
whose bounds would make counts wrong for a large N. This one does the least an SMSC must:

* accept each ``submit_sm`` with a fresh message id (a hex counter, never reused while the
  sink lives), noting the arrival time (monotonic clock, which on Linux is shared by every
  process, so the parent can compare it with its own) and the key ``destination_addr`` +
  ``short_message``, so duplicates (a part sent twice) are told from distinct messages;
* set ``TCP_NODELAY`` on each ESME's connection, as an SMSC should (smpp34's server does
  not, and exposes no socket: the sink finds its own in ``/proc/self/fd``), so a small
  PDU it answers goes out at once; it is the same for Warta and the ceiling;
* send a delivery receipt (``deliver_sm``, esm_class 0x04, the SMPP 3.4 Appendix B text
  ``id:... stat:DELIVRD err:000 ...``, as ``LocalSmsc`` sends by default) for every part
  that asked for one (``registered_delivery`` & 3), back on the session that submitted it
  (or, if that one is gone, any bound transceiver or receiver). Warta counts an SMS
  delivered on its receipt, so this is part of the job. A receipt the ESME refuses
  (smpp34 NAKs under inbound backpressure) or that fails on the wire is tried again after
  50 ms, up to 100 times; refusals and give-ups are counted.

The control side is a line protocol on a second TCP port, one JSON object per reply:

    STATS                 -> {"count", "unique", "multipart", "bytes", "first", "last",
                              "receipts", "receipt_retries", "receipts_lost", "binds"}
    WAIT <n> <secs>       -> the same, once ``count >= n`` or after <secs>, plus "nth":
                             the arrival time of the n-th part (null if it never came)
    RECEIPTS <n> <secs>   -> the same, once ``receipts >= n`` (acknowledged by the ESME) or
                             after <secs>, plus "nth_receipt" (its acknowledgement time)
    RESET                 -> zero everything (answers STATS)

``count`` is parts taken (a single-part SMS is one), ``unique`` distinct keys, ``multipart``
parts that carried a UDH. Nothing is bounded: N of 100 000 costs a few MB. Waiting is
event driven: the parent does not poll, so it costs nothing while it waits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import os
import socket
import time
from datetime import UTC, datetime
from typing import Any

import smpp34

from _sink import control_server, free_port, run_loop

_RECEIPT = 0x04  # esm_class of an SMSC delivery receipt
_UDHI = 0x40
_RETRY_DELAY = 0.05
_RETRIES = 100


class Counter:
    """What the sink has seen; shared by the SMPP loop and the control server."""

    def __init__(self, receipt_delay: float) -> None:
        self.receipt_delay = receipt_delay
        self._ids = itertools.count(1)
        self._targets: dict[str, tuple[int, asyncio.Event]] = {}
        self.esmes: dict[str, smpp34.Esme] = {}
        self.binds = 0
        self.port = 0  # the SMPP port, once listening
        self.tasks: set[asyncio.Task[None]] = set()
        self.reset()

    def reset(self) -> None:
        self.times: list[float] = []
        self.receipt_times: list[float] = []
        self.keys: set[bytes] = set()
        self.multipart = 0
        self.bytes = 0
        self.retries = 0
        self.lost = 0

    # -- SMPP ----------------------------------------------------------------------------

    def take(self, event: smpp34.SubmitSmEvent) -> None:
        message_id = f"{next(self._ids):010x}"
        event.accept(message_id)
        self.times.append(time.monotonic())
        payload = event.short_message
        destination = event.destination_addr
        self.keys.add(destination.encode() + b"\0" + payload)
        self.bytes += len(payload)
        if event.esm_class & _UDHI:
            self.multipart += 1
        self._check("parts", len(self.times))
        if event.registered_delivery & 0x03:
            task = asyncio.ensure_future(
                self._receipt(event.session_id, message_id, event, payload)
            )
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _receipt(
        self, session_id: str, message_id: str, event: smpp34.SubmitSmEvent, payload: bytes
    ) -> None:
        if self.receipt_delay > 0:
            await asyncio.sleep(self.receipt_delay)
        stamp = datetime.now(UTC).strftime("%y%m%d%H%M")
        # Real SMSCs echo the first 20 characters of the text (GSM-7 goes unpacked here).
        sample = payload[:20].decode("ascii", "replace") if event.data_coding == 0 else ""
        text = (
            f"id:{message_id} sub:001 dlvrd:001 submit date:{stamp} done date:{stamp} "
            f"stat:DELIVRD err:000 text:{sample}"
        ).encode("ascii", "replace")
        fields: dict[str, Any] = {
            "source_addr": event.destination_addr,
            "source_addr_ton": event.dest_addr_ton,
            "source_addr_npi": event.dest_addr_npi,
            "dest_addr_ton": event.source_addr_ton,
            "dest_addr_npi": event.source_addr_npi,
            "esm_class": _RECEIPT,
        }
        for attempt in range(_RETRIES + 1):
            esme = self._receiver(session_id)
            if esme is not None:
                try:
                    response = await esme.deliver_sm(event.source_addr, text, **fields)
                except smpp34.SmppError:
                    pass
                else:
                    if response.is_success:
                        self.receipt_times.append(time.monotonic())
                        self._check("receipts", len(self.receipt_times))
                        return
            if attempt < _RETRIES:
                self.retries += 1
                await asyncio.sleep(_RETRY_DELAY)
        self.lost += 1

    def _receiver(self, session_id: str) -> smpp34.Esme | None:
        esme = self.esmes.get(session_id)
        if esme is not None and esme.can_receive:
            return esme
        return next((e for e in self.esmes.values() if e.can_receive), None)

    # -- waiting -------------------------------------------------------------------------

    def _check(self, kind: str, have: int) -> None:
        target = self._targets.get(kind)
        if target is not None and have >= target[0]:
            target[1].set()

    async def wait(self, kind: str, n: int, seconds: float) -> float | None:
        """When the n-th part arrived (or receipt was acknowledged), waiting up to ``seconds``."""
        times = self.times if kind == "parts" else self.receipt_times
        if len(times) < n:
            event = asyncio.Event()
            self._targets[kind] = (n, event)
            try:
                async with asyncio.timeout(seconds):
                    await event.wait()
            except TimeoutError:
                pass
            finally:
                self._targets.pop(kind, None)
            times = self.times if kind == "parts" else self.receipt_times
        return times[n - 1] if len(times) >= n else None

    def stats(self) -> dict[str, Any]:
        return {
            "count": len(self.times),
            "unique": len(self.keys),
            "multipart": self.multipart,
            "bytes": self.bytes,
            "first": self.times[0] if self.times else None,
            "last": self.times[-1] if self.times else None,
            "receipts": len(self.receipt_times),
            "receipt_retries": self.retries,
            "receipts_lost": self.lost,
            "binds": self.binds,
        }


def no_delay(port: int) -> None:
    """``TCP_NODELAY`` on every TCP socket of this process on local ``port`` (Linux)."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return  # no /proc: the sockets stay as smpp34 made them
    for fd in fds:
        try:
            sock = socket.socket(fileno=os.dup(fd))  # a duplicate: closing it leaves the fd
        except OSError:
            continue  # not a socket, or closed meanwhile
        with sock, contextlib.suppress(OSError):
            tcp = sock.family in (socket.AF_INET, socket.AF_INET6)
            if tcp and sock.type == socket.SOCK_STREAM and sock.getsockname()[1] == port:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _smpp(counter: Counter, server: smpp34.Server) -> None:
    while True:
        event = await server.next()
        if isinstance(event, smpp34.SubmitSmEvent):
            counter.take(event)
        elif isinstance(event, smpp34.Esme):
            counter.esmes[event.session_id] = event
            counter.binds += 1
            no_delay(counter.port)
        elif isinstance(event, smpp34.Unbound):
            counter.esmes.pop(event.session_id, None)


async def serve(receipt_delay: float) -> None:
    counter = Counter(receipt_delay)
    for attempt in range(5):  # the free port may be taken before smpp34 binds it
        # smpp34 cannot say which port it bound, so ask the OS for one it is not using.
        smpp_port = free_port()
        server = smpp34.Server("127.0.0.1", smpp_port, system_id="BENCH-SMSC")
        try:
            await server.start()
            counter.port = smpp_port
            break
        except smpp34.SmppError:
            if attempt == 4:
                raise
    control = await control_server(
        counter,
        {
            "WAIT": ("nth", functools.partial(counter.wait, "parts")),
            "RECEIPTS": ("nth_receipt", functools.partial(counter.wait, "receipts")),
        },
    )
    control_port = control.sockets[0].getsockname()[1]
    print(f"READY {smpp_port} {control_port}", flush=True)
    async with control:
        await asyncio.gather(_smpp(counter, server), control.serve_forever())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--receipt-delay",
        type=float,
        default=0.0,
        help="Seconds between taking a part and sending its receipt (default 0).",
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        run_loop(serve(args.receipt_delay))  # uvloop when installed, as for `warta serve`


if __name__ == "__main__":
    main()
