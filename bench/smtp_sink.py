"""A lean SMTP sink for the email benchmarks: accept every message, count it, answer how many.

Run as its own process so its CPU is not charged to whoever is being measured:

    python bench/smtp_sink.py [--key-header Message-ID] [--latency SECONDS]

It prints one line, ``READY <smtp port> <control port>``, once both servers listen on
127.0.0.1 (ports chosen by the OS). The SMTP side is a plain aiosmtpd server (no TLS, no
AUTH) whose handler does the least it can per message: note the arrival time (monotonic
clock, which on Linux is shared by every process, so the parent can compare it with its
own), the size, and the value of ``--key-header`` (found with one regex over the header
block only), so duplicates can be told from distinct messages. Nothing is parsed or stored.

The control side is a line protocol on a second TCP port, one JSON object per reply:

    STATS            -> {"count", "unique", "missing_key", "bytes", "first", "last"}
    WAIT <n> <secs>  -> the same, once ``count >= n`` or after <secs>, plus "nth": the
                        arrival time of the n-th message (null if it never came)
    RESET            -> zero everything (answers STATS)

Waiting is event driven: the parent does not poll, so it costs nothing while it waits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import time
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from _sink import control_server, run_loop


class Counter:
    """What the sink has seen; shared by the SMTP handler and the control server."""

    def __init__(self, key_header: str, latency: float = 0.0) -> None:
        self.latency = latency
        self._key = re.compile(
            rb"^" + re.escape(key_header.encode("ascii")) + rb":[ \t]*([^\r\n]*)",
            re.IGNORECASE | re.MULTILINE,
        )
        self._target = 0
        self._reached = asyncio.Event()
        self.reset()

    def reset(self) -> None:
        self.times: list[float] = []
        self.keys: set[bytes] = set()
        self.missing_key = 0
        self.bytes = 0

    # aiosmtpd calls this for every message after the final "." of DATA.
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.latency:  # a real relay's time to take a message, per connection
            await asyncio.sleep(self.latency)
        self.times.append(time.monotonic())
        content = envelope.original_content or b""
        self.bytes += len(content)
        end = content.find(b"\r\n\r\n")
        found = self._key.search(content, 0, end if end >= 0 else len(content))
        if found is None:
            self.missing_key += 1
        else:
            self.keys.add(found.group(1).strip())
        if self._target and len(self.times) >= self._target:
            self._reached.set()
        return "250 OK"

    async def wait(self, n: int, seconds: float) -> float | None:
        """The arrival time of the n-th message, waiting up to ``seconds`` for it."""
        if len(self.times) < n:
            self._target = n
            self._reached.clear()
            try:
                async with asyncio.timeout(seconds):
                    await self._reached.wait()
            except TimeoutError:
                pass
            finally:
                self._target = 0
        return self.times[n - 1] if len(self.times) >= n else None

    def stats(self) -> dict[str, Any]:
        return {
            "count": len(self.times),
            "unique": len(self.keys),
            "missing_key": self.missing_key,
            "bytes": self.bytes,
            "first": self.times[0] if self.times else None,
            "last": self.times[-1] if self.times else None,
        }


async def serve(key_header: str, latency: float = 0.0) -> None:
    loop = asyncio.get_running_loop()
    counter = Counter(key_header, latency)
    smtp = await loop.create_server(
        # A fixed hostname: aiosmtpd would otherwise call socket.getfqdn() per connection.
        lambda: SMTP(counter, hostname="sink.bench", ident="bench sink", loop=loop),
        host="127.0.0.1",
        port=0,
    )
    control = await control_server(counter, {"WAIT": ("nth", counter.wait)})
    smtp_port = smtp.sockets[0].getsockname()[1]
    control_port = control.sockets[0].getsockname()[1]
    print(f"READY {smtp_port} {control_port}", flush=True)
    async with smtp, control:
        await asyncio.gather(smtp.serve_forever(), control.serve_forever())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--key-header",
        default="Message-ID",
        help="Header whose value identifies a message, to count duplicates.",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="Seconds the sink takes to answer each message's DATA (default 0).",
    )
    args = parser.parse_args()
    # aiosmtpd logs every connection and envelope at INFO; that would be most of its work.
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        # uvloop when installed, as for `warta serve`
        run_loop(serve(args.key_header, args.latency))


if __name__ == "__main__":
    main()
